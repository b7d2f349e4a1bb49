"""The Vendure adapter against its simulator (in-process, both backends), and the simulator's
own API behaviour, each as Vendure documents it:

- docs.vendure.io "Managing Sessions" / Admin API ``login``: the token comes in the
  ``vendure-auth-token`` header and goes back as a bearer token; a request without a valid
  session is answered FORBIDDEN (HTTP 200 with a GraphQL error).
- docs.vendure.io "Order Workflow": an order ships only once its payments are settled;
  fulfilments move the order to Shipped/Delivered.
- docs.vendure.io "Stock Control": sellable = stockOnHand - stockAllocated - threshold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from brygga.adapters import AdapterContext
from brygga.errors import TransientError
from brygga.http.client import HttpContext
from brygga_vendure.simulator import VendureSimulator

pytestmark = pytest.mark.anyio

BASE = "https://shop.vendure.test"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _adapter(sim: VendureSimulator, app: Any = None, http: HttpContext | None = None) -> Any:
    from vendure_support import vendure_config_raw

    from brygga_vendure.adapter import VendureAdapter

    http = http or HttpContext(transport=httpx.ASGITransport(app=app or sim.app))
    return VendureAdapter(
        vendure_config_raw(
            {
                **sim.adapter_config(BASE, name="sim"),
                "rate_limit": {"requests": 500, "per_seconds": 1},
            }
        ),
        AdapterContext("c", "sim", http),
    )


@pytest.fixture
def sim() -> VendureSimulator:
    return VendureSimulator()


@pytest.fixture
async def shop(sim: VendureSimulator) -> AsyncIterator[Any]:
    adapter = _adapter(sim)
    try:
        yield adapter
    finally:
        await adapter.aclose()


async def _post(sim: VendureSimulator, query: str, token: str = "", **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE) as c:
        return await c.post(
            "/admin-api", json={"query": query, "variables": variables}, headers=headers
        )


async def test_sim_login_header_and_forbidden_without_session(sim: VendureSimulator) -> None:
    login = (
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) {"
        " __typename ... on ErrorResult { errorCode } } }"
    )
    refused = await _post(sim, login, u="superadmin", p="wrong")
    assert refused.json()["data"]["login"] == {
        "__typename": "InvalidCredentialsError",
        "errorCode": "INVALID_CREDENTIALS_ERROR",
    }
    assert "vendure-auth-token" not in refused.headers
    answer = await _post(sim, login, u=sim.username, p=sim.password)
    token = answer.headers["vendure-auth-token"]
    assert answer.json()["data"]["login"] == {"__typename": "CurrentUser"}
    anonymous = await _post(sim, "{ activeChannel { code } }")
    assert anonymous.status_code == 200
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    ok = await _post(sim, "{ activeChannel { code defaultCurrencyCode } }", token)
    assert ok.json() == {
        "data": {"activeChannel": {"code": "__default_channel__", "defaultCurrencyCode": "SEK"}}
    }


async def test_sim_ships_only_settled_orders(sim: VendureSimulator) -> None:
    order_id = sim.place_order(lines=[("WIDGET-1", 1)], email="a@b.se", status="PaymentAuthorized")
    login = await _post(
        sim,
        'mutation { login(username: "superadmin", password: "sim-superadmin-secret")'
        " { __typename } }",
    )
    token = login.headers["vendure-auth-token"]
    answer = await _post(
        sim,
        'mutation($id: ID!) { transitionOrderToState(id: $id, state: "Shipped") {'
        " __typename ... on OrderStateTransitionError { transitionError } } }",
        token,
        id=order_id,
    )
    result = answer.json()["data"]["transitionOrderToState"]
    assert result["__typename"] == "OrderStateTransitionError"
    assert sim.orders[int(order_id)].state == "PaymentAuthorized"


async def test_a_lost_session_gets_one_new_login(sim: VendureSimulator, shop: Any) -> None:
    order_id = sim.place_order(lines=[("WIDGET-1", 1)], email="a@b.se")
    await shop.fetch_order(order_id)
    assert sim.logins == 1
    sim.end_sessions()  # a server restart: every session gone
    order = await shop.fetch_order(order_id)
    assert order.shop_order_id == order_id and sim.logins == 2


async def test_an_answer_lost_after_the_fulfilment_landed(sim: VendureSimulator) -> None:
    """The fulfilment lands but its answer is lost (in doubt); the repeat finds it by the read
    that precedes every status write and moves it on instead of creating another."""
    lost = {"count": 0}

    async def lose_fulfilment_answers(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        if b"addFulfillmentToOrder" in body and lost["count"] == 0:
            lost["count"] += 1

            async def swallow(message: Any) -> None:
                return None

            await sim.app(scope, replay, swallow)
            raise httpx.ReadTimeout("the answer was lost")
        await sim.app(scope, replay, send)

    order_id = sim.place_order(lines=[("WIDGET-1", 2)], email="a@b.se")
    shop = _adapter(sim, app=lose_fulfilment_answers)
    try:
        with pytest.raises(TransientError) as caught:
            await shop.set_status(order_id, "Shipped", email=False, capture=False)
        assert caught.value.in_doubt
        assert len(sim.orders[int(order_id)].fulfilments) == 1
        assert await shop.set_status(order_id, "Shipped", email=False, capture=False) is True
    finally:
        await shop.aclose()
    order = sim.orders[int(order_id)]
    assert order.state == "Shipped"
    assert [f.state for f in order.fulfilments] == ["Shipped"]
    assert sim.mutations.count("addFulfillmentToOrder") == 1


async def test_stock_and_price_on_the_simulator(sim: VendureSimulator, shop: Any) -> None:
    sim.place_order(lines=[("COFFEE-500", 4)], email="a@b.se")
    assert await shop.put_stock("COFFEE-500", Decimal(10)) == "updated"
    variant = next(v for v in sim.variants.values() if v.sku == "COFFEE-500")
    assert (variant.stock_on_hand, variant.stock_allocated) == (14, 4)
    assert await shop.put_stock("COFFEE-500", Decimal(10)) == "unchanged"
    assert await shop.put_price("COFFEE-500", "SEK", Decimal("79.90"), None) == "updated"
    assert variant.price == 7990
    mutations = len(sim.mutations)
    assert await shop.put_price("COFFEE-500", "SEK", Decimal("79.90"), None) == "unchanged"
    assert len(sim.mutations) == mutations


async def test_feed_reads_again_when_an_order_leaves_the_window_mid_walk() -> None:
    """Offset pages shift when an order before the current page changes and leaves the
    window; the overlap row shows it and the walk starts again, so no order is skipped."""
    from datetime import UTC, datetime, timedelta

    import msgspec

    from brygga.clock import FakeClock

    clock = FakeClock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    sim = VendureSimulator(clock=clock)
    placed = []
    for _ in range(7):
        placed.append(sim.place_order(lines=[("WIDGET-1", 1)], email="a@b.se"))
        clock.advance(1)
    since, until = clock.now() - timedelta(seconds=60), clock.now()
    pages = {"count": 0}

    async def move_an_order_after_the_first_page(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await sim.app(scope, replay, send)
        if b"orders(" in body:
            pages["count"] += 1
            if pages["count"] == 1:  # a person ships order 1 now: it leaves the window
                clock.advance(600)
                sim.set_status(placed[0], "Shipped")

    shop = _adapter(sim, app=move_an_order_after_the_first_page)
    try:
        from brygga_vendure.adapter import VendureAdapter

        assert isinstance(shop, VendureAdapter)
        shop.config = msgspec.structs.replace(shop.config, page_size=3)
        changes = [c async for c in shop.changed_orders(since, until)]
    finally:
        await shop.aclose()
    ids = [c.shop_order_id for c in changes]
    assert set(placed[1:]) <= set(ids) and len(ids) == len(set(ids))
    assert pages["count"] > 3  # the walk started again


async def test_articles_on_the_simulator(sim: VendureSimulator, shop: Any) -> None:
    """A new SKU becomes a product with one variant (tax category by rate); a variant of a
    product that has variants already is refused (Vendure needs product options for it)."""
    from datetime import UTC, datetime

    from brygga.catalog import Article
    from brygga.errors import PermanentError

    when = datetime(2026, 12, 1, tzinfo=UTC)
    shirt = Article(
        sku="SHIRT-S",
        name="Shirt",
        product_sku="SHIRT",
        variant_name="S",
        currency="SEK",
        price=Decimal("199"),
        vat_rate=Decimal(25),
        modified_at=when,
    )
    assert await shop.put_article(shirt, create=True, update=True) == "created"
    created = next(v for v in sim.variants.values() if v.sku == "SHIRT-S")
    assert (created.name, created.price, created.tax_rate) == ("Shirt S", 19900, Decimal(25))
    assert sim.products[created.product_id]["slug"] == "shirt"
    assert await shop.put_article(shirt, create=True, update=True) == "unchanged"
    medium = Article(
        sku="SHIRT-M",
        name="Shirt",
        product_sku="SHIRT",
        variant_name="M",
        currency="SEK",
        price=Decimal("199"),
        vat_rate=Decimal(25),
        modified_at=when,
    )
    mutations = len(sim.mutations)
    with pytest.raises(PermanentError, match="product options"):
        await shop.put_article(medium, create=True, update=True)
    assert len(sim.mutations) == mutations
    renamed = Article(
        sku="SHIRT-S",
        name="Shirt",
        product_sku="SHIRT",
        variant_name="Small",
        currency="SEK",
        price=Decimal("179"),
        vat_rate=Decimal(25),
        active=False,
        modified_at=when,
    )
    assert await shop.put_article(renamed, create=True, update=True) == "updated"
    assert (created.name, created.price, created.enabled) == ("Shirt Small", 17900, False)


async def test_a_flat_name_and_a_parent_item_on_the_simulator(
    sim: VendureSimulator, shop: Any
) -> None:
    """A name that already carries its variant (from an ERP without variants: "Troja S") is
    not given the variant twice, and a product's own record (an ERP parent item,
    ``has_variants``) is no variant to sell: skipped without a request."""
    from datetime import UTC, datetime

    from brygga.catalog import Article
    from brygga.errors import NothingToDo

    when = datetime(2026, 12, 1, tzinfo=UTC)
    flat = Article(
        sku="TROJA-S",
        name="Troja S",
        product_sku="TROJA",
        variant_name="S",
        currency="SEK",
        price=Decimal("299"),
        vat_rate=Decimal(25),
        modified_at=when,
    )
    assert await shop.put_article(flat, create=True, update=True) == "created"
    created = next(v for v in sim.variants.values() if v.sku == "TROJA-S")
    assert created.name == "Troja S"
    parent = Article(
        sku="TROJA",
        name="Troja",
        currency="SEK",
        vat_rate=Decimal(25),
        has_variants=True,
        modified_at=when,
    )
    mutations = len(sim.mutations)
    with pytest.raises(NothingToDo, match="TROJA is a product with variants"):
        await shop.put_article(parent, create=True, update=True)
    assert len(sim.mutations) == mutations
    assert not any(v.sku == "TROJA" for v in sim.variants.values())
