"""The benchmark scripts run and count what they say they count (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import os
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
    owners = document["profile"]["time_by_owner_percent"]
    assert 99.0 <= sum(owners.values()) <= 101.0
    assert owners["simulators"] > 0 and owners["HTTP client (httpx)"] > 0  # in-process here
    assert run["cpu_ms_per_order"] > 0 and run["simulators_cpu_ms_per_order"] is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the loopback child is forked (POSIX)")
def test_orders_benchmark_serves_the_simulators_from_a_child_over_loopback() -> None:
    bench = _load("orders_throughput")
    args = bench.parse_args(
        ["--orders", "4", "--workers", "2", "--profile-workers", "0", "--simulators", "loopback"]
    )
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    # counted by the child's simulators (the parent's copies saw nothing after the fork)
    assert run["erp_documents"] == 4 and run["written_back"] == 4
    assert run["requests_simulators"] >= 12
    if run["requests_hook"] is not None:
        assert run["requests_hook"] == run["requests_simulators"]
    assert document["parameters"]["simulators"] == "loopback"
    # each side's CPU: the child's clock starts at the fork, so it is the simulators' own
    assert run["cpu_ms_per_order"] > 0 and run["simulators_cpu_ms_per_order"] > 0


@pytest.mark.subprocess
def test_idle_benchmark_starts_a_daemon_with_several_connections_and_stops_it() -> None:
    bench = _load("idle_connections")
    args = bench.parse_args(["--counts", "3", "--window", "0.5", "--settle", "0"])
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    assert run["connections"] == 3 and run["started"], run["note"]
    assert run["rss_mb"] > 0 and run["cpu_percent"] is not None
    assert run["exit_code"] == 0  # stopped cleanly by SIGTERM


@pytest.mark.subprocess
def test_initial_sync_benchmark_copies_both_ways_and_resumes_without_duplicates() -> None:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports bench_env beside it
    bench = _load("initial_sync")
    args = bench.parse_args(["--products", "25", "--timeout", "120", "--json"])
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    assert [case["direction"] for case in document["runs"]] == ["erp", "shop"]
    for case in document["runs"]:
        # 25 products, every 5th with three variants: 35 articles
        assert case["articles"] == 35
        clean = case["clean"]
        assert clean["finished"] and clean["exit_code"] == 0, clean["summary"]
        assert case["target_after_clean"] == {
            "entries": 35,
            "distinct_skus": 35,
            "duplicates": 0,
            "missing": 0,
        }
        assert clean["writes"] >= 35 and clean["peak_rss_mb"] > 0
        # the simulators are this process's (brygga's figure is the command's process alone)
        assert clean["simulators_rss_mb"] > 0
        assert clean["requests"] == sum(clean["requests_by_endpoint"].values())
        assert case["ratio_to_minimum"] == round(clean["requests"] / case["minimum"]["total"], 3)
        resume = case["resume"]
        assert case["resumed"]["exit_code"] == 0, case["resumed"]["summary"]
        assert resume["duplicates_in_target"] == 0 and resume["missing_in_target"] == 0
        assert resume["writes_both_runs"] >= 35
    erp_to_shop, shop_to_erp = document["runs"]
    # e-conomic pages of 1,000 + a POST per article; Starweb pages of 100 + one variants read
    # per product with several variants (5 of 25) + a POST per article
    assert erp_to_shop["minimum"] == {
        "source_pages": 1,
        "variant_reads": 0,
        "writes": 35,
        "total": 36,
    }
    assert shop_to_erp["minimum"]["variant_reads"] == 5
    assert shop_to_erp["clean"]["requests_by_endpoint"]["starweb GET /products/{id}/variants"] == 5
