"""Per-account adapter state: get, put, delete, and compare-and-set across two daemons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from brygga.accountstate import AdapterStateStore, MemoryAdapterState
from brygga.store import Store

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def test_get_put_delete(store: Store) -> None:
    state = store.adapter_state
    assert await state.get("fortnox:main", "refresh_token") is None
    await state.put("fortnox:main", "refresh_token", b"r1", NOW)
    await state.put("fortnox:other", "refresh_token", b"o1", NOW)
    await state.put("fortnox:main", "refresh_token", b"r2", NOW)
    assert await state.get("fortnox:main", "refresh_token") == b"r2"
    assert await state.get("fortnox:other", "refresh_token") == b"o1"
    assert await state.delete("fortnox:main", "refresh_token")
    assert not await state.delete("fortnox:main", "refresh_token")
    assert await state.get("fortnox:main", "refresh_token") is None
    assert await state.get("fortnox:other", "refresh_token") == b"o1"


async def test_replace_sets_only_over_the_expected_value(store: Store) -> None:
    state = store.adapter_state
    assert await state.replace("a", "k", None, b"v1", NOW)  # none yet: created
    assert not await state.replace("a", "k", None, b"v2", NOW)  # somebody was first
    assert not await state.replace("a", "k", b"stale", b"v2", NOW)
    assert await state.get("a", "k") == b"v1"
    assert await state.replace("a", "k", b"v1", b"v2", NOW)
    assert await state.get("a", "k") == b"v2"


async def test_two_daemons_rotating_one_token_only_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with await Store.open(path) as one, await Store.open(path) as two:
        await one.adapter_state.put("fortnox:main", "refresh_token", b"r1", NOW)
        # both read the single-use token, both got a new one from Fortnox; one may keep it
        seen_one = await one.adapter_state.get("fortnox:main", "refresh_token")
        seen_two = await two.adapter_state.get("fortnox:main", "refresh_token")
        assert seen_one == seen_two == b"r1"
        assert await one.adapter_state.replace("fortnox:main", "refresh_token", b"r1", b"A", NOW)
        assert not await two.adapter_state.replace(
            "fortnox:main", "refresh_token", b"r1", b"B", NOW
        )
        assert await two.adapter_state.get("fortnox:main", "refresh_token") == b"A"


@pytest.fixture(params=["sqlite", "memory"])
async def any_state(request: pytest.FixtureRequest, store: Store) -> AdapterStateStore:
    """The state file's implementation and the in-memory one adapters get without a file."""
    return store.adapter_state if request.param == "sqlite" else MemoryAdapterState()


async def test_both_implementations_keep_one_contract(any_state: AdapterStateStore) -> None:
    state = any_state
    assert await state.keys("norce:se") == []
    await state.put("norce:se", "push/1002", b"b", NOW)
    await state.put("norce:se", "push/1001", b"a", NOW)
    await state.put("norce:se", "token", b"t", NOW)
    await state.put("norce:no", "push/9", b"x", NOW)
    assert await state.keys("norce:se", "push/") == ["push/1001", "push/1002"]
    assert await state.keys("norce:se") == ["push/1001", "push/1002", "token"]
    assert await state.keys("norce:se", "push%") == []  # a prefix, not a pattern
    assert not await state.replace("norce:se", "token", None, b"u", NOW)
    assert not await state.replace("norce:se", "token", b"stale", b"u", NOW)
    assert await state.replace("norce:se", "token", b"t", b"u", NOW)
    assert await state.get("norce:se", "token") == b"u"
    assert await state.delete("norce:se", "push/1001")
    assert await state.keys("norce:se", "push/") == ["push/1002"]
