"""What a Starweb price write costs: one request per SKU once the shop's SKUs are known, as
stock (test_catalog_starweb_stock_requests.py), through the same SKU index.

Spec (reference/shop-apis.md §2.8 "Prices" and §2.9 "Price"; the OpenAPI spec 2.11.0 in
starweb/shop-api-sdk-php, resources/specification/openapi.json): a variant's price per price
list is ``ProductVariantPriceModel {pricelistId, priceExVat, specialPriceExVat}``, written with
``PUT|PATCH /products/{pid}/variants/{vid}/prices/{pricelistId}`` and created with ``POST
…/prices``; there is no write by SKU, so the variant's ids must be known. §2.3: the product
list's ``include`` takes ``primaryVariant.prices`` and list calls return only the primary
variant (``GET /products/{id}/variants``, ``include=prices``, for the others); §2.5:
``updatedSince`` on ``GET /products``, and whether ``filterSku`` matches non-primary variants
is not documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article, ListPrice
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.testing.simulators import Fault
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog import INDEX_FRESH
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
ID = re.compile(r"/\d+")
SKUS = [f"PRIS-{n:03d}" for n in range(40)]
PRICE_WRITE = re.compile(r"^(PUT|PATCH|POST) /products/\d+/variants/\d+/prices(/\d+)?$")
#: the simulator's customer price list (Återförsäljare)
RESELLERS = 2


class QueryLog:
    """The simulator's app with each request's method, path and query string noted (the
    simulator's own log has no query)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"].removeprefix("/api/v2")
            self.requests.append((scope["method"], path, scope["query_string"].decode()))
        await self.app(scope, receive, send)

    def since(self, n: int) -> dict[str, int]:
        """Requests from the ``n``-th on by method and path (ids folded), a product-list read
        marked with the parameter that selects it (``filterSku``, ``updatedSince``)."""
        counts: dict[str, int] = {}
        for method, path, query in self.requests[n:]:
            key = f"{method} {ID.sub('/{n}', path)}"
            for param in ("filterSku", "updatedSince"):
                if f"{param}=" in query:
                    key += f"?{param}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def refreshes(self, n: int) -> int:
        """Reads of the products changed since (``updatedSince``) begun from the ``n``-th
        request on (each begins at page 1)."""
        return sum(
            1
            for m, p, q in self.requests[n:]
            if m == "GET" and p == "/products" and "updatedSince=" in q and "page=1" in q.split("&")
        )


@pytest.fixture
def log(sim: StarwebSimulator) -> QueryLog:
    return QueryLog(sim.app)


@pytest.fixture
def logged(open_adapter: Open, log: QueryLog) -> Open:
    """``open_adapter`` through the query log."""

    def opened(**overrides: Any) -> AbstractAsyncContextManager[StarwebAdapter]:
        return open_adapter(app=log, **overrides)

    return opened


def priced(sim: StarwebSimulator) -> None:
    """The shop sells ``SKUS`` (one product each) at 10 SEK in the master price list."""
    for sku in SKUS:
        sim.add_product(sku, f"Artikel {sku}", price=Decimal(10), stock=Decimal(1))


def list_pages(sim: StarwebSimulator) -> int:
    return -(-len(sim.catalog.products) // sim.knobs.page_size)  # page_size 5 here


def reseller(sku: str, price: str) -> ListPrice:
    return ListPrice(sku=sku, price_list="ÅF", currency="SEK", price=Decimal(price))


def price_writes(log: QueryLog, n: int) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in log.requests[n:] if PRICE_WRITE.match(f"{m} {p}")]


async def test_each_sku_s_price_costs_one_write_once_the_shop_is_read(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:  # the first push after a start: the index is learnt on the way
            assert await adapter.put_price(sku, "SEK", Decimal("12.50"), None) == "updated"
        first = log.since(0)
        before = len(log.requests)
        for n, sku in enumerate(SKUS):
            assert await adapter.put_price(sku, "SEK", Decimal(20 + n), Decimal(15)) == "updated"
        second = log.since(before)
    # §2.9: one PUT …/prices/{pricelistId} per SKU; no lookup, no read of the price first
    assert second == {"PUT /products/{n}/variants/{n}/prices/{n}": len(SKUS)}
    assert [sim.price(sku) for sku in SKUS] == [
        (Decimal(20 + n), Decimal(15)) for n in range(len(SKUS))
    ]
    # the first push: one write per SKU plus the index's pages, not a lookup per SKU (was
    # one filterSku per SKU): the list's size, lookups until they cost as much as the list,
    # then the list once
    pages = list_pages(sim)
    assert first["PUT /products/{n}/variants/{n}/prices/{n}"] == len(SKUS)
    assert first["GET /products?filterSku"] == pages
    assert first["GET /products"] == 1 + pages
    assert not any(k.startswith("GET /products/{n}/variants/{n}") for k in first), first
    assert sum(first.values()) <= len(SKUS) + 2 * pages + 4, first  # + token, price lists …


async def test_list_prices_cost_one_write_each_post_then_patch(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    """§2.9: a price in a list the variant has none in is created with ``POST …/prices``;
    the index read the variants' prices, so it knows which without asking per SKU."""
    priced(sim)
    async with logged() as adapter:
        await adapter.put_stock(SKUS[0], Decimal(1))  # reads the shop's size
        for sku in SKUS:
            await adapter.put_stock(sku, Decimal(2))  # the index is read by now
        before = len(log.requests)
        for sku in SKUS:
            assert await adapter.put_list_price(str(RESELLERS), reseller(sku, "8")) == "updated"
        created = log.since(before)
        before = len(log.requests)
        for sku in SKUS:
            assert await adapter.put_list_price("Återförsäljare", reseller(sku, "7.5")) == (
                "updated"
            )
        changed = log.since(before)
        before = len(log.requests)
        for sku in SKUS:
            assert await adapter.put_list_price("2", reseller(sku, "7.50")) == "unchanged"
        again = log.since(before)
    assert created == {"POST /products/{n}/variants/{n}/prices": len(SKUS)} | (
        {"GET /pricelists": 1}
    )
    assert changed == {"PATCH /products/{n}/variants/{n}/prices/{n}": len(SKUS)}
    assert again == {}
    assert [sim.price(sku, pricelist_id=RESELLERS) for sku in SKUS] == [(Decimal("7.5"), None)] * 40
    assert [sim.price(sku) for sku in SKUS] == [(Decimal(10), None)] * 40  # master untouched


async def test_a_variant_s_price_goes_to_its_variant_without_a_lookup(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    """TROJA-M is the middle variant of product TROJA (not its primary); filterSku matching
    only primary variants is allowed by the spec (§2.5), so the index found it through
    ``GET /products/{id}/variants``."""
    sim.knobs.filter_sku_matches_variants = False
    priced(sim)
    product = sim.catalog_product("TROJA-M").product_id
    variant = sim.variant("TROJA-M").variant_id
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)  # the index is read by now
        before = len(log.requests)
        assert await adapter.put_price("TROJA-M", "SEK", Decimal(249), Decimal(199)) == "updated"
        assert await adapter.put_list_price("2", reseller("TROJA-M", "200")) == "updated"
        writes = price_writes(log, before)
        assert len(log.requests) - before == 2  # the two writes, nothing read
    path = f"/products/{product}/variants/{variant}/prices"
    assert writes == [("PUT", f"{path}/1"), ("POST", path)]
    assert [sim.price(s) for s in ("TROJA-S", "TROJA-M", "TROJA-L")] == [
        (Decimal(299), None),
        (Decimal(249), Decimal(199)),
        (Decimal(299), None),
    ]
    assert sim.price("TROJA-M", pricelist_id=RESELLERS) == (Decimal(200), None)
    assert sim.price("TROJA-S", pricelist_id=RESELLERS) is None


async def test_an_unknown_sku_is_refused_after_one_refresh_of_the_index(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)  # the index is read by now
        before = len(log.requests)
        with pytest.raises(PermanentError) as refused:
            await adapter.put_price("FINNS-EJ", "SEK", Decimal(1), None)
        assert log.refreshes(before) == 1
        assert price_writes(log, before) == []
        before = len(log.requests)
        with pytest.raises(PermanentError) as refused_list:
            await adapter.put_list_price("2", reseller("FINNS-EJ", "1"))
        assert log.refreshes(before) == 1
        assert price_writes(log, before) == []
    message = str(refused.value)
    assert message.startswith("SKU FINNS-EJ: Starweb shop se has no product or variant with")
    assert "so its price cannot be set; create the article there" in message
    assert "correct the article number at the source" in message
    assert "price in price list Återförsäljare cannot be set" in str(refused_list.value)


async def test_a_sku_created_since_the_index_was_read_is_found_by_the_refresh(
    sim: StarwebSimulator, logged: Open, log: QueryLog, clock: FakeClock
) -> None:
    """A new variant of a product in the index, which ``filterSku`` does not find here
    (§2.5 leaves it open): the one refresh (``updatedSince``) reads it."""
    sim.knobs.filter_sku_matches_variants = False
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)  # the index is read by now
        clock.advance(1)
        sim.add_product("TROJA-XL", "Tröja", price=Decimal(299), product="TROJA", variant="XL")
        before = len(log.requests)
        assert await adapter.put_price("TROJA-XL", "SEK", Decimal(279), None) == "updated"
        assert log.refreshes(before) == 1
        assert len(price_writes(log, before)) == 1
    assert sim.price("TROJA-XL") == (Decimal(279), None)
    assert sim.price("TROJA-L") == (Decimal(299), None)


async def test_a_list_price_create_that_landed_unanswered_is_not_sent_again(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    """The POST is stored, then answered 500: in doubt. The repeat reads the variant's prices
    (``GET …/prices``) and finds it, so no second POST (the simulator would refuse one; the
    spec does not say what Starweb does)."""
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)
        sim.faults.add(
            Fault("commit_then_fail", methods=frozenset({"POST"}), path=r"/prices$", times=1)
        )
        with pytest.raises(TransientError):
            await adapter.put_list_price("2", reseller("PRIS-003", "9"))
        assert sim.price("PRIS-003", pricelist_id=RESELLERS) == (Decimal(9), None)  # landed
        before = len(log.requests)
        assert await adapter.put_list_price("2", reseller("PRIS-003", "9")) == "unchanged"
        assert log.since(before) == {"GET /products/{n}/variants/{n}/prices": 1}
        before = len(log.requests)
        assert await adapter.put_list_price("2", reseller("PRIS-003", "8")) == "updated"
        assert log.since(before) == {"PATCH /products/{n}/variants/{n}/prices/{n}": 1}
    posts = [r for r in log.requests if r[0] == "POST" and r[1].endswith("/prices")]
    assert len(posts) == 1


async def test_a_price_made_in_admin_since_the_read_is_updated_not_created(
    sim: StarwebSimulator, logged: Open
) -> None:
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)  # the index is read by now
        sim.set_price("PRIS-007", Decimal(30), pricelist_id=RESELLERS)  # in admin, just now
        assert await adapter.put_list_price("2", reseller("PRIS-007", "25")) == "updated"
    assert sim.price("PRIS-007", pricelist_id=RESELLERS) == (Decimal(25), None)


async def test_a_price_write_that_answers_404_finds_the_sku_again(
    sim: StarwebSimulator, logged: Open
) -> None:
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)
        del sim.catalog.products[sim.catalog_product("PRIS-001").product_id]  # deleted, then
        sim.add_product("PRIS-001", "Artikel igen", price=Decimal(10))  # created again
        assert await adapter.put_price("PRIS-001", "SEK", Decimal(13), None) == "updated"
        assert sim.price("PRIS-001") == (Decimal(13), None)
        del sim.catalog.products[sim.catalog_product("PRIS-001").product_id]
        with pytest.raises(PermanentError, match=r"^SKU PRIS-001: Starweb shop se has no"):
            await adapter.put_price("PRIS-001", "SEK", Decimal(14), None)


