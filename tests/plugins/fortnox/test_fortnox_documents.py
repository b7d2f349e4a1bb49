"""The Fortnox adapter's documents and customers against the simulator.

Reference/erp-apis.md §2.3 (search parameters match substrings: exact matching is the
client's, [doc F4] https://www.fortnox.se/developer/guides-and-good-to-know/parameters),
§2.6 (wrapped invoices/orders, rows with string quantities, ``Freight``/``AdministrationFee``
header fields, [spec F1]), §2.8 (find-before-create on ``ExternalInvoiceReference1``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from brygga.adapters import HelperArticle, RemoteNeeds
from brygga.clock import FakeClock
from brygga.documents import DocumentLine
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import Address, Customer, DocumentType, LineKind
from brygga.testing.conformance.erp import kit_customer, kit_document
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


def _recording(sim: FortnoxSimulator, clock: FakeClock, bodies: list[Any]) -> HttpContext:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await sim.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].startswith("/3/"):
            bodies.append(json.loads(body))

        async def replay() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        await sim.app(scope, replay, send)

    return HttpContext(
        transport=httpx.ASGITransport(app=app), clock=clock, limiters=RateLimiterRegistry(clock)
    )


@pytest.mark.parametrize("kind", [DocumentType.INVOICE, DocumentType.ORDER])
async def test_fees_are_article_rows_and_the_fee_fields_are_zero(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any, kind: DocumentType
) -> None:
    bodies: list[Any] = []
    async with open_adapter(http=_recording(sim, clock, bodies)) as adapter:
        document = await kit_document(sim, adapter, "F100", kind)
        created = await adapter.create_document(document)
    sent = bodies[-1]["Invoice" if kind == DocumentType.INVOICE else "Order"]
    assert sent["Freight"] == 0 and sent["AdministrationFee"] == 0
    rows = sent["InvoiceRows" if kind == DocumentType.INVOICE else "OrderRows"]
    freight = [r for r in rows if r["ArticleNumber"] == "KIT-FRAKT"]
    assert len(freight) == 1 and Decimal(str(freight[0]["Price"])) == Decimal("49.00")
    quantity = "DeliveredQuantity" if kind == DocumentType.INVOICE else "OrderedQuantity"
    # quantities are strings and prices numbers, as the spec types them (§2.6)
    assert all(isinstance(r[quantity], str) for r in rows)
    assert all(isinstance(r["Price"], int | float) for r in rows)
    assert sent["ExternalInvoiceReference1"] == document.reference
    assert sent["YourOrderNumber"] == "F100"
    stored = (sim.invoice if kind == DocumentType.INVOICE else sim.order)(created.number)
    assert stored is not None and stored["Total"] == document.totals.gross


async def test_find_document_keeps_only_the_exact_reference(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        first = await kit_document(sim, adapter, "X1")
        longer = msgspec.structs.replace(
            await kit_document(sim, adapter, "X10"), reference=first.reference + "0"
        )
        made = await adapter.create_document(longer)
        # the search for the shorter reference matches the longer one as a substring
        assert await adapter.find_document(first.reference, DocumentType.INVOICE) is None
        made_first = await adapter.create_document(first)
        found = await adapter.find_document(first.reference, DocumentType.INVOICE)
        assert found is not None and found.number == made_first.number != made.number
        assert await adapter.find_document("brygga:kit", DocumentType.INVOICE) is None


async def test_a_cancelled_document_is_found_only_when_nothing_else_has_the_reference(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "C1")
        made = await adapter.create_document(document)
        await adapter.cancel_document(made)
        found = await adapter.find_document(document.reference, DocumentType.INVOICE)
        assert found is not None and found.number == made.number
        again = await adapter.create_document(document)
        found = await adapter.find_document(document.reference, DocumentType.INVOICE)
        assert found is not None and found.number == again.number


async def test_book_sets_booked_and_a_booked_invoice_cannot_be_cancelled(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        document = msgspec.structs.replace(await kit_document(sim, adapter, "B1"), book=True)
        made = await adapter.create_document(document)
        assert made.booked
        stored = sim.invoice(made.number)
        assert stored is not None and stored["Booked"] is True
        with pytest.raises(PermanentError, match="credit it in Fortnox"):
            await adapter.cancel_document(made)


async def test_check_document_refuses_unknown_vat_and_articles_without_writing(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "V1")
        odd = DocumentLine(
            kind=LineKind.ITEM,
            article_number="KIT-A25",
            description="x",
            quantity=Decimal(1),
            unit_price=Decimal(10),
            vat_rate=Decimal(8),
        )
        bad_vat = msgspec.structs.replace(document, lines=(*document.lines, odd))
        writes = len([r for r in sim.requests if r[0] == "POST" and r[1] == "/3/invoices"])
        with pytest.raises(PermanentError, match=r"row \d+: the shop charged 8 % VAT"):
            await adapter.check_document(bad_vat)
        with pytest.raises(PermanentError, match="8 % VAT"):
            await adapter.create_document(bad_vat)
        missing = msgspec.structs.replace(odd, article_number="NOPE-1", vat_rate=Decimal(25))
        no_article = msgspec.structs.replace(document, lines=(*document.lines, missing))
        with pytest.raises(PermanentError, match="article NOPE-1 does not exist in Fortnox"):
            await adapter.create_document(no_article)
        long_ref = msgspec.structs.replace(document, reference="r" * 81)
        with pytest.raises(PermanentError, match="ExternalInvoiceReference1"):
            await adapter.check_document(long_ref)
        after = len([r for r in sim.requests if r[0] == "POST" and r[1] == "/3/invoices"])
    assert after == writes


async def test_customers_match_exactly_on_email_and_org_number(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    sim.add_customer(Name="Stranger", Email="xanna@example.se", OrganisationNumber="5560001234")
    anna = sim.add_customer(Name="Anna", Email="Anna@Example.se")
    firm = sim.add_customer(Name="Firma", OrganisationNumber="556000-1235")
    async with open_adapter() as adapter:
        person = kit_customer("anna")
        found = await adapter.find_customer(
            msgspec.structs.replace(person, email="anna@example.se"), ["email"]
        )
        assert found == anna
        company = msgspec.structs.replace(person, email="", org_number="5560001235")
        assert await adapter.find_customer(company, ["email", "org_number"]) == firm
        nobody = msgspec.structs.replace(person, email="nna@example.se")
        assert await adapter.find_customer(nobody, ["email"]) is None
        assert (
            await adapter.find_customer(
                msgspec.structs.replace(person, customer_number=anna), ["customer_number"]
            )
            == anna
        )


async def test_created_customers_carry_the_shop_data(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    customer = Customer(
        shop_customer_id="c1",
        email="bo@example.se",
        name="Bo Ek",
        billing=Address(
            name="Bo Ek", street="Gatan 1", postal_code="111 22", city="Sthlm",
            country_code="SE", phone="070",
        ),
    )  # fmt: skip
    async with open_adapter() as adapter:
        number = await adapter.create_customer(customer, "SEK")
    stored = sim.state.get("customers", number)
    assert stored is not None
    assert (stored["Name"], stored["Email"], stored["ZipCode"], stored["CountryCode"]) == (
        "Bo Ek", "bo@example.se", "111 22", "SE",
    )  # fmt: skip
    assert stored["Type"] == "PRIVATE"


async def test_remote_check_names_missing_helper_articles(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    needs = RemoteNeeds(
        helper_articles=(
            HelperArticle(LineKind.FREIGHT, "fraktavg", (Decimal(25),)),
            HelperArticle(LineKind.DISCOUNT, "rabatt-saknas", (Decimal(25),)),
        )
    )
    async with open_adapter() as adapter:
        findings = await adapter.verify_remote(needs)
    assert [(f.check, f.ok) for f in findings] == [
        ("credentials", True),
        ("freight article fraktavg", True),
        ("discount article rabatt-saknas", False),
    ]
    assert "does not exist in Fortnox" in findings[-1].detail
    assert all(method == "GET" for method, path in sim.requests if path.startswith("/3/"))


async def test_a_create_whose_outcome_is_unknown_is_in_doubt_and_found_once_it_lands(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    """The [1/9] rule (tests/sync/test_exactly_once.py): a write that may have landed is in
    doubt, and ``find_document`` sees it once it has (§2.8: the reference is the key)."""
    from brygga.errors import TransientError
    from brygga.testing.simulators import Fault

    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "D1")
        sim.faults.add(
            Fault("late_commit", methods=frozenset({"POST"}), path="^/3/invoices$", times=1)
        )
        with pytest.raises(TransientError) as info:
            await adapter.create_document(document)
        assert info.value.in_doubt
        assert await adapter.find_document(document.reference, DocumentType.INVOICE) is None
        assert await sim.faults.land_held() == 1
        found = await adapter.find_document(document.reference, DocumentType.INVOICE)
    assert found is not None
    assert len(sim.documents_with_reference(document.reference)) == 1
