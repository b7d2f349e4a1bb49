"""A change feed that breaks part-way: what it yielded is recorded, the cursor stays, it fails.

A Norce shop keeps pushed orders durably and yields them before it reads the Query API; when
that read failed, the feed used to log it and report success, so `brygga status` showed a
healthy poller while orders that were never pushed went unseen. Now the adapter raises after
yielding what it has, and the feed records those (recording is idempotent), keeps its cursor
(the next poll reads the whole window again) and lets the error reach the poller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brygga.clock import FakeClock
from brygga.config import OrdersConfig
from brygga.durations import Duration
from brygga.errors import TransientError
from brygga.models import OrderChange
from brygga.store import Store
from brygga.sync.order_feed import OrderFeed
from brygga.sync.orders import REGISTER

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


class BreaksAfterTwo:
    """A shop whose feed yields two orders, then cannot read the rest."""

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        for n in (1, 2):
            yield OrderChange(shop_order_id=str(n), modified_at=since, status="new")
        raise TransientError("the Query API answered 503")


async def test_what_was_yielded_is_recorded_and_the_failure_is_raised(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    async with await Store.open(tmp_path / "state.db") as store:
        feed = OrderFeed(
            connection="c",
            store=store,
            shops={"no": BreaksAfterTwo()},  # type: ignore[dict-item]
            options=OrdersConfig(lookback=Duration(3600)),
            clock=clock,
        )
        with pytest.raises(TransientError, match="503"):
            await feed.discover("no")
        items = await store.items.query()
        assert sorted(i.external_id for i in items) == ["1", "2"]
        assert {i.register for i in items} == {REGISTER}
        assert await store.cursors.get("c", "no", REGISTER) is None  # the window is read again
        with pytest.raises(TransientError):
            await feed.discover("no")
        assert len(await store.items.query()) == 2  # recorded once
