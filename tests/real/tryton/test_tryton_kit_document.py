"""The conformance kit's document, as the orders flow builds it, into a real trytond 8.2.

The kit's order (brygga.testing.conformance.erp.kit_order) has three VAT rates, a row
discount, freight and a rounding row at 0 %: the sale Tryton makes of it must carry the
document's totals and VAT per rate to the öre, and an unknown article is refused naming the
order and the article with nothing left behind (as the kit's check_unknown_article asks of
every ERP adapter).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tryton_support import TrytonServer, open_adapter

from brygga.errors import PermanentError
from brygga.models import DocumentType
from brygga.sync.order_document import build_document
from brygga.testing.conformance.erp import (
    KIT_ARTICLES,
    KIT_FEES,
    UNKNOWN_ARTICLE,
    kit_customer,
    kit_order,
)

pytestmark = [pytest.mark.anyio, pytest.mark.real]


async def kit_catalog(server: TrytonServer) -> None:
    have = {row["code"] for row in await server.admin.search_read("product.product", [], ["code"])}
    for sku, name, price, rate in KIT_ARTICLES:
        if sku not in have:
            kind = "goods" if price else "service"
            await server.admin.create_product(
                sku,
                name,
                price,
                vat=rate,
                stock=Decimal(0) if kind == "service" else Decimal(50),
                kind=kind,
            )


# invoice documents: the fuller path (the sale processed at once, its invoice posted); order
# documents are confirmed and processed the same way up to the invoice (test_tryton_orders)
@pytest.mark.parametrize("document_type", [DocumentType.INVOICE])
async def test_the_kit_document_becomes_a_sale_with_its_totals_and_vat_per_rate(
    tryton_server: TrytonServer, document_type: DocumentType
) -> None:
    await kit_catalog(tryton_server)
    order_id = f"KT{document_type.value[:1].upper()}1001"
    buyer = kit_customer(order_id.lower())
    async with open_adapter(tryton_server) as adapter:
        number = await adapter.create_customer(buyer, "SEK")
        assert await adapter.find_customer(buyer, ["email"]) == number
        document = build_document(
            kit_order(order_id, buyer),
            reference=f"brygga:kit:{order_id}",
            document_type=document_type,
            customer_number=number,
            fee_articles=KIT_FEES,
            book=True,
        )
        assert document.totals.vat_by_rate.keys() >= {Decimal(25), Decimal(12), Decimal(6)}
        await adapter.check_document(document)
        created = await adapter.create_document(document)
        assert created.booked
        if document_type == DocumentType.INVOICE:  # booked: the sale's invoice is posted
            assert created.number.startswith("INV")
        assert await adapter.find_document(document.reference, document_type) == created
    admin = tryton_server.admin
    sale = await admin.one(
        "sale.sale",
        [["reference", "=", document.reference]],
        ["untaxed_amount", "tax_amount", "total_amount", "invoices", "party.code"],
    )
    totals = document.totals
    assert (sale["untaxed_amount"], sale["tax_amount"], sale["total_amount"]) == (
        totals.net,
        totals.vat,
        totals.gross,
    )
    assert sale["party."]["code"] == number
    [invoice] = sale["invoices"]
    [posted] = await admin.call("account.invoice.read", [invoice], ["number", "state"])
    if document_type == DocumentType.INVOICE:
        assert (posted["number"], posted["state"]) == (created.number, "posted")
    else:
        assert posted["state"] == "draft"  # an order document leaves the invoice to a person
    taxes = await admin.search_read(
        "account.invoice.tax", [["invoice", "=", invoice]], ["tax.rate", "amount"]
    )
    by_rate = {row["tax."]["rate"] * 100: row["amount"] for row in taxes}
    assert {r.normalize(): a for r, a in by_rate.items()} == {
        Decimal(r).normalize(): vat for r, vat in totals.vat_by_rate.items() if vat
    }


async def test_an_unknown_article_is_refused_naming_order_and_article(
    tryton_server: TrytonServer,
) -> None:
    await kit_catalog(tryton_server)
    buyer = kit_customer("kt1003")
    async with open_adapter(tryton_server) as adapter:
        number = await adapter.create_customer(buyer, "SEK")
        document = build_document(
            kit_order("KT1003", buyer, sku=UNKNOWN_ARTICLE),
            reference="brygga:kit:KT1003",
            document_type=DocumentType.ORDER,
            customer_number=number,
            fee_articles=KIT_FEES,
        )
        with pytest.raises(PermanentError) as refused:
            await adapter.create_document(document)
    assert "KT1003" in str(refused.value) and UNKNOWN_ARTICLE in str(refused.value)
    assert (
        await tryton_server.admin.call(
            "sale.sale.search_count", [["reference", "=", "brygga:kit:KT1003"]]
        )
        == 0
    )
