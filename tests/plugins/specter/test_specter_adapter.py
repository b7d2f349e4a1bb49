"""Specter adapter behaviour on its simulator: customer matching switches, the dedupe key,
the article pre-check, variants, price lists, the stock-change log and `check --remote`.

Each test names the part of reference/erp-apis.md §3 (Specter) it follows; the wire format
itself is modelled (§3.4, ``brygga_specter/wire.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from brygga.adapters import HelperArticle, RemoteNeeds
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import Address, Customer, DocumentType, LineKind, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_specter.simulator import SpecterSimulator

pytestmark = pytest.mark.anyio

AdapterFactory = Callable[..., Any]


def person(email: str, org: str = "") -> Customer:
    return Customer(
        email=email,
        name="Anna Andersson",
        org_number=org,
        billing=Address(name="Anna Andersson", street="Gatan 1", city="Lund", country_code="SE"),
    )


async def test_customers_match_on_email_first_then_org_number(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.2: "matched first on e-mail, then org/personal number" [S7][S3]."""
    by_mail = sim.add_customer(Name="A", EmailAddress="anna@example.se", OrgNo="")
    by_org = sim.add_customer(Name="B", EmailAddress="b@example.se", OrgNo="556677-8899")
    async with open_adapter() as adapter:
        keys = ["email", "org_number"]
        assert await adapter.find_customer(person("ANNA@example.se"), keys) == by_mail
        assert await adapter.find_customer(person("new@example.se", "556677-8899"), keys) == by_org
        # the search is a "contains" search (wire assumption 6): a part never matches
        assert await adapter.find_customer(person("nna@example.se"), keys) is None
        # Specter matches again on create: the same e-mail is the same customer
        assert await adapter.create_customer(person("anna@example.se"), "SEK") == by_mail
    assert len(sim.customers()) == 2


