"""A refused token request is a CredentialsRejected that names the shop and the config keys.

Starweb documents wrong client credentials as ``400 {"error": "invalid_client"}`` from
``POST /token``, and only ``client_credentials`` as the grant (reference/shop-apis.md §2.2,
https://www.starweb.se/api-dokumentation [SW1][SW2]); RFC 6749 §5.2 lets a token endpoint
answer a failed client authentication with 401 too. The sync engine holds the connection's
work on a CredentialsRejected instead of failing the record
(tests/sync/test_credentials_rejected.py), so the adapter must raise exactly that class for a
refusal of the credentials, and a plain PermanentError for a token request that is wrong for
another reason. The message never holds a secret: the keys and their sources (``env:NAME``,
``file:PATH``) are named, the values never.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.errors import CredentialsRejected, PermanentError, TransientError
from brygga.testing import Fault
from brygga.testing.conformance.common import message_of
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]

WRONG_SECRET = "wr0ng-Secret-7f3a9c1e5b2d4f60-from-the-env"


class TokenAnswer:
    """In front of the simulator: ``POST /token`` gets ``status`` and ``body``."""

    def __init__(self, app: Any, status: int, body: dict[str, Any]) -> None:
        self.app, self.status, self.body = app, status, json.dumps(body).encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/token"):
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


async def test_a_wrong_secret_is_credentials_rejected_naming_shop_keys_and_sources(
    sim: StarwebSimulator, open_adapter: Open, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_SW_SECRET", WRONG_SECRET)
    id_file = tmp_path / "sw-client-id"
    id_file.write_text(sim.client_id + "\n", encoding="utf-8")
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(
        client_secret={"env": "BRYGGA_TEST_SW_SECRET"}, client_id={"file": str(id_file)}
    ) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.fetch_order(order_id)
        text = message_of(caught.value) + repr(adapter) + str(adapter.config)
    message = str(caught.value)
    assert message.startswith("Starweb shop se rejected the credentials (invalid_client")
    assert "client_secret (env:BRYGGA_TEST_SW_SECRET)" in message
    assert f"client_id (file:{id_file})" in message
    assert "fix" in message and "reload" in message
    for secret in (WRONG_SECRET, sim.client_secret, sim.client_id):
        assert secret not in text


async def test_every_waiting_request_gets_the_credentials_rejection_of_one_token_request(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    """Twenty requests at once share one refused token request (the token cache), and each
    of them sees a CredentialsRejected (so no record of theirs is failed)."""
    ids = [sim.place_order(lines=[("TE-100", 1)], email=f"{n}@example.se") for n in range(20)]
    errors: list[BaseException] = []

    async with open_adapter(client_secret=WRONG_SECRET) as adapter:

        async def one(order_id: str) -> None:
            try:
                await adapter.fetch_order(order_id)
            except PermanentError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for order_id in ids:
                tg.start_soon(one, order_id)
    assert len(errors) == 20 and all(isinstance(e, CredentialsRejected) for e in errors)
    assert sim.requests.count(("POST", "/token")) == 1
    assert not any(WRONG_SECRET in message_of(e) for e in errors)


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (401, {"error": "invalid_client", "error_description": WRONG_SECRET}, "invalid_client"),
        (400, {"error": "invalid_grant"}, "invalid_grant"),
        (401, {}, "HTTP 401 from its token request"),
        (403, {"error": "access_denied", "error_description": "API client disabled"}, "403"),
    ],
)
async def test_refusals_of_the_client_are_credentials_rejected(
    sim: StarwebSimulator, open_adapter: Open, status: int, body: dict[str, Any], shown: str
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(app=TokenAnswer(sim.app, status, body)) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.fetch_order(order_id)
    assert shown in str(caught.value)
    assert WRONG_SECRET not in message_of(caught.value)
    assert sim.client_secret not in message_of(caught.value)


async def test_a_token_request_wrong_for_another_reason_is_not_a_credentials_rejection(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    """``unsupported_grant_type`` is brygga's own mistake, not the operator's secret: a
    PermanentError of the record, as before."""
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    answer = TokenAnswer(sim.app, 400, {"error": "unsupported_grant_type"})
    async with open_adapter(app=answer) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.fetch_order(order_id)
    assert not isinstance(caught.value, CredentialsRejected)
    assert "unsupported_grant_type" in str(caught.value)


async def test_a_token_endpoint_outage_stays_transient(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.faults.add(Fault("status", status=503, path="/token$", times=1))
    async with open_adapter() as adapter:
        with pytest.raises(TransientError):
            await adapter.fetch_order(order_id)
        assert (await adapter.fetch_order(order_id)).shop_order_id == order_id
