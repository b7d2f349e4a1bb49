"""benchmarks/stock_fanout.py pushes every ERP level to every shop and counts the requests (no
timing is asserted)."""

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


def test_stock_fanout_reaches_every_shop_in_both_phases() -> None:
    bench = _load("stock_fanout")
    args = bench.parse_args(["--skus", "12", "--shops", "2", "--patience", "60"])
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    assert [p["name"] for p in run["phases"]] == ["first", "changed"]
    for phase in run["phases"]:
        assert phase["complete"] and phase["lagging_at_end"] == 0
        # at least one write per SKU per shop
        writes = sum(
            n for k, n in phase["shop_requests_by_endpoint"].items() if k.startswith("PUT")
        )
        assert writes >= 24
        assert phase["shop_requests_per_sku_per_shop"] >= 1
        assert phase["rss_mb_peak"] > 0


def test_lagging_counts_skus_not_at_their_level() -> None:
    from decimal import Decimal

    from brygga_starweb.simulator import StarwebSimulator

    bench = _load("stock_fanout")
    shop = StarwebSimulator(seed_catalog=False)
    for i in range(3):
        shop.add_product(bench.sku(i), "x", price=Decimal(1), stock=Decimal(i))
    want = {bench.sku(i): Decimal(1) for i in range(3)}
    assert bench.lagging(shop, want) == 2
    assert bench.lagging(shop, {bench.sku(1): Decimal(1)}) == 0
