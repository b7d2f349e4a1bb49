"""benchmarks/busy_connections.py ``--hot``: busy connections with more order workers and a
larger share of the orders beside quiet ones, reported apart (no timing is asserted)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from test_bench_busy import _load

from brygga.commands.common import load
from brygga.plugins import PluginHost


def test_the_busy_share_of_the_orders_goes_round_robin_over_the_busy_connections() -> None:
    bench = _load("busy_connections")
    names = [f"c{i}" for i in range(1, 7)]
    hot, quiet = names[:2], names[2:]
    seen = Counter(bench._arrival(i, names, hot, quiet, 0.5) for i in range(40))
    assert seen == {"c1": 10, "c2": 10, "c3": 5, "c4": 5, "c5": 5, "c6": 5}
    # without busy connections: round-robin over all, as before
    assert [bench._arrival(i, names, [], names, 0.0) for i in range(7)] == [*names, "c1"]


def test_busy_connections_get_their_own_worker_count(tmp_path: Path) -> None:
    bench = _load("busy_connections")
    host = PluginHost()
    erp_sim = host.adapters["economic"].simulator
    shop_sim = host.adapters["starweb"].simulator
    assert erp_sim is not None and shop_sim is not None
    erp = erp_sim().adapter_config("http://erp.test")
    shop = shop_sim().adapter_config("http://s.test/api/v2", name="se")
    text = bench.config_text(tmp_path, ["c1", "c2"], erp, {"c1": shop, "c2": shop}, "2s", {"c1": 8})
    path = tmp_path / "brygga.toml"
    path.write_text(text, encoding="utf-8")
    loaded, _ = load(path)
    workers = {c.name: c.config.orders.workers for c in loaded.connections}
    assert workers == {"c1": 8, "c2": 2}


def test_busy_and_quiet_connections_are_reported_apart() -> None:
    bench = _load("busy_connections")
    args = bench.parse_args(
        [
            *("--connections", "3", "--duration", "1.5", "--rate", "4", "--limits", "off"),
            *("--hot", "1", "--hot-share", "0.5", "--hot-workers", "3", "--no-cold"),
        ]
    )
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    busy, quiet = run["groups"]["busy"], run["groups"]["quiet"]
    assert (busy["connections"], quiet["connections"]) == (1, 2)
    assert (busy["arrived"], quiet["arrived"]) == (3, 3)
    assert (
        busy["transferred_in_window"] + quiet["transferred_in_window"]
        == (run["transferred_in_window"])
    )
    assert document["parameters"]["hot_workers"] == 3
