"""Specter refusing the keys is a CredentialsRejected: the orders wait, none fails.

Every request carries ``ApiUserKey``, ``IntegrationKey`` and ``SbmId``; a wrong key is HTTP
401 (brygga_specter/wire.py assumption 2: Specter publishes no API description, the v2
credentials are known from integrators, reference/erp-apis.md §3.1 [S4][S5]). A 401 concerns
the connection, not the record: the sync engine holds the connection's work on it
(tests/sync/test_credentials_rejected.py) and a reload with the right keys sends each order
once. A 403 (the API user lacks a right) stays the refusal of that one request. The message
names the SBM ID and the config keys with their sources, never a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.models import DocumentType
from brygga.plugins import PluginHost
from brygga.secrets import Secret
from brygga.store import ItemState
from brygga.sync.engine import HOLD_ROW
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.common import message_of
from brygga_specter.adapter import SpecterAdapter, SpecterConfig
from brygga_specter.simulator import SpecterSimulator

pytestmark = pytest.mark.anyio

ORDERS = 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


class Refuse:
    """In front of the simulator: requests whose path ends with ``path`` get ``status`` with
    a body that echoes the keys the request carried (a hostile answer)."""

    def __init__(self, app: Any, status: int, path: str) -> None:
        self.app, self.status, self.path = app, status, path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith(self.path):
            headers = dict(scope["headers"])
            echoed = b" ".join(headers.get(k, b"") for k in (b"apiuserkey", b"integrationkey"))
            body = b'{"Errors": [{"Code": "Denied", "Message": "' + echoed + b'"}]}'
            start = {"type": "http.response.start", "status": self.status, "headers": []}
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_a_wrong_key_is_credentials_rejected_naming_the_keys(
    monkeypatch: pytest.MonkeyPatch, sim: SpecterSimulator, open_adapter: Any
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_SPECTER_KEY", "wrong-api-user-key-7f3a")
    async with open_adapter(api_user_key={"env": "BRYGGA_TEST_SPECTER_KEY"}) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_document("butiken/se/1001", DocumentType.INVOICE)
    message = str(caught.value)
    assert message.startswith(f"Specter (SBM ID {sim.sbm_id}) rejected the credentials (HTTP 401)")
    assert "api_user_key (env:BRYGGA_TEST_SPECTER_KEY)" in message
    assert "integration_key (inline)" in message and "[connection.erp]" in message
    assert "reload brygga" in message
    for secret in ("wrong-api-user-key-7f3a", sim.api_user_key, sim.integration_key):
        assert secret not in message_of(caught.value)


@asynccontextmanager
async def _adapter(app: Any, sim: SpecterSimulator, api_user_key: str) -> AsyncIterator[Any]:
    config = SpecterConfig(
        base_url="https://specter.test",
        sbm_id=sim.sbm_id,
        api_user_key=Secret(api_user_key),
        integration_key=Secret(sim.integration_key),
    )
    http = HttpContext(transport=httpx.ASGITransport(app=app), clock=_clock())
    adapter = SpecterAdapter(config, AdapterContext("test", "specter", http=http))
    try:
        yield adapter
    finally:
        await adapter.aclose()


async def test_keys_renewed_in_specter_are_rejected_and_a_401_echo_shows_none(
    sim: SpecterSimulator,
) -> None:
    old = sim.api_user_key
    sim.set_keys(api_user_key="renewed-by-the-administrator")
    async with _adapter(sim.app, sim, old) as adapter:
        with pytest.raises(CredentialsRejected):
            await adapter.find_document("butiken/se/1001", DocumentType.INVOICE)
    async with _adapter(Refuse(sim.app, 401, "/invoices"), sim, old) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_document("butiken/se/1001", DocumentType.INVOICE)
        shown = message_of(caught.value) + repr(adapter)
    for secret in (old, sim.integration_key, "renewed-by-the-administrator"):
        assert secret not in shown
    async with _adapter(sim.app, sim, "renewed-by-the-administrator") as adapter:
        assert await adapter.find_document("butiken/se/1001", DocumentType.INVOICE) is None


async def test_a_403_is_a_refusal_of_the_request_not_of_the_keys(sim: SpecterSimulator) -> None:
    async with _adapter(Refuse(sim.app, 403, "/invoices"), sim, sim.api_user_key) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.find_document("butiken/se/1001", DocumentType.INVOICE)
    assert not isinstance(caught.value, CredentialsRejected)
    assert "HTTP 403" in str(caught.value)
    assert sim.api_user_key not in message_of(caught.value)


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


async def test_a_wrong_key_holds_the_orders_and_the_reload_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SimulatedConnection.open(
        tmp_path, erp_kind="specter", shop_options={"seed": 3}, clock=_clock()
    ) as env:
        ids = [
            env.shop.place_order(lines=[("KAFFE-500", 1 + n)], email=f"kund{n}@example.se")
            for n in range(ORDERS)
        ]
        assert await env.flow("discover").poll_once("se") == ORDERS
        key = env.erp.api_user_key
        wrong = "wrong-" + key
        bad = env.deps.open_flow(
            _reloaded(env, key, wrong), run_id="run-wrong", mappings=env.mappings
        )
        env.flows.append(bad)
        posts = sum(1 for method, _ in env.erp.requests if method == "POST")

        item = await bad.claim()
        assert item is not None
        assert await bad.process(item) is ItemState.RETRY
        assert bad.engine.holding() is not None
        assert await bad.engine.drain("orders") == 0  # held: nothing more is claimed

        items = [await env.item(str(oid)) for oid in ids]
        assert [i.state for i in items] == [ItemState.RETRY] + [ItemState.NEW] * (ORDERS - 1)
        assert [i.attempts for i in items] == [0] * ORDERS
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
        assert sum(1 for method, _ in env.erp.requests if method == "POST") == posts
        rows = [r for r in await env.store.status.all() if r.instance == HOLD_ROW]
        assert [(r.register, r.state) for r in rows] == [("orders", "failing")]
        sentence = rows[0].last_error
        assert items[0].last_error == sentence
        assert f"Specter (SBM ID {env.erp.sbm_id}) rejected the credentials" in sentence
        assert "api_user_key (inline)" in sentence and "none is failed" in sentence
        assert key not in sentence and wrong not in sentence

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert (
            "orders failing" in out
            and f"Specter (SBM ID {env.erp.sbm_id}) rejected the credentials" in out
        )
        assert key not in out and wrong not in out

        fixed = env.flow("run-fixed")  # the reload with the right key
        assert await env.drain(fixed) == [ItemState.DONE] * ORDERS
        assert [env.copies(str(oid)) for oid in ids] == [1] * ORDERS
        assert [(await env.item(str(oid))).attempts for oid in ids] == [1] * ORDERS
