"""The engine records a handler's intent with the claim and withdraws it when nothing was sent."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from brygga.clock import FakeClock
from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.store import Binding, Discovered, Outcome, Store, WorkItem
from brygga.sync.engine import Engine, before_send

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Sender:
    """A handler that fails with ``before`` inside before_send, or with ``after`` after its
    (pretend) write; it records what each claim handed it."""

    before: BryggaError | None = None
    after: BryggaError | None = None
    register: str = "things"
    binds: str = "things"
    seen: list[WorkItem] = field(default_factory=list)

    def intent(self, item: WorkItem) -> str:
        return f"ref-{item.external_id}"

    def in_doubt(self, item: WorkItem, error: TransientError, now: datetime) -> Outcome:
        return Outcome(state="reconcile", error=str(error), next_attempt=now, doubt_until=now)

    async def handle(self, item: WorkItem) -> Outcome:
        self.seen.append(item)
        with before_send():
            if self.before is not None:
                raise self.before
        if self.after is not None:
            raise self.after
        return Outcome(state="done", result=item.bound or "new")


async def _one(store: Store, handler: Sender, external_id: str = "1") -> WorkItem:
    await store.items.enqueue_many(
        connection="c",
        register="things",
        instance="shop",
        records=[Discovered(external_id, True)],
        now=NOW,
    )
    engine = Engine(
        connection="c",
        store=store,
        clock=FakeClock(NOW),
        run_id="r",
        handlers={"things": handler},
        rng=random.Random(0),
    )
    item = await engine.claim("things")
    assert item is not None
    stored = await store.items.get(item.id)
    assert stored is not None and stored.reference == f"ref-{external_id}"  # with the claim
    await engine.process(item)
    after = await store.items.get(item.id)
    assert after is not None
    return after


async def test_an_error_before_the_send_withdraws_the_intent(store: Store) -> None:
    item = await _one(store, Sender(before=PermanentError("order 1: unknown article X")))
    assert (item.state.value, item.reference) == ("failed", "")


async def test_a_transient_error_before_the_send_withdraws_it_too(store: Store) -> None:
    item = await _one(store, Sender(before=TransientError("503 on the customer lookup")))
    assert (item.state.value, item.reference) == ("retry", "")


async def test_an_error_after_the_send_keeps_the_intent(store: Store) -> None:
    item = await _one(store, Sender(after=PermanentError("refused after the send")))
    assert (item.state.value, item.reference) == ("failed", "ref-1")


async def test_a_write_in_doubt_before_the_send_keeps_the_intent(store: Store) -> None:
    doubt = TransientError("timed out creating the customer", in_doubt=True)
    item = await _one(store, Sender(before=doubt))
    assert (item.state.value, item.reference) == ("reconcile", "ref-1")


async def test_the_handler_gets_the_binding_from_the_claim(store: Store) -> None:
    await store.bindings.bind("c", Binding("things", "shop", "7", "erp", "D7"), NOW)
    handler = Sender()
    item = await _one(store, handler, "7")
    assert handler.seen[0].bound == "D7"
    assert (item.state.value, item.result) == ("done", "D7")
