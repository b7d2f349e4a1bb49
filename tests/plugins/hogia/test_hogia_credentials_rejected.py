"""Hogia rejecting the API client's credentials is a CredentialsRejected: no order fails.

Hogia's REST API takes OAuth2 client-credentials tokens from ``token_url`` (client id and
secret, reference/erp-apis.md §4.2 [H3][H5]); a wrong client is refused as OAuth2 does
(RFC 6749 §5.2 ``invalid_client``), and the API answers 401 to a token it does not take
(brygga_hogia/wire.py assumption 10). A 401 first gets one new token (an expired or revoked
token is no rejection); only a 401 to the new token too, or the token endpoint's refusal,
concerns the credentials. Then the sync engine holds the connection's work
(tests/sync/test_credentials_rejected.py) and a reload with the right secret sends each order
once. A 403 (a right the API client lacks) stays the refusal of the request. The message
names the organisation and the config keys with their sources, never a secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection, dec_hook
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.models import Address, Customer
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.engine import HOLD_ROW
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.common import message_of
from brygga_hogia.adapter import HogiaAdapter, HogiaConfig
from brygga_hogia.simulator import HogiaSimulator

pytestmark = pytest.mark.anyio

ORDERS = 3
AdapterFactory = Callable[..., Any]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


def _customer() -> Customer:
    billing = Address(name="Anna Andersson", city="Lund", country_code="SE")
    return Customer(email="anna@example.se", name="Anna Andersson", billing=billing)


class Refuse:
    """In front of the simulator: API requests under ``/{organisation}/`` get ``status`` with
    a body that echoes the bearer token they carried; the token endpoint is let through."""

    def __init__(self, sim: HogiaSimulator, status: int) -> None:
        self.sim, self.status = sim, status
        self.refused = 0

    @asynccontextmanager
    async def adapter(self, clock: FakeClock) -> AsyncIterator[HogiaAdapter]:
        """An adapter whose requests reach the simulator through this refusal."""
        http = HttpContext(transport=httpx.ASGITransport(app=self), clock=clock)
        raw = self.sim.adapter_config("https://hogia.test")
        config = msgspec.convert(raw, HogiaConfig, dec_hook=dec_hook(Path.cwd()))
        adapter = HogiaAdapter(config, AdapterContext("test", "hogia", http=http))
        try:
            yield adapter
        finally:
            await adapter.aclose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"/{self.sim.organization}/"):
            self.refused += 1
            bearer = dict(scope["headers"]).get(b"authorization", b"")
            body = b'[{"errorCode": "Denied", "message": "' + bearer + b'"}]'
            await send({"type": "http.response.start", "status": self.status, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await self.sim.app(scope, receive, send)


def _token_requests(sim: HogiaSimulator) -> int:
    return sum(1 for request in sim.requests if request == ("POST", "/connect/token"))


async def test_a_wrong_secret_is_credentials_rejected_naming_the_keys(
    monkeypatch: pytest.MonkeyPatch, sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_HOGIA_SECRET", "wrong-client-secret-5d1e")
    async with open_adapter(client_secret={"env": "BRYGGA_TEST_HOGIA_SECRET"}) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(_customer(), ["email"])
    message = str(caught.value)
    assert message.startswith(
        f"Hogia organisation {sim.organization} rejected the credentials (invalid_client, "
        "HTTP 400 from its token endpoint)"
    )
    assert "client_secret (env:BRYGGA_TEST_HOGIA_SECRET)" in message
    assert "client_id (inline)" in message and "[connection.erp]" in message
    assert "reload brygga" in message
    for secret in ("wrong-client-secret-5d1e", sim.client_secret):
        assert secret not in message_of(caught.value)


async def test_a_revoked_token_gets_a_new_one_and_no_rejection(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        assert await adapter.find_customer(_customer(), ["email"]) is None
        sim.revoke_tokens()  # the 401 a new token fixes
        assert await adapter.find_customer(_customer(), ["email"]) is None
    assert _token_requests(sim) == 2


async def test_a_secret_renewed_in_hogia_is_rejected_after_one_new_token(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        assert await adapter.find_customer(_customer(), ["email"]) is None
        old = sim.client_secret
        sim.set_client_secret("renewed-by-the-administrator")
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(_customer(), ["email"])
    assert "invalid_client" in str(caught.value)
    for secret in (old, "renewed-by-the-administrator"):
        assert secret not in message_of(caught.value)


async def test_a_401_to_the_new_token_too_is_credentials_rejected(
    sim: HogiaSimulator, clock: FakeClock
) -> None:
    refuse = Refuse(sim, 401)
    async with refuse.adapter(clock) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(_customer(), ["email"])
        shown = message_of(caught.value) + repr(adapter)
    assert refuse.refused == 2 and _token_requests(sim) == 2  # one new token, one retry
    assert "HTTP 401 to a new access token" in str(caught.value)
    assert "sim-hogia-token" not in shown and sim.client_secret not in shown


async def test_a_403_is_a_refusal_of_the_request_not_of_the_credentials(
    sim: HogiaSimulator, clock: FakeClock
) -> None:
    async with Refuse(sim, 403).adapter(clock) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.find_customer(_customer(), ["email"])
    assert not isinstance(caught.value, CredentialsRejected)
    assert "HTTP 403" in str(caught.value)
    assert "sim-hogia-token" not in message_of(caught.value)


def _clock() -> FakeClock:
    """The connection's clock: rate-limit waits move it instead of sleeping."""
    return FakeClock(datetime.now(UTC) + timedelta(seconds=5))


