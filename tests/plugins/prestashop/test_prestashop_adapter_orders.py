"""The PrestaShop adapter's orders side: change feed, order mapping, export mark.

Reference: /work/shared/reference/shop-apis.md §3.4 (date=1, full datetimes, keyset paging,
[PS1][PS11][PS16]), §3.5 (empty-list quirk [PS17]), §3.6 (order_details, hidden tax_rate
[PS5][PS9]), §7.1 (canonical mapping).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from prestashop_support import open_adapter, utc

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import CustomerKind, DocumentRef, DocumentType, LineKind
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio

PAST, FUTURE = utc(2000, 1, 1), utc(2100, 1, 1)


async def test_the_feed_filters_date_upd_with_date_1_and_full_datetimes(
    sim: PrestashopSimulator, clock: FakeClock
) -> None:
    sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        changes = [c async for c in adapter.changed_orders(clock.now(), FUTURE)]
    assert [c.shop_order_id for c in changes] == ["1"]
    assert changes[0].status == "payment-accepted"
    (query,) = [parse_qs(q) for m, p, q in sim.ws.log if p == "/api/orders"]
    assert query["date"] == ["1"]
    assert query["sort"] == ["[date_upd_ASC,id_ASC]"]
    low, high = query["filter[date_upd]"][0].strip("[]").split(",")
    assert len(low) == len(high) == 19  # full datetimes, never a bare date (#10822)


async def test_the_feed_is_half_open_and_in_order(
    sim: PrestashopSimulator, clock: FakeClock
) -> None:
    first = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    clock.advance(10)
    since = clock.now()
    inside = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    clock.advance(10)
    until = clock.now()
    after = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        ids = [c.shop_order_id async for c in adapter.changed_orders(since, until)]
        everything = [c.shop_order_id async for c in adapter.changed_orders(PAST, FUTURE)]
    assert ids == [inside]
    assert everything == [first, inside, after]


async def test_paging_survives_orders_that_change_while_it_reads(
    sim: PrestashopSimulator, clock: FakeClock
) -> None:
    """§7.2: offset pages skip rows when earlier rows change; the keyset walk does not."""
    start = clock.now()
    placed = []
    for index in range(25):
        placed.append(sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com"))
        if index % 4 == 3:
            clock.advance(1)
    clock.advance(1)
    reads = 0
    real = sim.ws._list

    def touching(*args: object, **kwargs: object) -> object:
        nonlocal reads
        reads += 1
        if reads == 2:  # between pages, an early order is edited in the back office
            sim.touch(placed[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    sim.ws._list = touching  # type: ignore[method-assign]
    async with open_adapter(sim, page_size=5) as adapter:
        found = [c.shop_order_id async for c in adapter.changed_orders(start, FUTURE)]
    assert sorted(found, key=int) == placed
    assert len(found) == len(set(found))
    assert reads > 5  # it really paged


async def test_the_empty_list_quirk_is_an_empty_feed(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        assert [c async for c in adapter.changed_orders(PAST, FUTURE)] == []
    assert sim.knobs.empty_list_quirk


async def test_fetch_order_maps_lines_freight_discount_and_vat(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(
        lines=[("KAFFE-500", 2), ("TE-100", 1), ("TROJA-M", 1)],
        email="kund@example.com",
        freight=Decimal("49"),
        discount_percent=Decimal("10"),
    )
    async with open_adapter(sim) as adapter:
        order = await adapter.fetch_order(order_id)
    items = [
        (x.sku, x.quantity, x.unit_price, x.vat_rate)
        for x in order.lines
        if x.kind is LineKind.ITEM
    ]
    assert items == [
        ("KAFFE-500", 2, Decimal("89.000000"), Decimal("25.000")),
        ("TE-100", 1, Decimal("45.000000"), Decimal("12.000")),
        ("TROJA-M", 1, Decimal("299.000000"), Decimal("25.000")),  # 279 + 20 impact
    ]
    (freight,) = [x for x in order.lines if x.kind is LineKind.FREIGHT]
    assert (freight.name, freight.unit_price, freight.vat_rate) == (
        "PostNord MyPack",
        Decimal("49.000000"),
        Decimal("25.000"),
    )
    discounts = {x.vat_rate: x.unit_price for x in order.lines if x.kind is LineKind.DISCOUNT}
    assert discounts == {Decimal("25.000"): Decimal("-47.70"), Decimal("12.000"): Decimal("-4.50")}
    assert (order.total, order.total_vat) == sim.order_total(order_id)
    assert order.currency == "SEK" and order.status == "payment-accepted" and order.paid
    assert order.number == f"SIM{int(order_id):06d}"


async def test_vat_comes_from_the_taxes_association_not_a_hidden_field(
    sim: PrestashopSimulator,
) -> None:
    """§3.6 [PS5][PS9]: ``tax_rate`` is hidden; the rate is read from ``taxes/{id}``."""
    order_id = sim.place_order(lines=[("BOK-01", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        order = await adapter.fetch_order(order_id)
    assert order.lines[0].vat_rate == Decimal("6.000")
    assert ("GET", "/taxes/3") in sim.requests


async def test_without_a_taxes_association_the_rate_is_derived(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("TE-100", 3)], email="a@example.com")
    detail_id = int(sim.details(order_id)[0]["id"])
    sim.mangle("order_details", detail_id, lambda row: row.pop("associations"))
    async with open_adapter(sim) as adapter:
        order = await adapter.fetch_order(order_id)
    assert order.lines[0].vat_rate == Decimal("12")


async def test_the_customer_and_addresses_are_read_at_import(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(
        lines=[("KAFFE-500", 1)],
        email="inköp@firma.se",
        company="Firma AB",
        vat_number="SE556000000001",
        name="Anna Berg",
    )
    async with open_adapter(sim) as adapter:
        before = await adapter.fetch_order(order_id)
        address = sim.state.get("addresses", int(sim.order(order_id)["id_address_invoice"]))
        address["city"], address["deleted"] = "Malmö", "1"  # edited, then soft-deleted
        after = await adapter.fetch_order(order_id)
    customer = before.customer
    assert customer.kind is CustomerKind.COMPANY and customer.name == "Firma AB"
    assert customer.vat_number == "SE556000000001"
    assert customer.billing.country_code == "SE" and customer.billing.city == "Stockholm"
    assert customer.shop_customer_id == sim.order(order_id)["id_customer"]
    # the order as imported keeps its snapshot; a later read sees the edited row
    assert after.customer.billing.city == "Malmö"


async def test_a_guest_has_no_customer_id(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="g@example.com", guest=True)
    async with open_adapter(sim) as adapter:
        order = await adapter.fetch_order(order_id)
    assert order.customer.shop_customer_id is None and order.customer.email == "g@example.com"


async def test_times_are_shop_local_read_as_utc(sim: PrestashopSimulator, clock: FakeClock) -> None:
    placed_at = clock.now()
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    assert sim.order(order_id)["date_add"] == "2026-02-02 09:00:00"  # Stockholm, UTC+1
    async with open_adapter(sim) as adapter:
        order = await adapter.fetch_order(order_id)
    assert order.created_at == placed_at and order.created_at.utcoffset() == timedelta(0)


async def test_a_deleted_order_is_a_permanent_error_naming_it(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match="order 42 does not exist"):
            await adapter.fetch_order("42")


async def test_the_export_mark_is_a_private_message_written_once(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    document = DocumentRef(document_type=DocumentType.INVOICE, number="10007", reference="r")
    async with open_adapter(sim) as adapter:
        await adapter.mark_exported(order_id, document)
        await adapter.mark_exported(order_id, document)
        order = await adapter.fetch_order(order_id)
    assert sim.messages(order_id) == ["brygga ERP document: 10007"]
    assert sim.state.table("messages")[1]["private"] == "1"
    assert order.exported_as == "10007"


async def test_export_mark_none_writes_nothing(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    document = DocumentRef(document_type=DocumentType.INVOICE, number="1", reference="r")
    async with open_adapter(sim, export_mark="none") as adapter:
        await adapter.mark_exported(order_id, document)
    assert sim.messages(order_id) == []
    assert not [r for r in sim.requests if r[0] != "GET"]


async def test_multishop_sends_id_shop_on_every_request(clock: FakeClock) -> None:
    sim = PrestashopSimulator(clock=clock, shops=(1, 2))
    mine = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com", id_shop=2)
    sim.place_order(lines=[("KAFFE-500", 1)], email="b@example.com", id_shop=1)
    async with open_adapter(sim, id_shop=2) as adapter:
        found = [c.shop_order_id async for c in adapter.changed_orders(PAST, FUTURE)]
        await adapter.fetch_order(mine)
    assert found == [mine]
    assert all("id_shop=2" in query for _, _, query in sim.ws.log)
