"""benchmarks/busy_connections.py runs several connections on one ERP account in one daemon and
counts each connection's transfers (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports latency.py beside it
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_busy_connections_count_every_connections_orders() -> None:
    bench = _load("busy_connections")
    args = bench.parse_args(
        ["--connections", "3", "--duration", "1.5", "--rate", "4", "--limits", "off"]
    )
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    assert run["arrived"] == 6
    # every order transferred, in the window or while draining after it
    assert run["transferred_in_window"] + run["transferred_after"] == 6
    assert sorted(run["done_by_connection"]) == ["c001", "c002", "c003"]
    assert sum(run["done_by_connection"].values()) == run["transferred_in_window"]
    per_min = run["per_connection_per_min"]
    assert per_min["min"] <= per_min["median"] <= per_min["max"]
    without = run["without_transfer"]
    assert 0 <= run["without_transfer_unavoidable"] <= len(without) or not without
    assert set(run["starved"]) <= set(run["done_by_connection"])
    # the cold phase: one order waiting in each shop at start, each transferred
    assert run["cold"]["orders"] == 3 and run["cold"]["transferred"] == 3
    assert run["cold"]["erp_requests_by_endpoint"]["POST /invoices/drafts"] == 3
