"""benchmarks/latency.py runs a real daemon, moves every order and explains one (no timing is
asserted: only that it measured what it says)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_percentiles_are_nearest_rank() -> None:
    bench = _load("latency")
    got = bench.percentiles([float(x) for x in range(1, 101)])
    assert (got["p50"], got["p95"], got["p99"], got["max"]) == (50.0, 95.0, 99.0, 100.0)
    assert bench.percentiles([])["p50"] is None


def test_webhook_latency_run_transfers_every_order_and_times_one() -> None:
    bench = _load("latency")
    args = bench.parse_args(["--orders", "3", "--rate", "20", "--modes", "webhook"])
    args.limits = ["off"]
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    assert run["transferred"] == 3 and run["missing"] == 0
    assert len(run["latencies"]) == 3 and all(x > 0 for x in run["latencies"])
    assert run["latency_s"]["max"] == max(run["latencies"])
    # only the notices brought the orders in (the poll interval is an hour)
    assert run["requests"]["economic POST"] >= 3
    steps = [step["what"] for step in run["breakdown"]["steps"]]
    assert "webhook notice sent" in steps and "ERP document exists" in steps
    assert steps.index("orders: enqueued") < steps.index("orders: claimed (attempt 1)")
    assert any(s.startswith("economic POST /invoices/drafts") for s in steps)
    assert run["breakdown"]["written_back"] is True
