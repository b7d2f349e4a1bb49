"""The e-conomic adapter as a StatusSource against its simulator: invoiced, paid, cancelled.

Vendor facts followed are from e-conomic/slate ``source/includes/_invoices.md`` (draft and
booked invoices, DELETE /invoices/drafts/{n}, booking moves a draft), ``_orders.md`` (drafts,
sent, archived = "first registered as sent and then upgraded to invoice draft", sent can go
back to drafts) and ``_introduction.md`` (filtering: ``$in:`` on numeric properties at most
200 values, ``$or:`` chains, strings compare case-insensitively); reference/erp-apis.md §1.6.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from economic_support import document, economic_config

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga.testing import Fault
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

INVOICED = frozenset({OrderEvent.INVOICED})
PAID = frozenset({OrderEvent.INVOICED, OrderEvent.PAID})
CANCELLED = frozenset({OrderEvent.CANCELLED})


class Recorder:
    """An ASGI wrapper in front of the simulator: records every request with its query and
    runs a ``before`` hook when a request arrives, before the simulator handles it (what a
    person does in e-conomic while the adapter is between two reads)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, dict[str, list[str]]]] = []
        self.before: list[tuple[str, str, Callable[[], None]]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = parse_qs(scope["query_string"].decode())
            self.seen.append((scope["method"], scope["path"], query))
            for hook in list(self.before):
                method, path, action = hook
                if (scope["method"], scope["path"]) == (method, path):
                    self.before.remove(hook)
                    action()
        await self.app(scope, receive, send)

    def filters(self, path: str) -> list[str]:
        return [q["filter"][0] for m, p, q in self.seen if m == "GET" and p == path]


@pytest.fixture
def recorder(sim: EconomicSimulator) -> Recorder:
    return Recorder(sim.app)


@pytest.fixture
def adapter_on(sim: EconomicSimulator, clock: FakeClock) -> Callable[..., Any]:
    """``async with adapter_on(app)``: an adapter on ``app`` (the simulator behind a wrapper)."""

    @asynccontextmanager
    async def opened(app: Any) -> AsyncIterator[EconomicAdapter]:
        context = AdapterContext(
            connection="test",
            instance="economic",
            http=HttpContext(
                transport=httpx.ASGITransport(app=app),
                clock=clock,
                limiters=RateLimiterRegistry(clock),
            ),
        )
        adapter = EconomicAdapter(economic_config(sim), context)
        try:
            yield adapter
        finally:
            await adapter.aclose()

    return opened


async def _create(
    adapter: EconomicAdapter,
    customer: int,
    reference: str,
    kind: DocumentType = DocumentType.INVOICE,
    *,
    book: bool = False,
) -> DocumentRef:
    return await adapter.create_document(
        document(str(customer), reference=reference, document_type=kind, book=book)
    )


def _state(
    reference: str, number: str, booked: bool, events: frozenset[OrderEvent] = frozenset()
) -> DocumentState:
    return DocumentState(reference=reference, number=number, booked=booked, events=events)


# --- invoices ------------------------------------------------------------------------------


async def test_a_draft_booked_by_hand_is_invoiced_under_its_booked_number(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """A draft's number is not the final number (_invoices.md: POST /invoices/booked books a
    draft and returns the booked invoice): the state carries the booked number."""
    async with open_adapter() as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1")
        before = await adapter.document_states([draft])
        sim.order_event("shop/se/1", OrderEvent.INVOICED)
        after = await adapter.document_states([draft])
    assert before == [_state("shop/se/1", draft.number, False)]
    [booked] = sim.documents_with_reference("shop/se/1")
    assert booked.booked and booked.number != draft.number
    assert after == [_state("shop/se/1", booked.number, True, INVOICED)]


async def test_a_paid_invoice_is_invoiced_and_paid(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """A booked invoice's ``remainder`` 0 means paid in full (reference/erp-apis.md §1.6);
    an unpaid one is only invoiced."""
    async with open_adapter() as adapter:
        unpaid = await _create(adapter, customer_one, "shop/se/1")
        paid = await _create(adapter, customer_one, "shop/se/2")
        sim.order_event("shop/se/1", OrderEvent.INVOICED)
        sim.order_event("shop/se/2", OrderEvent.PAID)  # booked first, then paid
        states = await adapter.document_states([unpaid, paid])
    assert [(s.reference, s.booked, s.events) for s in states] == [
        ("shop/se/1", True, INVOICED),
        ("shop/se/2", True, PAID),
    ]


async def test_a_deleted_draft_is_cancelled(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """A draft can be deleted (_invoices.md: DELETE /invoices/drafts/:draftInvoiceNumber)
    and is then neither a draft nor booked: cancelled, under its draft number."""
    async with open_adapter() as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1")
        kept = await _create(adapter, customer_one, "shop/se/2")
        sim.order_event("shop/se/1", OrderEvent.CANCELLED)
        states = await adapter.document_states([draft, kept])
    assert states == [
        _state("shop/se/1", draft.number, False, CANCELLED),
        _state("shop/se/2", kept.number, False),
    ]


async def test_a_booked_invoice_ref_is_read_by_its_booked_number(
    sim: EconomicSimulator, recorder: Recorder, adapter_on: Any, customer_one: int
) -> None:
    """A ref brygga booked carries the booked number: one
    ``bookedInvoiceNumber$in:[…]`` read (_introduction.md: $in: on numeric properties), no
    draft read; paid once the remainder is 0."""
    async with adapter_on(recorder) as adapter:
        booked = await _create(adapter, customer_one, "shop/se/1", book=True)
        first = await adapter.document_states([booked])
        sim.order_event("shop/se/1", OrderEvent.PAID)
        recorder.seen.clear()
        second = await adapter.document_states([booked])
    assert booked.booked
    assert first == [_state("shop/se/1", booked.number, True, INVOICED)]
    assert second == [_state("shop/se/1", booked.number, True, PAID)]
    assert [(m, p) for m, p, _ in recorder.seen] == [("GET", "/invoices/booked")]
    assert recorder.filters("/invoices/booked") == [f"bookedInvoiceNumber$in:[{booked.number}]"]


async def test_a_booked_invoice_is_never_cancelled(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """A booked invoice cannot be deleted (_invoices.md documents DELETE for drafts only):
    one the booked list does not show is left out (asked again later), never cancelled."""
    async with open_adapter() as adapter:
        booked = await _create(adapter, customer_one, "shop/se/1", book=True)
        sim.docs.booked_invoices.clear()  # a hostile answer: the invoice is not listed
        states = await adapter.document_states([booked])
    assert states == []


async def test_a_draft_booked_between_the_two_reads_is_invoiced_not_cancelled(
    sim: EconomicSimulator, recorder: Recorder, adapter_on: Any, customer_one: int
) -> None:
    """Drafts are read before booked invoices (booking moves a draft, _invoices.md): a draft
    booked just as the drafts are read is then found among the booked. Read the other way
    round it would be in neither list and taken as deleted."""
    async with adapter_on(recorder) as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1")
        recorder.before.append(
            ("GET", "/invoices/drafts", lambda: sim.order_event("shop/se/1", OrderEvent.INVOICED))
        )
        states = await adapter.document_states([draft])
    assert not recorder.before  # the hook ran
    [booked] = sim.documents_with_reference("shop/se/1")
    assert states == [_state("shop/se/1", booked.number, True, INVOICED)]


async def test_references_are_compared_exactly(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """Filtering on strings is case-insensitive (_introduction.md), so the booked search for
    a deleted draft's reference also answers a near-duplicate; it is not ours."""
    async with open_adapter() as adapter:
        ours = await _create(adapter, customer_one, "shop/se/1")
        await _create(adapter, customer_one, "SHOP/SE/1", book=True)
        sim.order_event("shop/se/1", OrderEvent.CANCELLED)
        states = await adapter.document_states([ours])
    assert states == [_state("shop/se/1", ours.number, False, CANCELLED)]


async def test_a_draft_number_that_now_has_another_reference_is_left_open(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """Our draft number on a draft with another reference (a reused number, or an edited
    reference) is no proof that ours was deleted: left out, neither draft nor cancelled."""
    async with open_adapter() as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1")
        sim.docs.draft_invoices[int(draft.number)].body["references"]["other"] = "edited"
        states = await adapter.document_states([draft])
    assert states == []


async def test_a_number_that_is_no_economic_number_is_left_out(open_adapter: Any) -> None:
    refs = [
        DocumentRef(document_type=DocumentType.INVOICE, number="", reference="a"),
        DocumentRef(document_type=DocumentType.ORDER, number="A-1", reference="b"),
    ]
    async with open_adapter() as adapter:
        assert await adapter.document_states(refs) == []


# --- orders --------------------------------------------------------------------------------


async def test_an_order_goes_draft_sent_archived_as_invoiced(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """Orders are drafts, sent or archived (_orders.md); an archived order was upgraded to
    an invoice draft: invoiced. Draft and sent orders carry no event yet."""
    async with open_adapter() as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1", DocumentType.ORDER)
        sent = await adapter.book_document(
            await _create(adapter, customer_one, "shop/se/2", DocumentType.ORDER)
        )
        before = await adapter.document_states([draft, sent])
        sim.order_event("shop/se/1", OrderEvent.INVOICED)
        sim.order_event("shop/se/2", OrderEvent.INVOICED)
        after = await adapter.document_states([draft, sent])
    assert before == [
        _state("shop/se/1", draft.number, False),
        _state("shop/se/2", sent.number, True),
    ]
    assert after == [
        _state("shop/se/1", draft.number, True, INVOICED),
        _state("shop/se/2", sent.number, True, INVOICED),
    ]
    assert sorted(sim.docs.archived_orders) == sorted([int(draft.number), int(sent.number)])


async def test_a_deleted_order_is_cancelled(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    """Draft and sent orders can be deleted (_orders.md: DELETE /orders/drafts|sent/{n});
    one found in none of drafts, sent and archived is cancelled."""
    async with open_adapter() as adapter:
        draft = await _create(adapter, customer_one, "shop/se/1", DocumentType.ORDER)
        sent = await adapter.book_document(
            await _create(adapter, customer_one, "shop/se/2", DocumentType.ORDER)
        )
        sim.order_event("shop/se/1", OrderEvent.CANCELLED)
        sim.order_event("shop/se/2", OrderEvent.CANCELLED)
        states = await adapter.document_states([draft, sent])
    assert [(s.reference, s.events) for s in states] == [
        ("shop/se/1", CANCELLED),
        ("shop/se/2", CANCELLED),
    ]


async def test_a_sent_order_moved_back_to_drafts_between_reads_is_not_cancelled(
    sim: EconomicSimulator, recorder: Recorder, adapter_on: Any, customer_one: int
) -> None:
    """A sent order's status can be cancelled by POSTing it back to drafts (_orders.md).
    Moved back just after the drafts read (as sent is read), it is in none of the three
    lists; the adapter asks drafts once more before it says cancelled."""
    async with adapter_on(recorder) as adapter:
        sent = await adapter.book_document(
            await _create(adapter, customer_one, "shop/se/1", DocumentType.ORDER)
        )

        def move_back() -> None:
            order = sim.docs.sent_orders.pop(int(sent.number))
            order.kind = "draft_order"
            sim.docs.draft_orders[order.number] = order

        recorder.before.append(("GET", "/orders/sent", move_back))
        recorder.seen.clear()
        states = await adapter.document_states([sent])
    assert states == [_state("shop/se/1", sent.number, False)]
    assert [p for _, p, _ in recorder.seen] == [
        "/orders/drafts",
        "/orders/sent",
        "/orders/archived",
        "/orders/drafts",
    ]
    assert recorder.filters("/orders/archived") == [f"orderNumber$in:[{sent.number}]"]


# --- batches -------------------------------------------------------------------------------


async def test_a_batch_of_fifty_takes_a_few_requests(
    sim: EconomicSimulator, recorder: Recorder, adapter_on: Any, customer_one: int
) -> None:
    """The engine asks up to 50 documents at a time: all drafts in one ``$in:`` read (at
    most 200 values, _introduction.md), the booked ones by reference in ``$or:`` chains of
    at most 20, and booked refs in one ``$in:`` read."""
    async with adapter_on(recorder) as adapter:
        drafts = [await _create(adapter, customer_one, f"shop/se/{n}") for n in range(40)]
        booked = [
            await _create(adapter, customer_one, f"shop/se/b{n}", book=True) for n in range(10)
        ]
        for n in range(0, 40, 2):
            sim.order_event(f"shop/se/{n}", OrderEvent.INVOICED)
        sim.order_event("shop/se/1", OrderEvent.CANCELLED)
        sim.order_event("shop/se/b3", OrderEvent.PAID)
        recorder.seen.clear()
        states = await adapter.document_states([*drafts, *booked])
    assert [s.reference for s in states] == [d.reference for d in [*drafts, *booked]]
    events = {s.reference: s.events for s in states}
    assert events["shop/se/0"] == INVOICED and events["shop/se/3"] == frozenset()
    assert events["shop/se/1"] == CANCELLED and events["shop/se/b3"] == PAID
    assert sum(1 for e in events.values() if e == INVOICED) == 20 + 9
    # 1 drafts read; 21 references (20 booked + 1 deleted) in 2 chains; 1 booked-number read
    assert [p for _, p, _ in recorder.seen] == [
        "/invoices/drafts",
        "/invoices/booked",
        "/invoices/booked",
        "/invoices/booked",
    ]
    numbers = ",".join(str(n) for n in sorted(int(d.number) for d in drafts))
    assert recorder.filters("/invoices/drafts") == [f"draftInvoiceNumber$in:[{numbers}]"]
    chains = recorder.filters("/invoices/booked")[:2]
    assert [c.count("references.other$eq:") for c in chains] == [20, 1]


async def test_long_references_are_split_to_keep_urls_short(
    sim: EconomicSimulator, recorder: Recorder, adapter_on: Any, customer_one: int
) -> None:
    """references.other holds up to 250 characters (reference/erp-apis.md §1.6): long ones
    are asked for in shorter chains, and every one is still found."""
    refs = [f"{n:03d}/" + "x" * 240 for n in range(6)]
    async with adapter_on(recorder) as adapter:
        drafts = [await _create(adapter, customer_one, ref) for ref in refs]
        for ref in refs:
            sim.order_event(ref, OrderEvent.INVOICED)
        recorder.seen.clear()
        states = await adapter.document_states(drafts)
    assert [(s.reference, s.events) for s in states] == [(ref, INVOICED) for ref in refs]
    chains = recorder.filters("/invoices/booked")
    assert len(chains) > 1 and all(len(chain) < 2000 for chain in chains)


async def test_invoices_and_orders_in_one_batch_keep_their_order(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    async with open_adapter() as adapter:
        order = await _create(adapter, customer_one, "shop/se/1", DocumentType.ORDER)
        invoice = await _create(adapter, customer_one, "shop/se/2")
        sim.order_event("shop/se/2", OrderEvent.PAID)
        states = await adapter.document_states([order, invoice])
    assert [(s.reference, s.events) for s in states] == [
        ("shop/se/1", frozenset()),
        ("shop/se/2", PAID),
    ]


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (DocumentType.INVOICE, "^/invoices/drafts$"),
        (DocumentType.INVOICE, "^/invoices/booked$"),
        (DocumentType.ORDER, "^/orders/archived$"),
    ],
)
async def test_a_server_error_is_transient_and_reports_nothing(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int, kind: DocumentType, path: str
) -> None:
    """A 5xx (_introduction.md: 500 "try again") means the ERP cannot be read: TransientError,
    never a guess such as cancelled."""
    async with open_adapter() as adapter:
        ref = await _create(adapter, customer_one, "shop/se/1", kind)
        sim.order_event("shop/se/1", OrderEvent.CANCELLED)
        sim.faults.add(Fault("status", status=503, path=path, methods=frozenset({"GET"})))
        with pytest.raises(TransientError):
            await adapter.document_states([ref])
    assert sim.faults.fired == {"status": 1}
