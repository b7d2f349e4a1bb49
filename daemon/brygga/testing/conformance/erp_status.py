"""The ERP battery's order-status checks: what ``document_states`` reports after ERP events.

The checks create their documents as the other ERP checks do (:func:`~brygga.testing.
conformance.erp.kit_document`, then ``create_document``), make events happen through the
simulator's ``order_event(reference, event)`` (:class:`~brygga.testing.simulators.
StatusErpSimulator`) and read the states back with the ``DocumentRef`` ``create_document``
returned, as the status flow does. An adapter that does not implement
:class:`~brygga.registers.StatusSource`, or a simulator without ``order_event``, makes every
check raise :class:`~brygga.testing.conformance.harness.NotSupported`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brygga.adapters import ErpAdapter
from brygga.models import EVENT_RANK, DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga.registers import StatusSource
from brygga.testing.conformance.common import FaultKind, expect_transient_fault
from brygga.testing.conformance.erp import kit_document
from brygga.testing.conformance.harness import NotSupported
from brygga.testing.simulators import ErpSimulator

__all__ = [
    "ACTED_EVENTS",
    "check_many_states",
    "check_status_event",
    "check_status_fault",
    "check_unchanged_document",
    "order_event_of",
    "status_source",
]

#: events only a person in the ERP makes happen: a document nobody touched has none of them
ACTED_EVENTS = frozenset(
    {
        OrderEvent.PARTIALLY_DELIVERED,
        OrderEvent.DELIVERED,
        OrderEvent.PAID,
        OrderEvent.CANCELLED,
    }
)

OrderEventHook = Callable[[str, OrderEvent], None]


def status_source(adapter: ErpAdapter) -> StatusSource:
    """``adapter`` as a StatusSource, or NotSupported naming what it lacks."""
    if not isinstance(adapter, StatusSource):
        raise NotSupported(
            f"{type(adapter).__name__} does not implement brygga.registers.StatusSource "
            "(document_states), so it reports no order statuses"
        )
    return adapter


def order_event_of(sim: ErpSimulator) -> OrderEventHook:
    """The simulator's ``order_event(reference, event)``, or NotSupported."""
    hook: Any = getattr(sim, "order_event", None)
    if not callable(hook):
        raise NotSupported(
            f"the {type(sim).__name__} simulator has no order_event(reference, event) hook "
            "(brygga.testing.simulators.StatusErpSimulator), so the kit cannot move its "
            "documents along"
        )
    return hook  # type: ignore[no-any-return]


def _code(event: OrderEvent) -> str:
    return f"S{EVENT_RANK[event]}"


async def _create(
    sim: ErpSimulator, adapter: ErpAdapter, shop_order_id: str, document_type: DocumentType
) -> DocumentRef:
    document = await kit_document(sim, adapter, shop_order_id, document_type)
    ref = await adapter.create_document(document)
    assert isinstance(ref, DocumentRef) and ref.reference == document.reference, (
        f"create_document({document.reference!r}) returned {ref!r}"
    )
    return ref


def _make_happen(sim: ErpSimulator, ref: DocumentRef, event: OrderEvent) -> None:
    try:
        order_event_of(sim)(ref.reference, event)
    except ValueError as exc:
        raise AssertionError(
            f"the capabilities' status_events include {event.value}, but the simulator cannot "
            f"make it happen to {ref.document_type.value} {ref.number} ({exc}); make the "
            "simulator do what a person in the ERP does, or drop the event from status_events "
            "(or pick another document type for it in the conformance class)"
        ) from exc


def _states_by_reference(
    states: object, asked: Sequence[DocumentRef], what: str
) -> dict[str, DocumentState]:
    """The states of a ``document_states`` answer by reference, after checking that each is
    a DocumentState for a document asked about, at most once."""
    assert isinstance(states, list), f"{what} returned a {type(states).__name__}, not a list"
    wanted = {ref.reference for ref in asked}
    found: dict[str, DocumentState] = {}
    for state in states:
        assert isinstance(state, DocumentState), f"{what} returned a {type(state).__name__}"
        assert state.reference in wanted, (
            f"{what} reported reference {state.reference!r}, which nobody asked about"
        )
        assert state.reference not in found, (
            f"{what} reported reference {state.reference!r} more than once"
        )
        assert state.number, f"{what}: the state of {state.reference!r} has no number"
        found[state.reference] = state
    return found


def _fresh_events(ref: DocumentRef) -> frozenset[OrderEvent]:
    """What a document nobody touched may report: transferred, and invoiced for an invoice
    created booked."""
    events = {OrderEvent.TRANSFERRED}
    if ref.booked and ref.document_type is DocumentType.INVOICE:
        events.add(OrderEvent.INVOICED)
    return frozenset(events)


