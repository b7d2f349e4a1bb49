"""Hogia Smart adapter behaviour on its simulator: invoices only, the lagging API database,
POS stock, helper and text rows, customers, status and tokens.

Each test names the part of reference/erp-apis.md §4 (Hogia) it follows; the wire format is
modelled (§4.2, §9; ``brygga_hogia/wire.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import Address, Customer, DocumentType, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_hogia.simulator import HogiaSimulator

pytestmark = pytest.mark.anyio

AdapterFactory = Callable[..., Any]


def person(email: str, org: str = "") -> Customer:
    return Customer(
        email=email,
        name="Anna Andersson",
        org_number=org,
        billing=Address(name="Anna Andersson", city="Lund", country_code="SE"),
    )


async def test_an_order_document_is_refused_and_never_looked_for(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4: Hogia Smart creates invoices, not orders."""
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K1", DocumentType.ORDER)
        with pytest.raises(PermanentError, match="creates invoices, not orders"):
            await adapter.check_document(document)
        with pytest.raises(PermanentError, match='document = "invoice"'):
            await adapter.create_document(document)
        before = len(sim.requests)
        assert await adapter.find_document(document.reference, DocumentType.ORDER) is None
    assert len(sim.requests) == before
    assert sim.documents() == []


async def test_a_fresh_invoice_is_found_although_the_api_database_lags(
    sim: HogiaSimulator, open_adapter: AdapterFactory, clock: FakeClock
) -> None:
    """§4.1 [H1]: changes reach the API database late; the lookup by reference is direct
    (wire assumption 4), so exactly-once holds at once after a create."""
    sim.set_lag(3600)
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K2")
        created = await adapter.create_document(document)
        found = await adapter.find_document(document.reference, DocumentType.INVOICE)
        assert found is not None and found.number == created.number
        shorter = document.reference[:-1]
        assert await adapter.find_document(shorter, DocumentType.INVOICE) is None


async def test_the_change_feed_lags_and_misses_nothing(
    sim: HogiaSimulator, open_adapter: AdapterFactory, clock: FakeClock
) -> None:
    """§4.1 [H1]: the shop is updated only after new data lands in the API database; a POS
    sale changes the stock. The feed is read by landing time (wire assumption 7)."""
    sim.set_lag(30)
    clock.advance(120)  # the seeded catalog has landed
    start = clock.now()
    sim.set_price("KAFFE-500", Decimal("95.00"), Decimal("79.00"))
    sim.set_stock("TE-100", Decimal(7))
    clock.advance(10)
    first_end = clock.now()
    async with open_adapter() as adapter:
        assert [c async for c in adapter.changed_articles(start, first_end)] == []
        assert [s async for s in adapter.changed_stock(start, first_end)] == []
        clock.advance(60)
        changed = [c.sku async for c in adapter.changed_articles(first_end, clock.now())]
        stock = [(s.sku, s.quantity) async for s in adapter.changed_stock(first_end, clock.now())]
        article = await adapter.fetch_article("KAFFE-500")
    assert changed == ["KAFFE-500"]
    assert stock == [("TE-100", Decimal(7))]
    assert article is not None
    assert (article.price, article.campaign_price) == (Decimal("95.00"), Decimal("79.00"))
    assert [c["source"] for c in sim.state.changes if c["key"] == "TE-100"][-1] == "pos"


