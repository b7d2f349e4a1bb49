"""The benchmark scripts run and count what they say they count (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_orders_benchmark_moves_every_order_and_counts_transactions_and_requests() -> None:
    bench = _load("orders_throughput")
    real_connect = sqlite3.connect
    args = bench.parse_args(["--orders", "5", "--workers", "2", "--profile-workers", "1"])
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    assert sqlite3.connect is real_connect  # the counting is undone after the run
    [run] = document["runs"]
    assert run["erp_documents"] == 5 and run["written_back"] == 5
    assert sum(run["states"].values()) == 10  # five orders sent, five numbers written back
    sql = run["sql"]
    assert sql["begins"] == sql["commits"] and sql["rollbacks"] == 0
    assert run["transactions"] >= 5  # at least one per order
    # at least: fetch the order, create the document, write the number back
    assert run["requests_simulators"] >= 15
    if run["requests_hook"] is not None:
        assert run["requests_hook"] == run["requests_simulators"]
    assert len(document["profile"]["top_cumulative"]) == 15


@pytest.mark.subprocess
def test_idle_benchmark_starts_a_daemon_with_several_connections_and_stops_it() -> None:
    bench = _load("idle_connections")
    args = bench.parse_args(["--counts", "3", "--window", "0.5", "--settle", "0"])
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    assert run["connections"] == 3 and run["started"], run["note"]
    assert run["rss_mb"] > 0 and run["cpu_percent"] is not None
    assert run["exit_code"] == 0  # stopped cleanly by SIGTERM
