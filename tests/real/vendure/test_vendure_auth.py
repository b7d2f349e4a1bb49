"""Admin API sessions on a real Vendure: login token from the ``vendure-auth-token`` header,
a refused session (Vendure answers HTTP 200 with a FORBIDDEN GraphQL error, not 401) gets one
new login, wrong credentials are a PermanentError without the password; the plugin."""

from __future__ import annotations

import pytest
from vendure_server import VendureServer
from vendure_support import vendure_config

from brygga.adapters import AdapterContext, Role
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.tokens import Token
from brygga.models import Register
from brygga.plugins import PluginHost

pytestmark = pytest.mark.anyio


@pytest.mark.real
async def test_one_login_shared_and_a_refused_session_renewed(vendure: VendureServer) -> None:
    from brygga_vendure.adapter import VendureAdapter

    http = HttpContext()
    first = VendureAdapter(vendure_config(vendure), AdapterContext("c", "a", http=http))
    second = VendureAdapter(vendure_config(vendure), AdapterContext("c", "b", http=http))
    try:
        assert "Shipped" in await first.order_statuses()
        assert "Shipped" in await second.order_statuses()
        assert (first.logins, second.logins) == (1, 0)  # one session for the account

        # the server forgets the session (expiry, restart, logout): a bogus token stands in
        account = first._account
        token = http.tokens.current(account)
        assert token is not None
        http.tokens.invalidate(account, token)

        async def bogus() -> Token:
            return Token.lasting("no-such-session", 3600, issued_at=http.clock.monotonic())

        await http.tokens.get(account, bogus)
        assert await first.sellable("COFFEE-500") >= 0  # needs ReadCatalog: FORBIDDEN at first
        assert first.logins == 2
        current = http.tokens.current(account)
        assert current is not None and current.value != "no-such-session"
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.real
async def test_verify_remote_reads_only(vendure: VendureServer) -> None:
    from brygga.adapters import RemoteNeeds
    from brygga_vendure.adapter import VendureAdapter

    shop = VendureAdapter(vendure_config(vendure), AdapterContext("c", "a"))
    try:
        findings = await shop.verify_remote(RemoteNeeds(shop_statuses=("Shipped", "Packed")))
    finally:
        await shop.aclose()
    assert shop.writes == 0
    assert [(f.check, f.ok) for f in findings] == [("login", True), ("order statuses", False)]
    assert "SEK" in findings[0].detail and "'Packed'" in findings[1].detail


@pytest.mark.real
async def test_wrong_password_is_permanent_and_not_shown(vendure: VendureServer) -> None:
    from brygga_vendure.adapter import VendureAdapter

    shop = VendureAdapter(
        vendure_config(vendure, password="Hemligt-lösen-123"), AdapterContext("c", "a")
    )
    try:
        with pytest.raises(PermanentError) as caught:
            await shop.order_statuses()
    finally:
        await shop.aclose()
    assert "INVALID_CREDENTIALS" in str(caught.value)
    assert "Hemligt-lösen-123" not in str(caught.value)


def test_plugin_registers_kind_vendure() -> None:
    spec = PluginHost().adapters["vendure"]
    assert spec.role is Role.SHOP
    assert spec.registers.reads == frozenset({Register.ORDERS})
    assert spec.registers.writes == frozenset(
        {Register.STATUS, Register.STOCK, Register.PRICES, Register.PRODUCTS}
    )
    assert spec.capabilities.campaign_price is False and spec.capabilities.webhooks is False