async def test_articles_without_skicka_till_webshop_are_inactive(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4.1 [H1] / DESIGN §1.2: the "Skicka till Webshop" flag."""
    sim.set_article("MUGG-VIT", sendToWebshop=False)
    async with open_adapter() as adapter:
        hidden = await adapter.fetch_article("MUGG-VIT")
        shown = await adapter.fetch_article("KAFFE-500")
        every = [a async for a in adapter.all_articles()]
    assert hidden is not None and not hidden.active
    assert shown is not None and shown.active
    assert all(a.product_sku == "" and a.variant_name == "" for a in every)
    assert {"TROJA-S", "TROJA-M", "TROJA-L"} <= {a.sku for a in every}


async def test_a_missing_helper_article_fails_with_the_fix(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4.1 [H1]: fraktavg, expavg and rabatt must exist."""
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K3")
        sim.remove_article("KIT-FRAKT")
        with pytest.raises(PermanentError, match=r"helper article KIT-FRAKT for freight rows"):
            await adapter.check_document(document)
    assert [p for m, p in sim.requests if m == "POST" and "invoices" in p] == []


async def test_unknown_items_become_text_rows_when_asked(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4.1 [H1] mode 1: the shop is master of articles, article data follows each order."""
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K4", sku="SHOP-ONLY-1")
        with pytest.raises(PermanentError, match=r"article SHOP-ONLY-1 does not exist"):
            await adapter.check_document(document)
    async with open_adapter(unknown_articles="text") as adapter:
        ref = await adapter.create_document(document)
    lines = sim.invoice(ref.number)["invoiceLines"]
    assert "articleNumber" not in lines[0]
    assert lines[0]["description"].startswith("SHOP-ONLY-1")
    assert lines[1]["articleNumber"] == "KIT-B12"
    assert sim.documents_with_reference(document.reference)[0].gross == document.totals.gross


async def test_customers_match_exactly_on_email_or_identification_number(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    anna = sim.add_customer(givenName="Anna", emailAddress="anna@example.se")
    firm = sim.add_customer(companyName="AB", identificationNumber="556677-8899")
    async with open_adapter() as adapter:
        keys = ["email", "org_number"]
        assert await adapter.find_customer(person("ANNA@example.se"), keys) == anna
        assert await adapter.find_customer(person("x@example.se", "556677-8899"), keys) == firm
        assert await adapter.find_customer(person("nna@example.se", "556677-88"), keys) is None


async def test_billed_invoices_and_payment_are_reported(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4.2 [H4]: isBilled, isCustomerPaid, amountLeftToPay."""
    async with open_adapter() as adapter:
        document = msgspec.structs.replace(await kit_document(sim, adapter, "K5"), book=True)
        ref = await adapter.create_document(document)
        assert ref.booked and sim.invoice(ref.number)["isBilled"]
        (billed,) = await adapter.document_states([ref])
        sim.order_event(ref.reference, OrderEvent.PAID)
        (paid,) = await adapter.document_states([ref])
    assert OrderEvent.INVOICED in billed.events and OrderEvent.PAID not in billed.events
    assert OrderEvent.PAID in paid.events


async def test_one_token_serves_many_requests(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    """§4.2 [H3][H5]: OAuth2 client credentials; the token is kept, not fetched per call."""
    async with open_adapter() as adapter:
        for email in ("a@example.se", "b@example.se", "c@example.se"):
            await adapter.find_customer(person(email), ["email"])
    assert [p for m, p in sim.requests if m == "POST"] == ["/connect/token"]


async def test_wrong_credentials_never_show_the_secret(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter(client_secret="kit-wrong-secret-0123456789") as adapter:
        with pytest.raises(PermanentError) as error:
            await adapter.find_customer(person("a@example.se"), ["email"])
    assert "rejected the credentials (invalid_client" in str(error.value)
    assert "kit-wrong-secret" not in str(error.value)


@pytest.mark.parametrize(("field", "value"), [("price", "NaN"), ("campaignPrice", -1)])
async def test_an_article_that_cannot_be_mapped_names_its_sku_and_field(
    sim: HogiaSimulator, open_adapter: AdapterFactory, field: str, value: object
) -> None:
    sim.set_article("MUGG-VIT", **{field: value})
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=f"Hogia article MUGG-VIT: .*{field}"):
            await adapter.fetch_article("MUGG-VIT")
        assert await adapter.fetch_article("KAFFE-500") is not None