async def test_a_price_changed_in_admin_is_seen_by_the_next_refresh(
    sim: StarwebSimulator, logged: Open, clock: FakeClock
) -> None:
    """Equal values cost no write, compared with what the index read; a price changed in
    admin moves the product's ``modifiedAt`` (assumed, §2.5) and is read within
    INDEX_FRESH, so the ERP's price is written over it."""
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)
        assert await adapter.put_price("PRIS-002", "SEK", Decimal("11.00"), None) == "unchanged"
        clock.advance(INDEX_FRESH)
        sim.set_price("PRIS-002", Decimal(99))
        assert await adapter.put_price("PRIS-002", "SEK", Decimal(11), None) == "updated"
    assert sim.price("PRIS-002") == (Decimal(11), None)


async def test_a_price_the_product_flow_wrote_is_not_taken_as_unchanged(
    sim: StarwebSimulator, logged: Open, clock: FakeClock
) -> None:
    """put_article writes prices too (the product register, with its own read of the
    variant); the SKU index must not keep the price it read before."""
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)
        article = Article(
            sku="PRIS-004",
            name="Artikel PRIS-004",
            currency="SEK",
            price=Decimal(50),
            vat_rate=Decimal(25),
            modified_at=clock.now(),
        )
        assert await adapter.put_article(article, create=True, update=True) == "updated"
        assert sim.price("PRIS-004") == (Decimal(50), None)
        assert await adapter.put_price("PRIS-004", "SEK", Decimal(11), None) == "updated"
        assert await adapter.put_price("PRIS-004", "SEK", Decimal(11), None) == "unchanged"
    assert sim.price("PRIS-004") == (Decimal(11), None)


