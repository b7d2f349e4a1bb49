"""The per-account shared cache: one read per key however many ask, a TTL, forget, isolation."""

from __future__ import annotations

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.accountcache import AccountCache, AccountCaches
from brygga.http.client import HttpContext

pytestmark = pytest.mark.anyio


class Reader:
    """A load function that counts its calls, returns numbered values and can be held back."""

    def __init__(self) -> None:
        self.calls = 0
        self.release: anyio.Event | None = None
        self.fail_with: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        call = self.calls
        if self.release is not None:
            await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return f"value {call}"


async def test_a_hundred_concurrent_first_reads_make_one_read() -> None:
    cache = AccountCache(FakeClock(), ttl=600)
    reader = Reader()
    reader.release = anyio.Event()
    got: list[str] = []

    async def ask() -> None:
        got.append(await cache.get("vat", reader))

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        assert reader.calls == 1, "the others wait for the first read"
        reader.release.set()
    assert got == ["value 1"] * 100
    assert reader.calls == 1
    assert await cache.get("vat", reader) == "value 1"
    assert reader.calls == 1


async def test_a_failed_read_reaches_every_waiter_once_and_is_not_kept() -> None:
    cache = AccountCache(FakeClock())
    reader = Reader()
    reader.release = anyio.Event()
    reader.fail_with = TransientError("e-conomic GET /products: server error 503")
    errors: list[BaseException] = []

    async def ask() -> None:
        try:
            await cache.get("products", reader)
        except TransientError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        reader.release.set()
    assert len(errors) == 20
    assert reader.calls == 1, "one failed read is reported to all, not repeated by each"
    assert all(str(e) == "e-conomic GET /products: server error 503" for e in errors)
    assert len({id(e) for e in errors}) > 1, "waiters raise copies, not one shared object"
    reader.fail_with = None
    reader.release = None
    assert await cache.get("products", reader) == "value 2", "an error is never kept"


async def test_a_waiter_takes_over_when_the_reader_is_cancelled() -> None:
    cache = AccountCache(FakeClock())
    reader = Reader()
    reader.release = anyio.Event()
    got: list[str] = []

    async def ask() -> None:
        got.append(await cache.get("groups", reader))

    async with anyio.create_task_group() as tg:
        reading = anyio.CancelScope()

        async def first() -> None:
            with reading:
                await cache.get("groups", reader)

        tg.start_soon(first)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        assert reader.calls == 1
        reading.cancel()  # e.g. the first connection stopped while it read
        await anyio.wait_all_tasks_blocked()
        assert reader.calls == 2, "the waiter reads itself instead of waiting forever"
        reader.release.set()
    assert got == ["value 2"]


async def test_a_value_is_kept_for_its_ttl_then_read_again() -> None:
    clock = FakeClock()
    cache = AccountCache(clock, ttl=600)
    reader = Reader()
    assert await cache.get("vat", reader) == "value 1"
    clock.advance(599)
    assert await cache.get("vat", reader) == "value 1"
    assert reader.calls == 1
    clock.advance(1)
    assert cache.peek("vat") is None
    assert cache.peek("vat", stale=True) == "value 1"
    assert await cache.get("vat", reader) == "value 2"
    assert reader.calls == 2


async def test_forget_drops_one_key_only() -> None:
    cache = AccountCache(FakeClock())
    reader = Reader()
    await cache.get("a", reader)
    await cache.get("b", reader)
    assert cache.forget("a") == "value 1"
    assert cache.forget("a") is None
    assert await cache.get("b", reader) == "value 2"
    assert await cache.get("a", reader) == "value 3"
    assert reader.calls == 3


async def test_keep_false_shares_the_read_but_keeps_nothing() -> None:
    cache = AccountCache(FakeClock())
    reader = Reader()
    assert await cache.get("missing", reader, keep=lambda _: False) == "value 1"
    assert cache.peek("missing") is None
    assert await cache.get("missing", reader, keep=lambda _: False) == "value 2"


async def test_the_oldest_entries_go_past_max_entries() -> None:
    clock = FakeClock()
    cache = AccountCache(clock, max_entries=3)
    reader = Reader()
    for key in "abcd":
        await cache.get(key, reader)
        clock.advance(1)
    assert len(cache) == 3
    assert cache.peek("a") is None
    assert cache.peek("d") == "value 4"


async def test_accounts_and_systems_never_share_a_cache() -> None:
    caches = AccountCaches()
    clock = FakeClock()
    one = caches.cache("economic", "host#agreement-1", clock=clock)
    assert caches.cache("economic", "host#agreement-1", clock=clock) is one
    other = caches.cache("economic", "host#agreement-2", clock=clock)
    fortnox = caches.cache("fortnox", "host#agreement-1", clock=clock)
    assert len({id(one), id(other), id(fortnox)}) == 3
    await one.get("vat", Reader())
    assert other.peek("vat") is None
    assert fortnox.peek("vat") is None


def test_every_http_context_has_its_own_shared_caches() -> None:
    """Built with the context (once per process in the daemon): nothing to wire."""
    first, second = HttpContext(), HttpContext()
    assert isinstance(first.shared, AccountCaches)
    assert first.shared is not second.shared
    cache = first.shared.cache("economic", "a")
    assert first.shared.cache("economic", "a") is cache
    assert second.shared.cache("economic", "a") is not cache
