"""benchmarks/rate_limit.py still runs and counts (no timings asserted: its clock is virtual).

Its simulated server enforces the documented Fortnox limit, 25 requests per 5 s as a sliding
window with 429 beyond it (reference/erp-apis.md §2.4).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the virtual clock waits with anyio.wait_all_tasks_blocked


@pytest.fixture
def bench() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import rate_limit

        yield rate_limit
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.anyio
async def test_the_rate_limit_benchmark_counts_what_the_server_saw(bench: ModuleType) -> None:
    run = bench._scenario
    result = await run(
        "saturated", seconds=16.0, connections=1, callers_each=4, latency=lambda: 0.05
    )
    assert result.sent == result.accepted + result.refused_429
    # never more than the window allows: 25 at 5 s, 10.1 s and 15.2 s
    assert 0 < result.accepted <= 75
    assert result.refused_429 == 0 and result.errors_to_caller == 0
    assert result.first_accepted_at == pytest.approx(5.05)


@pytest.mark.anyio
async def test_the_shared_scenario_reports_each_connections_share(bench: ModuleType) -> None:
    run = bench._scenario
    result = await run("shared", seconds=16.0, connections=3, callers_each=2, latency=lambda: 0.05)
    assert set(result.share_pct) == {"c1", "c2", "c3"}
    assert sum(result.share_pct.values()) == pytest.approx(100, abs=0.5)
    assert min(result.share_pct.values()) > 25  # nobody starved
