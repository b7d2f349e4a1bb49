"""Vendure refusing the administrator's login is a CredentialsRejected: no order fails.

Vendure's Admin API answers a wrong username or password with HTTP 200 and the login
mutation's ``InvalidCredentialsError`` (``errorCode: INVALID_CREDENTIALS_ERROR``), and a call
without a valid session with a ``FORBIDDEN`` GraphQL error (not 401), the same code as a
permission the administrator's role lacks (docs.vendure.io, Admin API ``login`` and
"Managing Sessions"; seen on Vendure 3.7.3, reference/real-peers.md §B). So a FORBIDDEN first
gets one new login (an ended session is no rejection): when that login is refused, the
credentials are; when it works and FORBIDDEN comes again, a permission lacks, which stays the
refusal of the request. On a rejection the sync engine holds the connection's work
(tests/sync/test_credentials_rejected.py) and a reload with the right password sends each
order once. The message names the shop, the username and where the password comes from,
never the password.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from vendure_server import VendureServer
from vendure_support import vendure_config, vendure_config_raw

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.engine import HOLD_ROW
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.common import message_of
from brygga_vendure.adapter import VendureAdapter
from brygga_vendure.simulator import VendureSimulator

pytestmark = pytest.mark.anyio

ORDERS = 3
BASE = "https://shop.vendure.test"


@asynccontextmanager
async def _adapter(sim: VendureSimulator, **overrides: Any) -> AsyncIterator[VendureAdapter]:
    raw = sim.adapter_config(BASE, name="se") | {"rate_limit": {"requests": 500, "per_seconds": 1}}
    http = HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=_clock())
    adapter = VendureAdapter(vendure_config_raw(raw | overrides), AdapterContext("c", "se", http))
    try:
        yield adapter
    finally:
        await adapter.aclose()


async def test_a_wrong_password_is_credentials_rejected_naming_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = VendureSimulator()
    monkeypatch.setenv("BRYGGA_TEST_VENDURE_PASSWORD", "wrong-password-4e2b")
    async with _adapter(sim, password={"env": "BRYGGA_TEST_VENDURE_PASSWORD"}) as shop:
        with pytest.raises(CredentialsRejected) as caught:
            await shop.order_statuses()
    message = str(caught.value)
    assert message.startswith(
        "Vendure shop se rejected the credentials (INVALID_CREDENTIALS_ERROR from the login "
        "as superadmin)"
    )
    assert "password (env:BRYGGA_TEST_VENDURE_PASSWORD) of shop se in [[connection.shops]]" in (
        message
    )
    assert "reload brygga" in message
    for secret in ("wrong-password-4e2b", sim.password):
        assert secret not in message_of(caught.value)


async def test_an_ended_session_gets_a_new_login_and_no_rejection() -> None:
    sim = VendureSimulator()
    async with _adapter(sim) as shop:
        assert "Shipped" in await shop.order_statuses()
        sim.end_sessions()
        assert "Shipped" in await shop.order_statuses()
    assert (shop.logins, sim.logins) == (2, 2)


async def test_a_password_changed_in_vendure_is_rejected_after_one_new_login() -> None:
    sim = VendureSimulator()
    async with _adapter(sim) as shop:
        assert "Shipped" in await shop.order_statuses()
        old = sim.password
        sim.password = "changed-by-the-administrator"
        sim.end_sessions()
        with pytest.raises(CredentialsRejected) as caught:
            await shop.order_statuses()
    for secret in (old, "changed-by-the-administrator"):
        assert secret not in message_of(caught.value)


async def test_a_permission_the_role_lacks_fails_the_request_not_the_connection() -> None:
    sim = VendureSimulator()
    sim.forbidden.add("globalSettings")
    async with _adapter(sim) as shop:
        with pytest.raises(PermanentError) as caught:
            await shop.order_statuses()
    assert not isinstance(caught.value, CredentialsRejected)
    assert "forbidden; give the administrator superadmin the permissions" in str(caught.value)
    assert shop.logins == 2  # the FORBIDDEN got one new login first
    assert sim.password not in message_of(caught.value)


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


async def test_a_wrong_password_holds_the_orders_and_the_reload_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind="vendure",
        erp_kind="tryton",
        shop_config={
            "base_url": "http://shop.test/admin-api",
            "rate_limit": {"requests": 500, "per_seconds": 1},
        },
        clock=_clock(),
    ) as env:
        for sku, name, price, rate in env.shop.catalog_articles():
            env.erp.add_article(sku, name, price, rate)
        ids = [
            env.shop.place_order(lines=[("WIDGET-1", 1 + n)], email=f"k{n}@example.se")
            for n in range(ORDERS)
        ]
        assert await env.flow("discover").poll_once("se") == ORDERS
        password = env.shop.password
        wrong = "wrong-" + password
        bad = env.deps.open_flow(
            _reloaded(env, password, wrong), run_id="run-wrong", mappings=env.mappings
        )
        env.flows.append(bad)
        sales = len(env.erp.documents())

        item = await bad.claim()
        assert item is not None
        assert await bad.process(item) is ItemState.RETRY
        assert bad.engine.holding() is not None
        assert await bad.engine.drain("orders") == 0  # held: nothing more is claimed

        items = [await env.item(oid) for oid in ids]
        assert [i.state for i in items] == [ItemState.RETRY] + [ItemState.NEW] * (ORDERS - 1)
        assert [i.attempts for i in items] == [0] * ORDERS
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
        assert len(env.erp.documents()) == sales
        rows = [r for r in await env.store.status.all() if r.instance == HOLD_ROW]
        assert [(r.register, r.state) for r in rows] == [("orders", "failing")]
        sentence = rows[0].last_error
        assert items[0].last_error == sentence
        assert "Vendure shop se rejected the credentials (INVALID_CREDENTIALS_ERROR" in sentence
        assert "password (inline) of shop se" in sentence and "none is failed" in sentence
        assert password not in sentence and wrong not in sentence

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert "orders failing" in out and "Vendure shop se rejected the credentials" in out
        assert password not in out and wrong not in out

        fixed = env.flow("run-fixed")  # the reload with the right password
        assert await env.drain(fixed) == [ItemState.DONE] * ORDERS
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [(await env.item(oid)).attempts for oid in ids] == [1] * ORDERS


@pytest.mark.real
async def test_a_wrong_password_is_credentials_rejected_by_a_real_vendure(
    vendure: VendureServer,
) -> None:
    shop = VendureAdapter(
        vendure_config(vendure, password="Hemligt-lösen-123"), AdapterContext("c", "a")
    )
    try:
        with pytest.raises(CredentialsRejected) as caught:
            await shop.order_statuses()
    finally:
        await shop.aclose()
    assert "rejected the credentials (INVALID_CREDENTIALS_ERROR" in str(caught.value)
    assert "Hemligt-lösen-123" not in message_of(caught.value)