def _reloaded(env: SimulatedConnection, old: str, new: str) -> ResolvedConnection:
    """The connection as a reload of the config with ``old`` replaced by ``new`` loads it."""
    text = env.config_path.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the value to replace is not in the config once"
    path = env.directory / "reload-wrong.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_checked(path, PluginHost()).connections[0]


async def test_a_wrong_secret_holds_the_orders_and_the_reload_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind="hogia",
        shop_options={"seed": 3},
        erp_options={"lag": 0.0},
        clock=_clock(),
    ) as env:
        ids = [
            str(env.shop.place_order(lines=[("KAFFE-500", 1 + n)], email=f"k{n}@example.se"))
            for n in range(ORDERS)
        ]
        assert await env.flow("discover").poll_once("se") == ORDERS
        secret = env.erp.client_secret
        wrong = "wrong-" + secret
        bad = env.deps.open_flow(
            _reloaded(env, secret, wrong), run_id="run-wrong", mappings=env.mappings
        )
        env.flows.append(bad)

        item = await bad.claim()
        assert item is not None
        assert await bad.process(item) is ItemState.RETRY
        assert bad.engine.holding() is not None
        assert await bad.engine.drain("orders") == 0  # held: nothing more is claimed

        items = [await env.item(oid) for oid in ids]
        assert [i.state for i in items] == [ItemState.RETRY] + [ItemState.NEW] * (ORDERS - 1)
        assert [i.attempts for i in items] == [0] * ORDERS
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
        assert [p for m, p in env.erp.requests if m == "POST"] == ["/connect/token"]
        rows = [r for r in await env.store.status.all() if r.instance == HOLD_ROW]
        assert [(r.register, r.state) for r in rows] == [("orders", "failing")]
        sentence = rows[0].last_error
        assert items[0].last_error == sentence
        assert f"Hogia organisation {env.erp.organization} rejected the credentials" in sentence
        assert "client_secret (inline)" in sentence and "none is failed" in sentence
        assert secret not in sentence and wrong not in sentence

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert (
            "orders failing" in out
            and f"Hogia organisation {env.erp.organization} rejected the credentials" in out
        )
        assert secret not in out and wrong not in out

        fixed = env.flow("run-fixed")  # the reload with the right secret
        assert await env.drain(fixed) == [ItemState.DONE] * ORDERS
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [(await env.item(oid)).attempts for oid in ids] == [1] * ORDERS
