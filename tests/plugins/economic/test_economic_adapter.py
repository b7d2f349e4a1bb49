"""The e-conomic adapter against its simulator: documents, VAT articles, failures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import customer, document, row

from brygga.errors import PermanentError, TransientError
from brygga.models import DocumentType, LineKind, OrderEvent
from brygga.testing import Fault
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

ALL_KEYS = ["customer_number", "email", "org_number"]


# --- documents -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [DocumentType.INVOICE, DocumentType.ORDER])
async def test_create_then_find_by_reference(
    sim: EconomicSimulator, open_adapter: Any, kind: DocumentType
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, document_type=kind, reference="butiken/se/1001")
    async with open_adapter() as adapter:
        assert await adapter.find_document("butiken/se/1001", kind) is None
        created = await adapter.create_document(doc)
        found = await adapter.find_document("butiken/se/1001", kind)
        other_kind = DocumentType.ORDER if kind == DocumentType.INVOICE else DocumentType.INVOICE
        assert await adapter.find_document("butiken/se/1001", other_kind) is None
        assert await adapter.find_document("BUTIKEN/SE/1001", kind) is None
    assert created == found
    assert created.booked is False and created.document_type == kind
    [simulated] = sim.documents_with_reference("butiken/se/1001")
    assert simulated.number == created.number
    assert simulated.customer_number == number
    assert simulated.gross == doc.totals.gross


async def test_document_totals_and_vat_match_the_document(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(
        number,
        row("KAFFE-500", "3", "89.00", "25", discount="12.5"),
        row("TE-100", "2", "45.00", "12"),
        row("BOK-01", "1", "199.00", "6"),
        row("fraktavg", "1", "49.00", "25", kind=LineKind.FREIGHT),
        row("rabatt-12", "1", "-4.50", "12", kind=LineKind.DISCOUNT),
        row("avrundning", "1", "0.37", "0", kind=LineKind.ROUNDING),
    )
    async with open_adapter() as adapter:
        await adapter.create_document(doc)
    [simulated] = sim.documents()
    totals = doc.totals
    assert (simulated.net, simulated.vat, simulated.gross) == (
        totals.net,
        totals.vat,
        totals.gross,
    )
    assert simulated.vat_by_rate == totals.vat_by_rate


async def test_booking_returns_the_booked_number(sim: EconomicSimulator, open_adapter: Any) -> None:
    number = str(sim.add_customer(name="Anna"))
    async with open_adapter() as adapter:
        ref = await adapter.create_document(document(number, book=True, reference="r-1"))
        found = await adapter.find_document("r-1", DocumentType.INVOICE)
    [simulated] = sim.documents()
    assert ref.booked and simulated.booked
    assert ref.number == simulated.number == "10001"
    assert found == ref
    assert sim.docs.draft_invoices == {}


async def test_booking_an_order_registers_it_as_sent(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, book=True, document_type=DocumentType.ORDER, reference="o-1")
    async with open_adapter() as adapter:
        ref = await adapter.create_document(doc)
        assert await adapter.find_document("o-1", DocumentType.ORDER) == ref
    assert ref.booked
    assert list(sim.docs.sent_orders) == [int(ref.number)]
    assert sim.docs.draft_orders == {}


async def test_an_order_upgraded_to_an_invoice_is_still_found(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    """A sent order moves to /orders/archived when it is upgraded to an invoice
    (reference/erp-apis.md §1.7, "an order in `sent` moves to `archived` when upgraded"); the
    lookup before a retry read only drafts and sent, so an order whose answer was lost and that
    a bookkeeper invoiced meanwhile was sent a second time."""
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, document_type=DocumentType.ORDER, reference="o-2")
    async with open_adapter() as adapter:
        ref = await adapter.create_document(doc)
        sim.order_event("o-2", OrderEvent.INVOICED)  # registered as sent, then archived
        assert sim.docs.draft_orders == {} and sim.docs.sent_orders == {}
        found = await adapter.find_document("o-2", DocumentType.ORDER)
    assert found is not None and found.number == ref.number and found.booked


async def test_create_sends_one_request_and_the_lookup_finds_it(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    # DESIGN §2.1: the engine records its intent before the call and looks the reference up
    # before any repeat, so the adapter's create is one POST (no lookup of its own) ...
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, reference="r-1")
    async with open_adapter() as adapter:
        await adapter.check_document(doc)  # reads the articles and the VAT chain (cached)
        before = len(sim.requests)
        first = await adapter.create_document(doc)
        sent = [(method, path.split("?")[0]) for method, path in sim.requests[before:]]
        # ... and find_document is what sees an earlier send: drafts, then booked
        found = await adapter.find_document("r-1", DocumentType.INVOICE)
        booked = await adapter.book_document(first)
        found_booked = await adapter.find_document("r-1", DocumentType.INVOICE)
    assert sent == [("POST", "/invoices/drafts")]
    assert found == first and not first.booked
    assert found_booked == booked and booked.booked
    assert len(sim.documents_with_reference("r-1")) == 1


async def test_fee_rows_use_the_article_for_their_vat_rate(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(
        number,
        row("TE-100", "1", "45.00", "12"),
        row("fraktavg", "1", "39.00", "12", kind=LineKind.FREIGHT),
        row("rabatt", "1", "-5.00", "6", kind=LineKind.DISCOUNT),
        row("expavg", "1", "19.00", "25", kind=LineKind.FEE),
    )
    async with open_adapter() as adapter:
        created = await adapter.create_document(doc)
    stored = sim.docs.draft_invoices[int(created.number)].body
    assert [line["product"]["productNumber"] for line in stored["lines"]] == [
        "TE-100",
        "fraktavg-12",
        "rabatt-6",
        "expavg",
    ]
    [simulated] = sim.documents()
    assert simulated.vat_by_rate == doc.totals.vat_by_rate


async def test_unknown_article_names_order_row_and_fix(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(
        number,
        row("KAFFE-500", "1", "89.00", "25"),
        row("KAFFE-999", "1", "89.00", "25"),
        shop_order_id="5551",
    )
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "Order 5551 row 2" in message
    assert "KAFFE-999" in message
    assert "create article KAFFE-999 in e-conomic" in message
    assert sim.documents() == []


async def test_article_created_later_is_found_by_its_self_link(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    odd = "Nyhet ö/1_2.5%"  # every character class of the self-link encoding
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row(odd, "1", "10.00", "25"))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError):
            await adapter.create_document(doc)  # loads the product cache without it
        sim.add_article(odd, "Nyhet", Decimal("10.00"), Decimal("25"))
        created = await adapter.create_document(doc)
    stored = sim.docs.draft_invoices[int(created.number)].body
    assert stored["lines"][0]["product"]["productNumber"] == odd


async def test_item_vat_mismatch_is_permanent(sim: EconomicSimulator, open_adapter: Any) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row("TE-100", "1", "45.00", "25"), shop_order_id="77")
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "Order 77 row 1" in message
    assert "12 % VAT in e-conomic" in message and "charged 25 %" in message
    assert "product group with 25 % VAT" in message


async def test_fee_vat_rate_without_an_article_names_the_article_to_add(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sim.remove_article("expavg-12")
    number = str(sim.add_customer(name="Anna"))
    doc = document(
        number,
        row("KAFFE-500", "1", "89.00", "25"),
        row("expavg", "1", "19.00", "12", kind=LineKind.FEE),
        shop_order_id="88",
    )
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "Order 88 row 2" in message
    assert "add article expavg-12 with a 12 % product group" in message


async def test_fee_rate_without_vat_articles_says_how_to_fix(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row("fraktavg", "1", "39.00", "12", kind=LineKind.FREIGHT))
    async with open_adapter(vat_articles=False) as adapter:
        with pytest.raises(PermanentError, match="vat_articles = true"):
            await adapter.create_document(doc)


async def test_missing_fee_article_is_permanent(sim: EconomicSimulator, open_adapter: Any) -> None:
    sim.remove_article("avrundning")
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row("avrundning", "1", "0.20", "0", kind=LineKind.ROUNDING))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"avrundning.*does not exist"):
            await adapter.create_document(doc)


async def test_unit_price_with_three_decimals_is_refused_before_posting(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row("KAFFE-500", "1", "89.125", "25"), shop_order_id="9")
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"Order 9 row 1.*two decimals"):
            await adapter.create_document(doc)


async def test_e_conomic_400_becomes_a_readable_permanent_error(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    doc = document("424242", shop_order_id="31")  # no such customer in e-conomic
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "order 31" in message
    assert "customer does not exist" in message and "E06000" in message


async def test_foreign_vat_zone_needs_vat_free_rows(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna", vatZone={"vatZoneNumber": 3}))
    async with open_adapter(vat_zone=3) as adapter:
        with pytest.raises(PermanentError, match="VAT-free"):
            await adapter.create_document(document(number))
        await adapter.create_document(document(number, row("KAFFE-500", "1", "89.00", "0")))
    [simulated] = sim.documents()
    assert simulated.vat == 0


# --- failures ------------------------------------------------------------------------------


async def test_commit_then_fail_is_found_on_recovery(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    sim.faults.add(
        Fault("commit_then_fail", methods=frozenset({"POST"}), path="^/invoices/drafts$", times=1)
    )
    doc = document(number, reference="crash/1")
    async with open_adapter() as adapter:
        with pytest.raises(TransientError):
            await adapter.create_document(doc)
        # the engine's recovery: the lookup by reference finds the committed draft, which
        # is then bound (never created again)
        found = await adapter.find_document("crash/1", DocumentType.INVOICE)
    assert sim.faults.fired == {"commit_then_fail": 1}
    [stored] = sim.documents_with_reference("crash/1")
    assert found is not None and found.number == str(stored.number)


async def test_booking_failure_is_completed_on_retry(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    sim.faults.add(Fault("status", path="^/invoices/booked$", methods=frozenset({"POST"}), times=1))
    doc = document(number, reference="book/1", book=True)
    async with open_adapter() as adapter:
        with pytest.raises(TransientError):
            await adapter.create_document(doc)
        # the engine's next attempt: the lookup finds the unbooked draft, which is booked
        draft = await adapter.find_document("book/1", DocumentType.INVOICE)
        assert draft is not None and not draft.booked
        ref = await adapter.book_document(draft)
    assert ref.booked
    assert [d.booked for d in sim.documents_with_reference("book/1")] == [True]


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        ({"kind": "status", "status": 503}, None),
        ({"kind": "rate_limit", "retry_after": 7}, 7.0),
        ({"kind": "timeout"}, None),
        ({"kind": "drop"}, None),
    ],
)
async def test_transport_failures_are_transient(
    sim: EconomicSimulator, open_adapter: Any, fault: dict[str, Any], retry_after: float | None
) -> None:
    sim.faults.add(Fault(**fault, times=1))
    async with open_adapter() as adapter:
        with pytest.raises(TransientError) as raised:
            await adapter.find_customer(customer(customer_number="1"), ALL_KEYS)
    assert raised.value.retry_after == retry_after


async def test_simulator_rate_limit_is_transient_with_retry_after(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sim.set_rate_limit((3, 10.0))
    async with open_adapter() as adapter:
        await adapter.find_document("nothing", DocumentType.INVOICE)  # requests 1 and 2
        with pytest.raises(TransientError) as raised:
            await adapter.find_document("nothing", DocumentType.INVOICE)  # 3 passes, 4 is 429
    assert raised.value.retry_after == 10.0


async def test_tokens_never_appear_in_errors(sim: EconomicSimulator, open_adapter: Any) -> None:
    secrets = (sim.app_secret_token, sim.agreement_grant_token)
    messages: list[str] = []
    async with open_adapter(app_secret_token="wrong-" + sim.app_secret_token) as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.find_customer(customer(customer_number="1"), ALL_KEYS)
        messages.append(str(raised.value))
        assert "401" in str(raised.value)
        assert sim.app_secret_token not in repr(adapter)
    async with open_adapter() as adapter:
        for fault in (Fault("status", times=1), Fault("timeout", times=1)):
            sim.faults.add(fault)
            with pytest.raises(TransientError) as transient:
                await adapter.find_document("x", DocumentType.INVOICE)
            messages.append(str(transient.value))
        with pytest.raises(PermanentError) as permanent:
            await adapter.create_document(document("999", reference=sim.agreement_grant_token))
        messages.append(str(permanent.value))
        with pytest.raises(PermanentError) as unknown:
            await adapter.create_document(document("999", row("NOPE", "1", "1.00", "25")))
        messages.append(str(unknown.value))
        echoed = httpx.Response(
            400,
            json={
                "message": f"Validation error for {secrets[1]}.",
                "errors": {"name": {"errors": [{"errorCode": "E1", "value": secrets[0]}]}},
            },
        )
        messages.append(str(adapter.api.fail(echoed, "a test")))
    assert len(messages) == 6
    assert "***" in messages[-1]
    for message in messages:
        for secret in secrets:
            assert secret not in message