def _assert_untouched(state: DocumentState | None, ref: DocumentRef, what: str) -> None:
    if state is None:
        return
    extra = sorted(e.value for e in state.events - _fresh_events(ref))
    assert not extra, (
        f"{what}: {ref.document_type.value} {ref.number} ({ref.reference!r}), which nobody "
        f"touched in the ERP, is reported {extra}"
    )


async def check_status_event(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    event: OrderEvent,
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """After ``sim.order_event(reference, event)`` on a new document, ``document_states``
    (asked with the ref ``create_document`` returned) reports that reference once, with
    ``event`` among its events."""
    source = status_source(adapter)
    order_event_of(sim)
    ref = await _create(sim, adapter, f"K{_code(event)}01", document_type)
    _make_happen(sim, ref, event)
    what = f"document_states after {event.value} of {document_type.value} {ref.number}"
    found = _states_by_reference(await source.document_states([ref]), [ref], what)
    state = found.get(ref.reference)
    assert state is not None, f"{what} left out {ref.reference!r}: the ERP knows what happened"
    assert event in state.events, (
        f"{what}: reported events {sorted(e.value for e in state.events)}, without {event.value}"
    )


async def check_unchanged_document(
    sim: ErpSimulator, adapter: ErpAdapter, document_type: DocumentType = DocumentType.INVOICE
) -> None:
    """A document nobody touched in the ERP is left out or reported without events a
    person makes happen (paid, delivered, cancelled …; invoiced unless created booked),
    and the same again when asked twice."""
    source = status_source(adapter)
    ref = await _create(sim, adapter, "KS901", document_type)
    what = f"document_states of new {document_type.value} {ref.number}"
    first = _states_by_reference(await source.document_states([ref]), [ref], what).get(
        ref.reference
    )
    _assert_untouched(first, ref, what)
    second = _states_by_reference(await source.document_states([ref]), [ref], what).get(
        ref.reference
    )
    _assert_untouched(second, ref, f"{what}, asked again")
    if first is not None and second is not None:
        assert second.events == first.events, (
            f"{what}: asked twice with nothing changed, it reported "
            f"{sorted(e.value for e in first.events)} then "
            f"{sorted(e.value for e in second.events)}"
        )


async def check_many_states(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    events: Sequence[OrderEvent],
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """One ``document_states`` call for several documents (one per event in ``events``,
    each moved along by its event, and two nobody touched) reports each moved document
    once with its event, leaves the untouched ones out or without events, and reports
    nothing it was not asked about."""
    source = status_source(adapter)
    order_event_of(sim)
    assert events, "check_many_states needs at least one event the adapter reports"
    tag = f"KM{document_type.value[:1].upper()}"
    moved: list[tuple[DocumentRef, OrderEvent]] = []
    untouched = [await _create(sim, adapter, f"{tag}01", document_type)]
    for index, event in enumerate(events):
        moved.append((await _create(sim, adapter, f"{tag}1{index}", document_type), event))
    untouched.append(await _create(sim, adapter, f"{tag}02", document_type))
    for ref, event in moved:
        _make_happen(sim, ref, event)
    asked = [untouched[0], *(ref for ref, _ in moved), untouched[1]]
    what = f"document_states of {len(asked)} {document_type.value} documents in one call"
    found = _states_by_reference(await source.document_states(asked), asked, what)
    for ref, event in moved:
        state = found.get(ref.reference)
        assert state is not None, (
            f"{what} left out {ref.reference!r}, which had {event.value} in the ERP"
        )
        assert event in state.events, (
            f"{what}: {ref.reference!r} had {event.value} but is reported "
            f"{sorted(e.value for e in state.events)}"
        )
    for ref in untouched:
        _assert_untouched(found.get(ref.reference), ref, what)


async def check_status_fault(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    kind: FaultKind = "status",
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """A 5xx (``status``; or another transient ``kind``) while reading states is a
    TransientError, and the same call works once the fault is gone."""
    source = status_source(adapter)
    ref = await _create(sim, adapter, "KS904", document_type)
    await source.document_states([ref])  # signed in and warmed up
    await expect_transient_fault(
        sim.faults, kind, lambda: source.document_states([ref]), "document_states"
    )
    found = _states_by_reference(
        await source.document_states([ref]), [ref], "document_states after the fault"
    )
    _assert_untouched(found.get(ref.reference), ref, "document_states after the fault")
