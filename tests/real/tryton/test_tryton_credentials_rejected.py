"""Tryton refusing the login is a CredentialsRejected: no order fails.

trytond answers ``common.db.login`` with wrong credentials HTTP 401 (reference/erp-apis.md
§5.1 [doc T1][doc T2], ``dispatcher.login``), and a model call whose session expired or was
dropped 401 too. So a call's 401 first gets one new login (an ended session is no
rejection): when that login is answered 401, the credentials are rejected. Then the sync
engine holds the connection's work (tests/sync/test_credentials_rejected.py) and a reload
with the right password sends each order once. A 403 to a model call (the user lacks access
to the model) stays the refusal of the call. The message names the database, the login and
where the password comes from, never the password.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tryton_support import TrytonServer, customer
from tryton_support import open_adapter as open_real_adapter

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection, dec_hook
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.engine import HOLD_ROW
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.common import message_of
from brygga_tryton.adapter import TrytonAdapter, TrytonConfig
from brygga_tryton.simulator import TrytonSimulator

pytestmark = pytest.mark.anyio

ORDERS = 3
LOGIN = "common.db.login"


class ForbidCalls:
    """In front of the simulator: every model call (not the login) is answered 403."""

    def __init__(self, sim: TrytonSimulator) -> None:
        self.sim = sim

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if LOGIN.encode() in body:

            async def again() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            await self.sim.app(scope, again, send)
            return
        await send({"type": "http.response.start", "status": 403, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def _adapter(app: Any, sim: TrytonSimulator, **overrides: Any) -> AsyncIterator[Any]:
    raw = sim.adapter_config("http://erp.test") | overrides
    config = msgspec.convert(raw, TrytonConfig, dec_hook=dec_hook(Path.cwd()))
    http = HttpContext(transport=httpx.ASGITransport(app=app), clock=FakeClock(datetime.now(UTC)))
    adapter = TrytonAdapter(config, AdapterContext("test", "tryton", http=http))
    try:
        yield adapter
    finally:
        await adapter.aclose()


def _logins(sim: TrytonSimulator) -> int:
    return sum(1 for _, call in sim.requests if call.endswith(LOGIN))


async def test_a_wrong_password_is_credentials_rejected_naming_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = TrytonSimulator()
    monkeypatch.setenv("BRYGGA_TEST_TRYTON_PASSWORD", "wrong-password-9c1f")
    password = {"env": "BRYGGA_TEST_TRYTON_PASSWORD"}
    async with _adapter(sim.app, sim, password=password) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(customer("anna@example.se"), ["email"])
    message = str(caught.value)
    assert message.startswith(
        f"Tryton database {sim.database!r} rejected the credentials (HTTP 401 to the login as "
        f"{sim.login!r})"
    )
    assert "password (env:BRYGGA_TEST_TRYTON_PASSWORD) in [connection.erp]" in message
    assert "reload brygga" in message
    for secret in ("wrong-password-9c1f", sim.password):
        assert secret not in message_of(caught.value)


async def test_an_ended_session_gets_a_new_login_and_no_rejection() -> None:
    sim = TrytonSimulator()
    async with _adapter(sim.app, sim) as adapter:
        assert await adapter.find_customer(customer("anna@example.se"), ["email"]) is None
        sim.end_sessions()
        assert await adapter.find_customer(customer("anna@example.se"), ["email"]) is None
    assert _logins(sim) == 2


async def test_a_password_changed_in_tryton_is_rejected_after_one_new_login() -> None:
    sim = TrytonSimulator()
    async with _adapter(sim.app, sim) as adapter:
        assert await adapter.find_customer(customer("anna@example.se"), ["email"]) is None
        old = sim.password
        sim.set_password("changed-by-the-administrator")
        sim.end_sessions()
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(customer("anna@example.se"), ["email"])
    assert _logins(sim) == 2
    for secret in (old, "changed-by-the-administrator"):
        assert secret not in message_of(caught.value)


async def test_a_403_to_a_model_call_fails_the_call_not_the_connection() -> None:
    sim = TrytonSimulator()
    async with _adapter(ForbidCalls(sim), sim) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.find_customer(customer("anna@example.se"), ["email"])
    assert not isinstance(caught.value, CredentialsRejected)
    assert "HTTP 403" in str(caught.value)


def _reloaded(env: SimulatedConnection, old: str, new: str) -> ResolvedConnection:
    """The connection as a reload of the config with ``old`` replaced by ``new`` loads it."""
    text = env.config_path.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the value to replace is not in the config once"
    path = env.directory / "reload-wrong.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_checked(path, PluginHost()).connections[0]


async def test_a_wrong_password_holds_the_orders_and_the_reload_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(datetime.now(UTC) + timedelta(seconds=5))
    async with SimulatedConnection.open(
        tmp_path, erp_kind="tryton", shop_options={"seed": 3}, clock=clock
    ) as env:
        ids = [
            str(env.shop.place_order(lines=[("KAFFE-500", 1 + n)], email=f"k{n}@example.se"))
            for n in range(ORDERS)
        ]
        assert await env.flow("discover").poll_once("se") == ORDERS
        password = env.erp.password
        wrong = "wrong-" + password
        bad = env.deps.open_flow(
            _reloaded(env, password, wrong), run_id="run-wrong", mappings=env.mappings
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
        assert [call for _, call in env.erp.requests if not call.endswith(LOGIN)] == []
        rows = [r for r in await env.store.status.all() if r.instance == HOLD_ROW]
        assert [(r.register, r.state) for r in rows] == [("orders", "failing")]
        sentence = rows[0].last_error
        assert items[0].last_error == sentence
        assert f"Tryton database {env.erp.database!r} rejected the credentials" in sentence
        assert "password (inline) in [connection.erp]" in sentence
        assert "none is failed" in sentence
        assert password not in sentence and wrong not in sentence

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert "orders failing" in out
        assert f"Tryton database {env.erp.database!r} rejected the credentials" in out
        assert password not in out and wrong not in out

        fixed = env.flow("run-fixed")  # the reload with the right password
        assert await env.drain(fixed) == [ItemState.DONE] * ORDERS
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [(await env.item(oid)).attempts for oid in ids] == [1] * ORDERS


@pytest.mark.real
async def test_a_wrong_password_is_credentials_rejected_by_a_real_trytond(
    tryton_server: TrytonServer,
) -> None:
    async with open_real_adapter(tryton_server, password="Fel-lösenord-123") as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(customer("anna@example.se"), ["email"])
    assert "rejected the credentials (HTTP 401 to the login as" in str(caught.value)
    assert "Fel-lösenord-123" not in message_of(caught.value)
    assert tryton_server.password not in message_of(caught.value)
