"""The e-conomic product index kept compact (issue [9/9], "big catalog"): a product is kept as
the packed fields ``put_article`` compares, and they come back exactly.

Reference: reference/erp-apis.md §1.3 (``GET /products?pagesize=1000`` lists products with
``name``, ``salesPrice``, ``barCode``, ``barred`` and ``productGroup``, as the single product
has them) and §1.6 (products keyed by ``productNumber``; e-conomic/slate
``source/includes/_products.md``, https://restapi.e-conomic.com/).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga_economic.catalog_wire import CatalogProduct
from brygga_economic.product_index import COUNT_AFTER, ProductIndex, pack, unpack
from brygga_economic.simulator import EconomicSimulator
from brygga_economic.wire import _GroupRef

AT = datetime(2026, 1, 1, tzinfo=UTC)
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}


@pytest.fixture
def sim(clock: FakeClock) -> EconomicSimulator:
    """An agreement without products (reference data and product groups only)."""
    return EconomicSimulator(clock=clock, seed_catalog=False)


def test_a_packed_product_comes_back_with_the_compared_fields_exactly() -> None:
    full = CatalogProduct(
        product_number="P-1",
        name="Blå kopp",
        sales_price=Decimal("10.50"),
        bar_code="7310000000017",
        barred=True,
        product_group=_GroupRef(product_group_number=3),
        last_updated="2026-01-01T10:00:00Z",
    )
    back = unpack("P-1", pack(full))
    assert back == CatalogProduct(
        product_number="P-1",
        name="Blå kopp",
        sales_price=Decimal("10.50"),
        bar_code="7310000000017",
        barred=True,
        product_group=_GroupRef(product_group_number=3),
    )
    assert str(back.sales_price) == "10.50"  # the decimal text, not only the value
    bare = CatalogProduct(product_number="P-2")
    assert unpack("P-2", pack(bare)) == bare  # no price, no group: None, not 0


def test_what_the_index_holds_is_given_back_and_forgotten_when_in_doubt() -> None:
    now = [0.0]
    index = ProductIndex(now=lambda: now[0])
    index.replace({"A": pack(CatalogProduct(product_number="A", name="a"))}, 1)
    index.seen(CatalogProduct(product_number="B", name="b", sales_price=Decimal("1.5")))
    assert index.get("A") == CatalogProduct(product_number="A", name="a")
    assert index.get("B") == CatalogProduct(
        product_number="B", name="b", sales_price=Decimal("1.5")
    )
    assert index.results == 2 and index.knows("B")
    index.doubt("B")
    assert index.get("B") is None and not index.knows("B")
    assert index.get("C") is None


def article(sku: str, **fields: Any) -> Article:
    base: dict[str, Any] = {
        "sku": sku,
        "name": f"Artikel {sku}",
        "currency": "SEK",
        "price": Decimal("100.00"),
        "vat_rate": Decimal("25"),
        "modified_at": AT,
    }
    return Article(**(base | fields))


@pytest.mark.anyio
async def test_products_read_into_the_index_are_compared_without_a_request_each(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    """Existing products with a barcode, a barred one and one in a 12 % group: put again as
    they are, each is ``unchanged`` from the index alone; an article at 25 % for the 12 %
    product is refused from the index's product group; a changed name is written."""
    skus = [f"E{i:03d}" for i in range(COUNT_AFTER + 12)]
    for sku in skus:
        sim.add_article(sku, f"Artikel {sku}", Decimal("100.00"), Decimal("25"))
    sim.set_product(skus[0], barCode="7310000000017")
    sim.set_product(skus[1], barred=True)
    sim.add_article(skus[2], f"Artikel {skus[2]}", Decimal("100.00"), Decimal("12"))
    wanted = {
        skus[0]: article(skus[0], ean="7310000000017"),
        skus[1]: article(skus[1], active=False),
        skus[2]: article(skus[2], vat_rate=Decimal("12")),
    }
    async with open_adapter(product_group=1, rate_limit=UNLIMITED) as adapter:
        for sku in skus[3:]:  # enough look-ups for the list to be read
            await adapter.put_article(article(sku), create=True, update=True)
        index = adapter._product_index
        assert index is not None and index.fresh() and index.get(skus[0]) is not None
        before = len(sim.requests)
        for same in wanted.values():
            assert await adapter.put_article(same, create=True, update=True) == "unchanged"
        # all from the index (the 12 % group's VAT account is reference data, read once)
        assert [r for r in sim.requests[before:] if r[1].startswith("/products")] == []
        with pytest.raises(PermanentError, match="12 % VAT"):
            await adapter.put_article(article(skus[2]), create=True, update=True)
        renamed = article(skus[3], name="Nytt namn")
        assert await adapter.put_article(renamed, create=True, update=True) == "updated"
    stored = sim.product(skus[3])
    assert stored is not None and stored["name"] == "Nytt namn"
