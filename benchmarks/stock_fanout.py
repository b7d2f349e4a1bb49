"""Stock fan-out: N changed SKUs in e-conomic pushed to 3 Starweb shops (mode "erp", the stock
register), timed until every shop shows every new level.

Runs the real daemon (``brygga.runtime.app.serve``) in this process against an e-conomic
simulator with the inventory module and ``--skus`` articles (default 1,000) and ``--shops``
Starweb simulators (default 3) that sell the same SKUs; only the stock register runs (products,
prices and price lists off; orders poll hourly), polling the ERP's stock feed every second with
``[connection.catalog] workers`` (default 1, as shipped). Two phases, each timed from the moment
the ERP's levels change until every shop shows every new level:

- ``first``: the daemon's first push of every level (nothing was written to the shops before);
- ``changed``: every SKU's level changed again in the ERP: the figure the issue asks for.

For each phase: the seconds, SKUs per second, HTTP requests per SKU per shop (by endpoint) and
ERP requests per SKU, and the process's RSS (sampled every 0.2 s; peak over the phase) next to
the RSS before the daemon started (the simulators' catalogs are in this process too). Rate limits
are lifted by default (``--limits on`` keeps the adapters' own; at 10 requests/s per shop and at
least one request per SKU, 10,000 SKUs then take at least 1,100 s per shop)::

    .venv/bin/python benchmarks/stock_fanout.py                      # 1,000 SKUs, 3 shops
    .venv/bin/python benchmarks/stock_fanout.py --skus 1000 3000 10000 --json   # long

The default is 1,000 SKUs (under a minute on 2 shared cores); 10,000 takes a few minutes, most
of it filling the simulators (each ``add_product`` checks its SKU is new by a scan). The daemon
writes one request per SKU per shop (the Starweb adapter's SKU index, read a product page at a
time) and reads each SKU's ERP level once for all shops.

Every 0.2 s the check looks only at the (shop, SKU) pairs that did not show their new level
yet (by the Starweb simulator's SKU index), so checking costs little once most levels are in;
a level that was shown is not looked at again in that phase (nothing else writes the shops).

Brygga API used: as ``latency.py``, plus the simulators' ``add_article``, ``set_stock``,
``add_product`` and the Starweb simulator's catalog (read directly to check the levels:
``catalog.find_sku(sku)`` and the variant's ``stocks``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env, latency beside this script
from bench_env import code_under_test, machine, print_document
from latency import UNLIMITED, Recorder, load_average

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.testing import RoutingTransport, write_config

ERP_HOST = "erp.test"
STOCK_ONLY = {"products": "off", "prices": "off", "price_lists": "off"}
#: the Starweb simulator's e-commerce stock location (its catalog's ``ECOMMERCE_LOCATION``)
LOCATION = 1


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sku(i: int) -> str:
    return f"ART-{i:06d}"


def behind(shop: Any, levels: dict[str, Decimal]) -> list[str]:
    """The SKUs of ``levels`` the shop does not show at their level yet (by its SKU index)."""
    late = []
    for sku, want in levels.items():
        found = shop.catalog.find_sku(sku)
        level = found[1].stocks.get(LOCATION) if found is not None else None
        if level is None or level[1] != want:
            late.append(sku)
    return late


def lagging(shop: Any, levels: dict[str, Decimal]) -> int:
    """How many SKUs of ``levels`` the shop does not show at their level yet."""
    return len(behind(shop, levels))


class Pending:
    """The (shop, SKU) pairs that do not show their level of the phase yet; each check looks
    at those only and drops the ones that do."""

    def __init__(self, shops: dict[str, Any], levels: dict[str, Decimal]) -> None:
        self.shops = shops
        self.left = {name: dict(levels) for name in shops}

    def lagging(self) -> int:
        for name, left in self.left.items():
            late = behind(self.shops[name], left)
            self.left[name] = {sku: left[sku] for sku in late}
        return sum(len(left) for left in self.left.values())


def _endpoint(req: Any) -> str:
    """``GET /products/{n}``: path segments with a digit (ids, SKUs) folded."""
    path = req.path.split("?", 1)[0].removeprefix("/api/v2")
    path = re.sub(r"/[^/]*\d[^/]*(?=/|$)", "/{n}", path)
    return f"{req.method} {path}"


@dataclass
class Phase:
    name: str
    seconds: float | None
    skus_per_s: float | None
    complete: bool
    lagging_at_end: int
    shop_requests: int
    shop_requests_per_sku_per_shop: float
    shop_requests_by_endpoint: dict[str, int]
    erp_requests: int
    erp_requests_per_sku: float
    rss_mb_peak: float
    http_429: int


@dataclass
class Run:
    skus: int
    shops: int
    workers: int
    limits: str
    rss_mb_before_daemon: float
    rss_mb_peak_process: float
    phases: list[Phase] = field(default_factory=list)
    load_average_before: list[float] = field(default_factory=list)
    load_average_after: list[float] = field(default_factory=list)


async def run_once(n: int, args: argparse.Namespace) -> Run:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    erp = erp_spec.simulator(seed_catalog=False, inventory_module=True)
    names = [f"s{i}" for i in range(1, args.shops + 1)]
    shops = {name: shop_spec.simulator(seed=i, seed_catalog=False) for i, name in enumerate(names)}
    first = {sku(i): Decimal(10 + i % 7) for i in range(n)}
    for i in range(n):
        erp.add_article(sku(i), f"Artikel {i}", Decimal("100.00"), Decimal(25))
        erp.set_stock(sku(i), first[sku(i)])
    for shop in shops.values():
        for i in range(n):
            shop.add_product(sku(i), f"Artikel {i}", price=Decimal("100.00"), stock=Decimal(0))
    erp_rec = Recorder(erp.app, "economic")
    recs = {name: Recorder(sim.app, name) for name, sim in shops.items()}
    apps: dict[str, Any] = {ERP_HOST: erp_rec}
    apps.update({f"{name}.shop.test": rec for name, rec in recs.items()})
    lifted = {"rate_limit": UNLIMITED} if args.limits == "off" else {}
    rss_before = rss_mb()
    run = Run(n, args.shops, args.workers, args.limits, round(rss_before, 1), 0.0)
    run.load_average_before = load_average()
    with tempfile.TemporaryDirectory(prefix="brygga-stock-") as tmp:
        folder = Path(tmp)
        path = write_config(
            folder / "brygga.toml",
            state=str(folder / "state.db"),
            name="stock",
            erp={**erp.adapter_config(f"http://{ERP_HOST}"), **lifted},
            shops=[
                {**sim.adapter_config(f"http://{name}.shop.test/api/v2", name=name), **lifted}
                for name, sim in shops.items()
            ],
            connection={
                "mode": "erp",
                "registers": STOCK_ONLY,
                "poll": {"orders": "1h", "stock": "1s"},
            },
            sections={"catalog": {"workers": args.workers}},
        )
        loaded, plugins = load(path)
        http = HttpContext(transport=RoutingTransport(apps))
        control: DaemonControl[ResolvedConnection] = DaemonControl()
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
            )
            await control.wait_started()
            # the levels were set before the start: the first push starts with the daemon
            run.phases.append(await _phase("first", first, shops, erp_rec, recs, args, n))
            await anyio.sleep(1.5)  # a second on: the change is newer than the feed's cursor
            changed = {s: level + 5 for s, level in first.items()}
            for s, level in changed.items():
                erp.set_stock(s, level)
            run.phases.append(await _phase("changed", changed, shops, erp_rec, recs, args, n))
            control.request_stop()
    run.rss_mb_peak_process = round(_status_mb("VmHWM"), 1)
    run.load_average_after = load_average()
    return run


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _phase(
    name: str,
    levels: dict[str, Decimal],
    shops: dict[str, Any],
    erp_rec: Recorder,
    recs: dict[str, Recorder],
    args: argparse.Namespace,
    n: int,
) -> Phase:
    shop_marks = {k: len(r.log) for k, r in recs.items()}
    erp_mark = len(erp_rec.log)
    started = time.monotonic()
    peak = rss_mb()
    behind = n * len(shops)
    seconds: float | None = None
    pending = Pending(shops, levels)
    with anyio.move_on_after(args.patience):
        while True:
            await anyio.sleep(0.2)
            peak = max(peak, rss_mb())
            behind = pending.lagging()
            if behind == 0:
                seconds = time.monotonic() - started
                break
    by_endpoint: dict[str, int] = {}
    shop_requests = 0
    http_429 = 0
    for key, rec in recs.items():
        for req in rec.log[shop_marks[key] :]:
            shop_requests += 1
            http_429 += req.status == 429
            by_endpoint[_endpoint(req)] = by_endpoint.get(_endpoint(req), 0) + 1
    erp_requests = len(erp_rec.log) - erp_mark
    for req in erp_rec.log[erp_mark:]:
        key = "economic " + _endpoint(req)
        by_endpoint[key] = by_endpoint.get(key, 0) + 1
        http_429 += req.status == 429
    phase = Phase(
        name=name,
        seconds=round(seconds, 2) if seconds is not None else None,
        skus_per_s=round(n / seconds, 1) if seconds else None,
        complete=seconds is not None,
        lagging_at_end=behind,
        shop_requests=shop_requests,
        shop_requests_per_sku_per_shop=round(shop_requests / (n * len(shops)), 3),
        shop_requests_by_endpoint=dict(sorted(by_endpoint.items(), key=lambda kv: -kv[1])),
        erp_requests=erp_requests,
        erp_requests_per_sku=round(erp_requests / n, 3),
        rss_mb_peak=round(peak, 1),
        http_429=http_429,
    )
    if not args.json:
        print(_line(n, len(shops), phase), flush=True)
    return phase


def _line(n: int, shops: int, p: Phase) -> str:
    took = f"{p.seconds:7.2f} s ({p.skus_per_s} SKUs/s)" if p.complete else "not complete"
    endpoints = ", ".join(f"{k} {v}" for k, v in list(p.shop_requests_by_endpoint.items())[:5])
    return (
        f"{n:6d} SKUs × {shops} shops, {p.name:7s}: every shop shows every level after {took}; "
        f"{p.shop_requests_per_sku_per_shop} shop requests per SKU per shop, "
        f"{p.erp_requests_per_sku} ERP requests per SKU; RSS peak {p.rss_mb_peak:.0f} MB; "
        f"{p.http_429} × 429; lagging at end {p.lagging_at_end}\n    requests: {endpoints}"
    )


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for n in args.skus:
        run = await run_once(n, args)
        if not args.json:
            print(
                f"    RSS before the daemon started (simulators with {n} SKUs) "
                f"{run.rss_mb_before_daemon} MB, process peak {run.rss_mb_peak_process} MB; "
                f"load {' '.join(map(str, run.load_average_before))}",
                flush=True,
            )
        runs.append(asdict(run))
    return {
        "benchmark": "stock_fanout",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "skus": args.skus,
            "shops": args.shops,
            "workers": args.workers,
            "limits": args.limits,
            "lifted_rate_limit": UNLIMITED,
            "stock_poll_s": 1,
        },
        "runs": runs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--skus", type=int, nargs="+", default=[1_000], help="SKU counts (1,000; 10,000: minutes)"
    )
    parser.add_argument("--shops", type=int, default=3, help="Starweb shops (3)")
    parser.add_argument("--workers", type=int, default=1, help="[connection.catalog] workers")
    parser.add_argument("--limits", choices=["on", "off"], default="off")
    parser.add_argument(
        "--patience", type=float, default=600.0, help="seconds a phase may take (600)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
