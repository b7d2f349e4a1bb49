"""``AccountCache.fill``: a whole list kept at once, and the single reads of its family wait
for it instead of being spent beside it."""

from __future__ import annotations

from collections.abc import Hashable

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.accountcache import AccountCache

pytestmark = pytest.mark.anyio


class Single:
    """A one-key load that counts its calls."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        return self.value


class Listing:
    """A list load that is held back until ``release`` and then returns ``values`` (or
    raises ``fail_with``)."""

    def __init__(self, values: dict[Hashable, object]) -> None:
        self.values = values
        self.release = anyio.Event()
        self.calls = 0
        self.fail_with: Exception | None = None

    async def __call__(self) -> dict[Hashable, object]:
        self.calls += 1
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return self.values


async def test_a_get_of_the_family_waits_for_the_list_and_reads_nothing_itself() -> None:
    cache = AccountCache(FakeClock())
    listing = Listing({("vat-code", 3001): "U25", ("vat-code", 3002): "U12"})
    single = Single("read alone")
    got: list[str] = []
    kept: list[int] = []

    async def fill() -> None:
        kept.append(await cache.fill("vat-code", listing))

    async def get() -> None:
        got.append(await cache.get(("vat-code", 3001), single))

    async with anyio.create_task_group() as tg:
        tg.start_soon(fill)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(get)
        await anyio.wait_all_tasks_blocked()
        assert got == [] and single.calls == 0, "it waits for the list"
        # another family is not held back
        assert await cache.get(("vat-rate", "U25"), Single("25")) == "25"
        listing.release.set()
    assert got == ["U25"]
    assert single.calls == 0
    assert kept == [2]


async def test_a_key_the_list_lacks_is_read_alone_after_it() -> None:
    cache = AccountCache(FakeClock())
    listing = Listing({("vat-code", 3001): "U25"})
    single = Single("none")
    got: list[str] = []

    async def get() -> None:
        got.append(await cache.get(("vat-code", 9999), single))

    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.fill, "vat-code", listing)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(get)
        await anyio.wait_all_tasks_blocked()
        assert single.calls == 0
        listing.release.set()
    assert got == ["none"] and single.calls == 1


async def test_a_failed_list_keeps_nothing_and_the_waiters_read_alone() -> None:
    cache = AccountCache(FakeClock())
    listing = Listing({("vat-code", 3001): "U25"})
    listing.fail_with = TransientError("e-conomic GET /accounts: server error 503")
    single = Single("U25 alone")
    got: list[str] = []
    errors: list[Exception] = []

    async def fill() -> None:
        try:
            await cache.fill("vat-code", listing)
        except TransientError as exc:
            errors.append(exc)

    async def get() -> None:
        got.append(await cache.get(("vat-code", 3001), single))

    async with anyio.create_task_group() as tg:
        tg.start_soon(fill)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(get)
        await anyio.wait_all_tasks_blocked()
        listing.release.set()
    assert len(errors) == 1, "the error goes to the list's reader only"
    assert got == ["U25 alone"] and single.calls == 1
    assert len(cache) == 1  # the single read's value


async def test_a_fresh_value_or_a_single_read_in_progress_wins_over_the_list() -> None:
    clock = FakeClock()
    cache = AccountCache(clock, ttl=600)
    assert await cache.get(("vat-code", 3001), Single("fresh")) == "fresh"
    held = anyio.Event()

    async def slow() -> str:
        await held.wait()
        return "single"

    listing = Listing({("vat-code", 3001): "listed", ("vat-code", 3002): "listed"})
    listing.release.set()
    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.get, ("vat-code", 3002), slow)
        await anyio.wait_all_tasks_blocked()
        assert await cache.fill("vat-code", listing) == 0
        held.set()
    assert cache.peek(("vat-code", 3001)) == "fresh"
    assert cache.peek(("vat-code", 3002)) == "single"


async def test_a_second_fill_of_the_family_waits_for_the_first_and_reads_nothing() -> None:
    cache = AccountCache(FakeClock())
    first = Listing({("vat-code", 3001): "U25"})
    second = Listing({("vat-code", 3001): "other"})
    second.release.set()
    kept: list[int] = []

    async def fill(listing: Listing) -> None:
        kept.append(await cache.fill("vat-code", listing))

    async with anyio.create_task_group() as tg:
        tg.start_soon(fill, first)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(fill, second)
        await anyio.wait_all_tasks_blocked()
        first.release.set()
    assert sorted(kept) == [0, 1]
    assert second.calls == 0
    assert cache.peek(("vat-code", 3001)) == "U25"
