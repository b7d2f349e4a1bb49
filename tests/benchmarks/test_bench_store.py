"""benchmarks/store_growth.py fills a state file, times its hot queries through the store, and
really switches ``synchronous`` (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports the scripts beside it
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_growth_fills_the_file_in_steps_and_times_every_query(tmp_path: Path) -> None:
    bench = _load("store_growth")
    args = bench.parse_args(
        ["--bindings", "300", "1000", "--history", "200", "--reps", "10", "--skip-sync"]
    )
    args.dir = str(tmp_path)
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    small, large = document["growth"]
    assert small["rows"]["bindings"] == 300 and large["rows"]["bindings"] == 1000
    # pruning on: the history does not grow with the bindings; the first size's 15 claims
    # (5 unmeasured, 10 timed) each opened an attempt before the second size was counted
    assert small["rows"]["attempts"] == 200
    assert large["rows"]["attempts"] == 200 + 15
    assert large["rows"]["events"] == small["rows"]["events"] == 200
    assert large["file_mb"] >= small["file_mb"] > 0
    for name in ("claim", "next_due", "counts", "bindings.target_of (bound)"):
        assert large["queries"][name]["median_us"] > 0


def test_the_synchronous_switch_is_what_sqlite_reports(tmp_path: Path) -> None:
    bench = _load("store_growth")

    async def both() -> tuple[int, int, dict[str, Any]]:
        full = await bench.commit_cost("FULL", 3)
        normal = await bench.commit_cost("NORMAL", 3)
        run = await bench.orders_run("NORMAL", 3, 1)
        return full["synchronous_reported"], normal["synchronous_reported"], run

    full, normal, run = anyio.run(both, backend="asyncio")
    assert (full, normal) == (2, 1)  # SQLite's numbers for FULL and NORMAL
    assert run["synchronous_reported"] == 1 and run["documents"] == 3
