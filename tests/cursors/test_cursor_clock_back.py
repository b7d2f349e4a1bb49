"""A poll that finds its cursor ahead of the clock also brings back the work recorded then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brygga.store import Store
from brygga.sync.feed_cursor import FeedWindow

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_cursor_ahead_of_the_clock_makes_the_work_of_the_jump_due(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ahead = T0 + timedelta(hours=1)
    async with await Store.open(tmp_path / "state.db") as store:
        await store.cursors.set("c", "se", "orders", ahead.isoformat(), ahead)
        for oid in ("1", "2"):
            await store.items.enqueue(
                connection="c", register="orders", instance="se", external_id=oid,
                now=ahead, ready=True,
            )  # fmt: skip
        now = T0 + timedelta(seconds=90)
        window = await FeedWindow.open(store, "c", "se", "orders", now=now, overlap=60.0, first=now)
        assert window.position == now
        taken = await store.items.claim_many(
            connection="c", register="orders", now=now, run_id="r", limit=10
        )
        assert {item.external_id for item in taken} == {"1", "2"}
    assert "2 record(s) were written up to 58m ahead of this host's clock" in caplog.text
