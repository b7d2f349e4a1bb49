"""A money property over random PrestaShop orders: the mapped order keeps the shop's totals,
and the ERP document built from it reproduces them (a rounding row of at most a few öre for
a cart-rule discount split over VAT rates, §3.8 item 6)."""

from __future__ import annotations

from decimal import Decimal

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from prestashop_support import open_adapter

from brygga.clock import FakeClock
from brygga.config import FeeArticles
from brygga.models import DocumentType, LineKind
from brygga.sync.order_document import build_document
from brygga_prestashop.simulator import PrestashopSimulator

_SKUS = PrestashopSimulator(seed_catalog=True).catalog_skus()


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(_SKUS), st.integers(min_value=1, max_value=9)),
        min_size=1,
        max_size=6,
    ),
    percent=st.decimals(min_value=0, max_value=60, places=1),
    freight=st.decimals(min_value=0, max_value=500, places=2),
)
def test_mapped_orders_keep_the_shops_money(
    lines: list[tuple[str, int]], percent: Decimal, freight: Decimal
) -> None:
    sim = PrestashopSimulator(clock=FakeClock())
    order_id = sim.place_order(
        lines=lines, email="a@example.se", freight=freight, discount_percent=percent
    )

    async def fetch() -> object:
        async with open_adapter(sim) as adapter:
            return await adapter.fetch_order(order_id)

    order = anyio.run(fetch)
    total, vat = sim.order_total(order_id)
    assert (order.total, order.total_vat) == (total, vat)  # type: ignore[attr-defined]
    document = build_document(
        order,  # type: ignore[arg-type]
        reference="r",
        document_type=DocumentType.INVOICE,
        customer_number="1",
        fee_articles=FeeArticles(),
    )
    assert document.totals.gross == total
    rounding = [line for line in document.lines if line.kind is LineKind.ROUNDING]
    assert sum((abs(r.unit_price) for r in rounding), Decimal(0)) <= Decimal("0.05")
    items = [(x.sku, int(x.quantity)) for x in order.lines if x.kind is LineKind.ITEM]  # type: ignore[attr-defined]
    assert items == lines