async def test_a_price_put_that_landed_unanswered_leaves_the_price_unknown(
    sim: StarwebSimulator, logged: Open, log: QueryLog
) -> None:
    """A PUT stored, then answered 500: the shop may hold the new price. Putting the old one
    back must write it (after one read of the variant's prices), not skip it as unchanged."""
    priced(sim)
    async with logged() as adapter:
        for sku in SKUS:
            await adapter.put_price(sku, "SEK", Decimal(11), None)
        sim.faults.add(
            Fault("commit_then_fail", methods=frozenset({"PUT"}), path=r"/prices/\d+$", times=1)
        )
        with pytest.raises(TransientError):
            await adapter.put_price("PRIS-005", "SEK", Decimal(12), None)
        assert sim.price("PRIS-005") == (Decimal(12), None)  # landed
        before = len(log.requests)
        assert await adapter.put_price("PRIS-005", "SEK", Decimal(11), None) == "updated"
        assert log.since(before) == {
            "GET /products/{n}/variants/{n}/prices": 1,
            "PUT /products/{n}/variants/{n}/prices/{n}": 1,
        }
    assert sim.price("PRIS-005") == (Decimal(11), None)


async def test_a_stock_put_that_landed_unanswered_is_not_taken_as_unchanged(
    sim: StarwebSimulator, logged: Open
) -> None:
    priced(sim)
    async with logged() as adapter:
        assert await adapter.put_stock("PRIS-006", Decimal(4)) == "updated"
        sim.faults.add(
            Fault("commit_then_fail", methods=frozenset({"PUT"}), path=r"/stocks/\d+$", times=1)
        )
        with pytest.raises(TransientError):
            await adapter.put_stock("PRIS-006", Decimal(5))
        assert sim.stock("PRIS-006") == Decimal(5)  # landed
        assert await adapter.put_stock("PRIS-006", Decimal(4)) == "updated"
    assert sim.stock("PRIS-006") == Decimal(4)
