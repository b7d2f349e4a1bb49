"""Batches (a page of records, several claims or outcomes) and claim-time intents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brygga.store import Binding, Discovered, ItemState, Outcome, Store, WorkItem

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _page(store: Store, *records: Discovered) -> int:
    return await store.items.enqueue_many(
        connection="c", register="orders", instance="se", records=records, now=NOW
    )


async def test_enqueue_many_counts_created_and_promoted_only(store: Store) -> None:
    seen = NOW - timedelta(hours=1)
    assert await _page(store, Discovered("1", True, seen, b"p"), Discovered("2", False)) == 2
    # 1 again (unchanged), 2 now ready (promoted), 3 new
    assert (
        await _page(store, Discovered("1", True), Discovered("2", True), Discovered("3", False))
        == 2
    )
    assert await _page(store, Discovered("3", False)) == 0
    assert await _page(store) == 0
    items = {i.external_id: i for i in await store.items.query()}
    assert {k: i.state for k, i in items.items()} == {
        "1": ItemState.NEW,
        "2": ItemState.NEW,
        "3": ItemState.WAITING,
    }
    assert items["1"].payload == b"p"
    assert items["1"].source_time == "2026-05-01T11:00:00.000000Z"


async def test_enqueue_many_leaves_final_items_alone(store: Store) -> None:
    await _page(store, Discovered("1", True))
    item = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
    assert item is not None
    await store.items.apply(item, Outcome(state="done"), NOW)
    assert await _page(store, Discovered("1", True)) == 0
    done = await store.items.get(item.id)
    assert done is not None and done.state is ItemState.DONE


async def test_a_failing_page_records_nothing(store: Store) -> None:
    with pytest.raises(AttributeError):
        await _page(store, Discovered("1", True), "not a record")  # type: ignore[arg-type]
    assert await store.items.query() == []


async def test_claim_many_takes_due_items_oldest_first_each_with_an_attempt(store: Store) -> None:
    await _page(store, *(Discovered(str(n), True) for n in range(5)))
    await store.items.finish(
        (await store.items.query())[0].id, ItemState.RETRY, NOW, next_attempt=NOW + timedelta(1)
    )
    claimed = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=3
    )
    assert [i.external_id for i in claimed] == ["1", "2", "3"]
    assert all(i.state is ItemState.SENDING and i.run_id == "r" for i in claimed)
    for item in claimed:
        assert [row["outcome"] for row in await store.items.attempts(item.id)] == ["running"]
    rest = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=10
    )
    assert [i.external_id for i in rest] == ["4"]
    assert (
        await store.items.claim_many(
            connection="c", register="orders", now=NOW, run_id="r", limit=5
        )
        == []
    )


async def test_apply_many_applies_every_outcome_or_none(store: Store) -> None:
    await _page(store, *(Discovered(str(n), True) for n in range(3)))
    a, b, c = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=3
    )
    await store.items.apply_many(
        [
            (a, Outcome(state="done", result="D0", bind=Binding("orders", "se", "0", "e", "D0"))),
            (b, Outcome(state="failed", error="no", events=(("failed", "no"),))),
        ],
        NOW,
    )
    assert (await store.items.get(a.id)).state is ItemState.DONE  # type: ignore[union-attr]
    assert (await store.items.get(b.id)).state is ItemState.FAILED  # type: ignore[union-attr]
    assert [e.kind for e in await store.events.for_record("c", "orders", "se", "1")] == ["failed"]
    # the second binding clashes with the first: nothing of the batch is applied
    with pytest.raises(Exception, match="UNIQUE"):
        await store.items.apply_many(
            [
                (c, Outcome(state="done")),
                (c, Outcome(state="done", bind=Binding("orders", "se", "2", "e", "D0"))),
            ],
            NOW,
        )
    assert (await store.items.get(c.id)).state is ItemState.SENDING  # type: ignore[union-attr]


async def test_claim_records_the_intent_and_shows_the_reference_from_before(store: Store) -> None:
    await _page(store, Discovered("1", True))
    seen: list[WorkItem] = []

    def intent(item: WorkItem) -> str:
        seen.append(item)
        return f"brygga-{item.external_id}"

    first = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="r", intent=intent
    )
    assert first is not None
    assert (first.reference, first.intent) == ("", "brygga-1")  # no earlier attempt's intent
    assert seen[0].state is ItemState.SENDING and seen[0].reference == ""
    stored = await store.items.get(first.id)
    assert stored is not None and stored.reference == "brygga-1" and stored.intent == ""
    await store.items.apply(first, Outcome(state="retry", error="503"), NOW)
    again = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="r", intent=intent
    )
    assert again is not None
    assert (again.reference, again.intent) == ("brygga-1", "brygga-1")  # an earlier intent


async def test_an_empty_intent_records_nothing(store: Store) -> None:
    await _page(store, Discovered("1", False))
    item = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="r", intent=lambda i: ""
    )
    assert item is not None and item.state is ItemState.WAITING and item.intent == ""
    assert (await store.items.get(item.id)).reference == ""  # type: ignore[union-attr]


async def test_a_revisit_withdraws_the_intent_its_claim_recorded(store: Store) -> None:
    await _page(store, Discovered("1", True))
    item = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="r", intent=lambda i: "ref-1"
    )
    assert item is not None
    await store.items.apply(item, Outcome(state="waiting", revisit=True), NOW)
    stored = await store.items.get(item.id)
    assert stored is not None and stored.reference == "" and stored.attempts == 0
    # an intent an earlier attempt recorded stays through a revisit (the write may land)
    await store.db.execute("UPDATE work_items SET reference = 'ref-1' WHERE id = ?", (item.id,))
    again = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="r", intent=lambda i: "ref-1"
    )
    assert again is not None and again.reference == "ref-1"
    await store.items.apply(again, Outcome(state="reconcile", revisit=True), NOW)
    assert (await store.items.get(item.id)).reference == "ref-1"  # type: ignore[union-attr]


async def test_an_outcome_that_sent_nothing_withdraws_the_claims_intent(store: Store) -> None:
    await _page(store, Discovered("1", True), Discovered("2", True))
    one, two = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=2, intent=lambda i: "ref"
    )
    await store.items.apply_many(
        [
            (one, Outcome(state="failed", error="unknown article", withdraw_intent=True)),
            (two, Outcome(state="failed", error="refused after the send")),
        ],
        NOW,
    )
    assert (await store.items.get(one.id)).reference == ""  # type: ignore[union-attr]
    assert (await store.items.get(two.id)).reference == "ref"  # type: ignore[union-attr]


async def test_a_claim_reads_the_records_binding(store: Store) -> None:
    await _page(store, Discovered("1", True), Discovered("2", True))
    await store.bindings.bind("c", Binding("orders", "se", "1", "e", "D1"), NOW)
    await store.bindings.bind("c", Binding("orders", "no", "2", "e", "D9"), NOW)  # another shop
    claimed = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=2, binds="orders"
    )
    assert {i.external_id: i.bound for i in claimed} == {"1": "D1", "2": ""}
    await _page(store, Discovered("3", True))
    await store.bindings.bind("c", Binding("orders", "se", "3", "e", "D3"), NOW)
    plain = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
    assert plain is not None and plain.bound == ""  # only read when asked for


async def test_apply_and_claim_finishes_one_and_takes_the_next_in_one_transaction(
    store: Store,
) -> None:
    await _page(store, Discovered("1", True), Discovered("2", True))
    first = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
    assert first is not None
    [second] = await store.items.apply_and_claim(
        [(first, Outcome(state="done", result="D1"))],
        NOW,
        connection="c",
        register="orders",
        run_id="r",
        limit=1,
    )
    assert second.external_id == "2" and second.state is ItemState.SENDING
    assert (await store.items.get(first.id)).state is ItemState.DONE  # type: ignore[union-attr]
    none = await store.items.apply_and_claim(
        [(second, Outcome(state="done"))],
        NOW,
        connection="c",
        register="orders",
        run_id="r",
        limit=0,
    )
    assert none == []
    assert (await store.items.get(second.id)).state is ItemState.DONE  # type: ignore[union-attr]