async def test_the_ignore_switches_turn_matching_off(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.2: ``ignoreControlEmail``/``ignoreControlOrgNo``; both set force a new customer."""
    sim.add_customer(Name="A", EmailAddress="anna@example.se", OrgNo="556677-8899")
    async with open_adapter(ignore_control_email=True) as adapter:
        found = await adapter.find_customer(person("anna@example.se", "556677-8899"), ["email"])
        assert found is None
        matched = await adapter.find_customer(
            person("anna@example.se", "556677-8899"), ["email", "org_number"]
        )
        assert matched is not None
    async with open_adapter(ignore_control_email=True, ignore_control_org_no=True) as adapter:
        customer = person("anna@example.se", "556677-8899")
        assert await adapter.find_customer(customer, ["email", "org_number"]) is None
        first = await adapter.create_customer(customer, "SEK")
        second = await adapter.create_customer(customer, "SEK")
        assert first != second
    assert len(sim.customers()) == 3


async def test_force_customer_update_updates_the_matched_customer(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.2: ``ForceCustomerUpdate`` [S3]."""
    number = sim.add_customer(Name="Old Name", EmailAddress="anna@example.se")
    async with open_adapter(force_customer_update=True) as adapter:
        assert await adapter.create_customer(person("anna@example.se"), "SEK") == number
    assert sim.customers()[0]["Name"] == "Anna Andersson"


async def test_the_external_order_number_is_matched_exactly(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.4: ``externalorderno`` is the dedupe key; the search may match more (assumption 6)."""
    async with open_adapter() as adapter:
        longer = await kit_document(sim, adapter, "K10", DocumentType.ORDER)
        created = await adapter.create_document(longer)
        short_ref = longer.reference[:-1]  # "...:K1", contained in "...:K10"
        assert await adapter.find_document(short_ref, DocumentType.ORDER) is None
        found = await adapter.find_document(longer.reference, DocumentType.ORDER)
        assert found is not None and found.number == created.number
        assert await adapter.find_document(longer.reference, DocumentType.INVOICE) is None


async def test_a_missing_article_fails_before_anything_is_written(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.2: articles must exist in Specter before an order uses them [S4]."""
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K20", sku="NOSUCH-1")
        before = len(sim.requests)
        with pytest.raises(PermanentError, match=r"Order K20 row 1: article NOSUCH-1 does not"):
            await adapter.check_document(document)
    assert all(method == "GET" for method, _ in sim.requests[before:])
    assert sim.documents() == []


async def test_invoices_are_booked_when_asked(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        document = msgspec.structs.replace(await kit_document(sim, adapter, "K30"), book=True)
        created = await adapter.create_document(document)
    assert created.booked
    assert sim.documents_with_reference(document.reference)[0].booked


async def test_variants_keep_their_product(open_adapter: AdapterFactory) -> None:
    """§3.3 / DESIGN §1: Specter has a variant structure (wire assumption 9)."""
    async with open_adapter() as adapter:
        article = await adapter.fetch_article("TROJA-M")
        assert article is not None
        assert (article.product_sku, article.variant_name) == ("TROJA", "M")
        assert await adapter.fetch_article("NOSUCH") is None
        skus = [a.sku async for a in adapter.all_articles()]
    assert {"TROJA", "TROJA-S", "TROJA-M", "TROJA-L", "KAFFE-500"} <= set(skus)
    assert len(skus) == len(set(skus))


async def test_price_lists_and_campaign_prices_are_read(
    sim: SpecterSimulator, open_adapter: AdapterFactory, clock: FakeClock
) -> None:
    """§3.3: price lists and prices excl. VAT [S6] (wire assumption 12)."""
    clock.advance(1)  # past the seeded catalog
    start = clock.now()
    clock.advance(10)
    sim.set_list_price("KAFFE-500", "B2B", Decimal("70.00"))
    sim.set_price("TE-100", Decimal("45.00"), Decimal("39.00"))
    clock.advance(10)
    async with open_adapter() as adapter:
        prices = [p async for p in adapter.changed_list_prices(start, clock.now())]
        article = await adapter.fetch_article("TE-100")
        changed = [c.sku async for c in adapter.changed_articles(start, clock.now())]
        later = [p async for p in adapter.changed_list_prices(clock.now(), clock.now())]
    assert [(p.price_list, p.sku, p.price) for p in prices] == [("B2B", "KAFFE-500", Decimal(70))]
    assert article is not None and article.campaign_price == Decimal("39.00")
    assert changed == ["KAFFE-500", "TE-100"]
    assert later == []


async def test_stock_changes_are_read_from_the_polled_log(
    sim: SpecterSimulator, open_adapter: AdapterFactory, clock: FakeClock
) -> None:
    """§3.2: Specter calls a URL on each stock change, then the balance is fetched [S2];
    modelled as a polled change log (wire assumption 11). Multiple stock sites [S1][S6]."""
    clock.advance(1)
    start = clock.now()
    clock.advance(5)
    sim.set_stock("KAFFE-500", Decimal(12))
    sim.set_stock("KAFFE-500", Decimal(11))
    sim.set_stock("MUGG-VIT", Decimal(4), site="2")
    clock.advance(5)
    async with open_adapter() as adapter:
        levels = [(s.sku, s.quantity) async for s in adapter.changed_stock(start, clock.now())]
        none_later = [s async for s in adapter.changed_stock(clock.now(), clock.now())]
    assert levels == [("KAFFE-500", Decimal(11)), ("MUGG-VIT", Decimal(0))]
    assert none_later == []
    async with open_adapter(stock_site_id="2") as adapter:
        level = await adapter.stock_of("MUGG-VIT")
        assert level is not None and level.quantity == Decimal(4)
        assert await adapter.stock_of("NOSUCH") is None


async def test_a_delivered_order_reports_tracking_and_carrier(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    """§3.2: partial delivery per order row, feedback when the whole order is delivered [S7]."""
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "K40", DocumentType.ORDER)
        ref = await adapter.create_document(document)
        sim.order_event(ref.reference, OrderEvent.PARTIALLY_DELIVERED)
        (partly,) = await adapter.document_states([ref])
        sim.order_event(ref.reference, OrderEvent.DELIVERED)
        (state,) = await adapter.document_states([ref])
    assert OrderEvent.PARTIALLY_DELIVERED in partly.events
    assert OrderEvent.DELIVERED not in partly.events
    assert OrderEvent.DELIVERED in state.events
    assert (state.tracking_number, state.carrier) == ("SIM123456789SE", "PostNord")


async def test_check_remote_finds_each_helper_article(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    sim.remove_article("expavg")
    needs = RemoteNeeds(
        helper_articles=(
            HelperArticle(LineKind.FREIGHT, "fraktavg", (Decimal(25),)),
            HelperArticle(LineKind.FEE, "expavg", (Decimal(25),)),
        )
    )
    async with open_adapter() as adapter:
        findings = await adapter.verify_remote(needs)
    assert [(f.check, f.ok) for f in findings] == [
        ("credentials", True),
        ("helper article fraktavg", True),
        ("helper article expavg", False),
    ]
    assert "create article expavg" in findings[2].detail
    async with open_adapter(api_user_key="wrong-key-123456") as adapter:
        (bad,) = await adapter.verify_remote(needs)
    assert not bad.ok and "HTTP 401" in bad.detail and "wrong-key" not in bad.detail


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("SalesPriceExVat", "NaN", "SalesPriceExVat NaN, not a price"),
        ("SalesPriceExVat", -5, "SalesPriceExVat -5, not a price"),
        ("Modified", "yesterday", "'yesterday', not ISO 8601"),
    ],
)
async def test_an_item_that_cannot_be_mapped_names_its_sku_and_field(
    sim: SpecterSimulator, open_adapter: AdapterFactory, field: str, value: object, said: str
) -> None:
    sim.set_item("MUGG-VIT", SalesPriceExVat=Decimal(1))
    sim.state.items["MUGG-VIT"][field] = value
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="Specter article MUGG-VIT") as error:
            await adapter.fetch_article("MUGG-VIT")
        assert await adapter.fetch_article("KAFFE-500") is not None
    assert said in str(error.value)
