"""Orders from a real Vendure: a Shop API checkout read back as a canonical order.

Vendure facts relied on (docs.vendure.io, Admin API reference; real-peers.md §B, verified on
Vendure 3.7.3): amounts are integers in minor units; the session token comes in the
``vendure-auth-token`` header; an order placed with the dummy payment handler (no automatic
settle) ends in ``PaymentAuthorized`` and gets ``orderPlacedAt``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from vendure_server import CATALOG, VendureServer, admin_gql, admin_login, place_checkout

from brygga.models import CustomerKind, DocumentRef, DocumentType, LineKind

pytestmark = [pytest.mark.real, pytest.mark.anyio]


def _now() -> datetime:
    return datetime.now(UTC)


async def _changes(adapter: object, since: datetime, until: datetime) -> list[object]:
    return [c async for c in adapter.changed_orders(since, until)]  # type: ignore[attr-defined]


async def test_checkout_becomes_a_canonical_order(vendure: VendureServer, adapter: object) -> None:
    since = _now() - timedelta(seconds=1)
    placed = await place_checkout(
        vendure, [("WIDGET-1", 2), ("COFFEE-500", 1)], email="anna@example.se"
    )
    assert placed.state == "PaymentAuthorized"
    changes = await _changes(adapter, since, _now() + timedelta(seconds=1))
    ours = [c for c in changes if c.shop_order_id == placed.id]  # type: ignore[attr-defined]
    assert len(ours) == 1 and ours[0].status == "PaymentAuthorized"  # type: ignore[attr-defined]

    order = await adapter.fetch_order(placed.id)  # type: ignore[attr-defined]
    assert order.number == placed.code
    assert order.currency == "SEK"
    assert order.status == "PaymentAuthorized"
    assert not order.paid
    items = [line for line in order.lines if line.kind is LineKind.ITEM]
    assert [(i.sku, i.quantity, i.unit_price, i.vat_rate) for i in items] == [
        ("WIDGET-1", 2, Decimal("125.00"), Decimal(25)),
        ("COFFEE-500", 1, Decimal("89.00"), Decimal(12)),
    ]
    (freight,) = [line for line in order.lines if line.kind is LineKind.FREIGHT]
    assert freight.unit_price == Decimal("49.00")
    # 2 x 125.00 + 25 % and 89.00 + 12 %, plus 49.00 shipping (the seeded method has no tax)
    assert order.total == Decimal("312.50") + Decimal("99.68") + Decimal("49.00")
    assert order.total == Decimal(placed.total_with_tax) / 100
    assert order.total_vat == Decimal("62.50") + Decimal("10.68")
    net = sum((line.net_amount for line in order.lines), Decimal(0))
    assert net + order.total_vat == order.total
    assert order.customer.email == "anna@example.se"
    assert order.customer.is_guest
    assert order.customer.kind is CustomerKind.PERSON
    assert order.customer.billing.city == "Stockholm"
    assert order.customer.billing.country_code == "SE"
    assert order.customer.shipping is not None
    assert order.customer.shipping.street == "Storgatan 1"
    assert order.modified_at.tzinfo is not None and order.created_at.tzinfo is not None


async def test_company_customer_and_line_per_variant(
    vendure: VendureServer, adapter: object
) -> None:
    placed = await place_checkout(
        vendure,
        [("GADGET-S", 1)],
        email="inkop@foretag.se",
        company="Företaget AB",
        city="Göteborg",
    )
    order = await adapter.fetch_order(placed.id)  # type: ignore[attr-defined]
    assert order.customer.kind is CustomerKind.COMPANY
    assert order.customer.name == "Företaget AB"
    assert order.customer.billing.city == "Göteborg"
    assert [line.sku for line in order.lines if line.kind is LineKind.ITEM] == ["GADGET-S"]
    assert order.total == Decimal(placed.total_with_tax) / 100


async def test_feed_window_is_half_open_and_skips_carts(
    vendure: VendureServer, adapter: object
) -> None:
    placed = await place_checkout(vendure, [("WIDGET-1", 1)])
    order = await adapter.fetch_order(placed.id)  # type: ignore[attr-defined]
    # a cart that never reached checkout is no order for the ERP
    async with httpx.AsyncClient() as shop:
        response = await shop.post(
            vendure.shop_url,
            json={
                "query": 'mutation { addItemToOrder(productVariantId: "1", quantity: 1) '
                "{ __typename ... on Order { id } } }"
            },
        )
        cart_id = response.json()["data"]["addItemToOrder"]["id"]
    at = order.modified_at
    around = await _changes(adapter, at - timedelta(minutes=5), _now() + timedelta(seconds=1))
    ids = {c.shop_order_id for c in around}  # type: ignore[attr-defined]
    assert placed.id in ids and cart_id not in ids
    # [since, until): an order modified exactly at ``until`` belongs to the next window
    before = await _changes(adapter, at - timedelta(minutes=5), at)
    assert placed.id not in {c.shop_order_id for c in before}  # type: ignore[attr-defined]
    starting = await _changes(adapter, at, at + timedelta(milliseconds=1))
    assert placed.id in {c.shop_order_id for c in starting}  # type: ignore[attr-defined]


async def test_feed_pages_return_every_order_once(vendure: VendureServer) -> None:
    from vendure_support import vendure_config

    from brygga.adapters import AdapterContext
    from brygga_vendure.adapter import VendureAdapter

    since = _now() - timedelta(seconds=1)
    placed = [await place_checkout(vendure, [("COFFEE-500", 1)]) for _ in range(3)]
    shop = VendureAdapter(
        vendure_config(vendure, page_size=2), AdapterContext(connection="t", instance="v")
    )
    try:
        changes = await _changes(shop, since, _now() + timedelta(seconds=1))
    finally:
        await shop.aclose()
    ids = [c.shop_order_id for c in changes]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids))
    assert {p.id for p in placed} <= set(ids)
    stamps = [(c.modified_at, int(c.shop_order_id)) for c in changes]  # type: ignore[attr-defined]
    assert stamps == sorted(stamps)


async def test_export_mark_is_a_private_note_written_once(
    vendure: VendureServer, adapter: object
) -> None:
    placed = await place_checkout(vendure, [("WIDGET-1", 1)])
    document = DocumentRef(document_type=DocumentType.INVOICE, number="1001", reference=placed.code)
    await adapter.mark_exported(placed.id, document)  # type: ignore[attr-defined]
    writes = adapter.writes  # type: ignore[attr-defined]
    await adapter.mark_exported(placed.id, document)  # type: ignore[attr-defined]
    assert adapter.writes == writes  # type: ignore[attr-defined]
    order = await adapter.fetch_order(placed.id)  # type: ignore[attr-defined]
    assert order.exported_as == "1001"
    async with httpx.AsyncClient() as admin:
        await admin_login(vendure, admin)
        data = await admin_gql(
            vendure,
            admin,
            "query($id: ID!) { order(id: $id) { history(options: {filter: {type: "
            '{eq: "ORDER_NOTE"}}}) { items { isPublic data } } } }',
            {"id": placed.id},
        )
    notes = data["order"]["history"]["items"]
    assert len(notes) == 1 and notes[0]["isPublic"] is False
    assert "invoice 1001" in notes[0]["data"]["note"]


def test_catalog_seeded_as_documented() -> None:
    assert CATALOG["WIDGET-1"] == (12500, 25, 100)
