"""Order status, stock and list prices read from a real trytond 8.2 after a person acts in it.

The admin harness (``brygga_tryton.realserver.TrytonAdmin``) posts and pays invoices and ships
customer shipments the way the Tryton client's buttons and wizards do; the adapter must then
report invoiced, paid, delivered and cancelled (trytond 8.2 ``modules/sale/sale.py``
``get_invoice_state``/``get_shipment_state``), and the stock Tryton computes for the warehouse
(reference/real-peers.md §A step 4: forecast 7 → 4 after a sale of 3).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tryton_support import TrytonServer, customer, document, open_adapter

from brygga.models import DocumentRef, DocumentType, OrderEvent

pytestmark = [pytest.mark.anyio, pytest.mark.real]

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_numbers)}"


async def product(server: TrytonServer, price: str = "100", stock: str = "10") -> str:
    sku = unique("ST")
    await server.admin.create_product(sku, f"Product {sku}", Decimal(price), stock=Decimal(stock))
    return sku


async def test_invoiced_paid_and_delivered_follow_what_a_person_does_in_tryton(
    tryton_server: TrytonServer,
) -> None:
    admin = tryton_server.admin
    sku = await product(tryton_server)
    reference = unique("brygga/status/shop/1")
    untouched_ref = unique("brygga/status/shop/2")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('s')}@example.se"), "SEK")
        doc = await adapter.create_document(document(reference, code, [(sku, "1", "100", "25")]))
        other = await adapter.create_document(  # quoted only: cheaper, and as untouched
            document(untouched_ref, code, [(sku, "1", "100", "25")], book=False)
        )

        async def events() -> frozenset[OrderEvent]:
            states = await adapter.document_states([doc])
            assert [s.reference for s in states] == [reference]
            assert states[0].number == doc.number and states[0].booked
            return states[0].events

        assert await events() == frozenset()
        await admin.post_invoices(reference)
        assert await events() == {OrderEvent.INVOICED}
        await admin.pay(reference)
        assert await events() == {OrderEvent.INVOICED, OrderEvent.PAID}
        await admin.ship(reference)
        assert await events() == {OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.DELIVERED}
        # one call for both: each reported once, the untouched one without events
        both = await adapter.document_states([other, doc])
        assert [(s.reference, s.events) for s in both] == [
            (untouched_ref, frozenset()),
            (reference, {OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.DELIVERED}),
        ]


async def test_an_invoice_document_reports_its_invoice_number_once_posted(
    tryton_server: TrytonServer,
) -> None:
    sku = await product(tryton_server)
    reference = unique("brygga/status/shop/3")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('s')}@example.se"), "SEK")
        draft = await adapter.create_document(
            document(
                reference, code, [(sku, "1", "100", "25")], kind=DocumentType.INVOICE, book=False
            )
        )
        assert not draft.booked
        [before] = await adapter.document_states([draft])
        assert not before.booked and before.events == frozenset()
        await tryton_server.admin.post_invoices(reference)
        [after] = await adapter.document_states([draft])
        assert after.booked and after.number.startswith("INV")
        assert after.events == {OrderEvent.INVOICED}


async def test_cancelled_and_gone_sales(tryton_server: TrytonServer) -> None:
    sku = await product(tryton_server)
    reference = unique("brygga/status/shop/4")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('s')}@example.se"), "SEK")
        quoted = await adapter.create_document(
            document(reference, code, [(sku, "1", "100", "25")], book=False)
        )
        [open_state] = await adapter.document_states([quoted])
        assert open_state.events == frozenset()
        await tryton_server.admin.cancel(reference)
        gone = DocumentRef(document_type=DocumentType.ORDER, number="77", reference="no/such/ref")
        gone_booked = DocumentRef(
            document_type=DocumentType.ORDER, number="78", reference="no/such/ref2", booked=True
        )
        states = await adapter.document_states([quoted, gone, gone_booked])
        # a booked sale that vanished is inconclusive: left out
        assert [(s.reference, s.events) for s in states] == [
            (reference, {OrderEvent.CANCELLED}),
            ("no/such/ref", {OrderEvent.CANCELLED}),
        ]


async def test_the_adapter_cancels_a_quoted_sale_and_refuses_a_confirmed_one(
    tryton_server: TrytonServer,
) -> None:
    sku = await product(tryton_server)
    quoted_ref, booked_ref = unique("brygga/cancel/1"), unique("brygga/cancel/2")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('s')}@example.se"), "SEK")
        quoted = await adapter.create_document(
            document(quoted_ref, code, [(sku, "1", "100", "25")], book=False)
        )
        booked = await adapter.create_document(
            document(booked_ref, code, [(sku, "1", "100", "25")])
        )
        await adapter.cancel_document(quoted)
        await adapter.cancel_document(quoted)  # a repeat is harmless
        assert (await tryton_server.admin.sale_by_reference(quoted_ref))["state"] == "cancelled"
        with pytest.raises(Exception, match="cannot cancel it any more"):
            await adapter.cancel_document(booked)
        assert (await tryton_server.admin.sale_by_reference(booked_ref))["state"] == "processing"


async def test_stock_forecast_and_available_in_the_warehouse(tryton_server: TrytonServer) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    sku = await product(tryton_server, stock="7")
    untouched = await product(tryton_server, stock="0")
    reference = unique("brygga/stock/1")
    async with (
        open_adapter(tryton_server) as forecast,
        open_adapter(tryton_server, stock_quantity="available") as available,
    ):
        level = await forecast.stock_of(sku)
        assert level is not None and level.sku == sku and level.quantity == 7
        assert await forecast.stock_of("NO-SUCH-SKU") is None
        code = await forecast.create_customer(customer(f"{unique('s')}@example.se"), "SEK")
        await forecast.create_document(document(reference, code, [(sku, "3", "100", "25")]))
        # the confirmed sale is taken off the forecast, not yet off the shelf
        assert (await forecast.stock_of(sku)).quantity == 4  # type: ignore[union-attr]
        assert (await available.stock_of(sku)).quantity == 7  # type: ignore[union-attr]
        await tryton_server.admin.ship(reference)
        assert (await available.stock_of(sku)).quantity == 4  # type: ignore[union-attr]
        after = datetime.now(UTC) + timedelta(seconds=2)
        changed = {lv.sku: lv.quantity async for lv in forecast.changed_stock(before, after)}
        assert changed.get(sku) == 4
        assert untouched not in changed  # no move, no change
        later = {lv.sku async for lv in forecast.changed_stock(after, after + timedelta(hours=1))}
        assert sku not in later
        # a person takes in 5 more: the change is seen in its window, with the new level
        mark = datetime.now(UTC) - timedelta(seconds=1)
        await tryton_server.admin.add_stock(await tryton_server.admin.product_id(sku), Decimal(5))
        window = mark, datetime.now(UTC) + timedelta(seconds=1)
        assert {lv.sku: lv.quantity async for lv in available.changed_stock(*window)} == {sku: 9}


async def test_articles_with_list_price_vat_and_changes(tryton_server: TrytonServer) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    sku = await product(tryton_server, price="49.50")
    async with open_adapter(tryton_server) as adapter:
        article = await adapter.fetch_article(sku)
        assert article is not None
        assert (article.sku, article.price, article.currency, article.vat_rate) == (
            sku,
            Decimal("49.50"),
            "SEK",
            Decimal("25"),
        )
        assert article.active
        assert await adapter.fetch_article("NO-SUCH-SKU") is None
        middle = datetime.now(UTC) + timedelta(seconds=1)
        changed = {c.sku async for c in adapter.changed_articles(before, middle)}
        assert sku in changed
        assert sku not in {
            c.sku async for c in adapter.changed_articles(middle, middle + timedelta(hours=1))
        }
        product_id = (await tryton_server.admin.one("product.product", [["code", "=", sku]]))["id"]
        await tryton_server.admin.set_list_price(product_id, Decimal("59.00"))
        now = datetime.now(UTC) + timedelta(seconds=2)
        assert sku in {c.sku async for c in adapter.changed_articles(before, now)}
        assert (await adapter.fetch_article(sku)).price == Decimal("59.00")  # type: ignore[union-attr]
        everything = {a.sku: a.price async for a in adapter.all_articles()}
        assert everything[sku] == Decimal("59.00")
