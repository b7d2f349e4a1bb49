"""Busy connections: N connections in one daemon, each its own Starweb shop, all on ONE e-conomic
account (one rate limit shared), orders arriving on all of them; is the account shared fairly?

Runs the real daemon (``brygga.runtime.app.serve``) in this process with ``--connections``
connections ``c001`` … (default 100). Each has its own Starweb simulator (host
``c001.shop.test`` …); every connection's ERP is the same e-conomic simulator and account, so
every connection's ERP requests wait at the one limiter of that account. Orders arrive
round-robin over the shops at ``--rate`` per second in total (default 4/s, each a new customer:
3 ERP requests; the agreement's reference data, the product list and the VAT chain, is read
once for all connections, see :mod:`brygga.http.accountcache`) for ``--duration`` seconds;
the connections poll their shops every ``--interval`` seconds. With the declared e-conomic
limit (10/s) the account transfers about 3 orders/s, so a backlog builds and the shares
matter.

Per connection it counts the orders whose ERP document exists by the end of the window
(throughput = that / window) and their latencies; it prints min / median / max of the
per-connection throughput, the spread (max/min, and the coefficient of variation), how many
connections had no transfer in the window (and how many of those any even spread of the
window's transfers would leave without one: with fewer transfers than connections some must
wait), the per-connection "oldest order still waiting" at the end, and how many connections were
starved (their oldest order waited longer than the whole window). The fairest figure is the
spread of the per-connection median latency: an account shared in arrival order gives every
connection about the same::

    .venv/bin/python benchmarks/busy_connections.py                      # 100 connections, 60 s
    .venv/bin/python benchmarks/busy_connections.py --connections 20 --duration 30 --json
    .venv/bin/python benchmarks/busy_connections.py --erp-limit 100 1   # a bigger account

Busy and quiet connections (is the account shared per connection, not per waiting request?):
``--hot N`` makes the first N connections busy: ``--hot-share`` of the orders (default: their
even share, N / connections) arrive on them, and each has ``--hot-workers`` order workers
(default: the config's default, 2), so their requests crowd the account's queue while the quiet
connections have one or two waiting at a time. The figures then also give, for the busy and the
quiet connections apart, the orders transferred, their latency and the per-connection median
latency::

    .venv/bin/python benchmarks/busy_connections.py --connections 20 --duration 30 \
        --hot 2 --hot-share 0.5 --hot-workers 8

``--limits off`` lifts every limit (then the machine is the bottleneck, not the account).
The e-conomic simulator enforces the account's limit as a sliding window (429 beyond it) when
limits are on; 429s are counted. The load average is printed with the figures.

Brygga API used: as ``latency.py`` (whose helpers this script imports), plus a config file with
many ``[[connection]]`` tables.
"""

from __future__ import annotations

import argparse
import statistics
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
from latency import (
    CATALOG_OFF,
    SKUS,
    UNLIMITED,
    DocumentWatch,
    Recorder,
    declared_limit,
    load_average,
    percentiles,
)

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.sync.orders import document_reference
from brygga.testing import RoutingTransport, toml_config

ERP_HOST = "erp.test"


def config_text(
    folder: Path,
    names: list[str],
    erp_table: dict[str, Any],
    shops: dict[str, dict[str, Any]],
    poll: str,
    workers: dict[str, int] | None = None,
) -> str:
    """One ``[daemon]`` and a ``[[connection]]`` per name (``toml_config`` writes one);
    ``workers``: order workers of the connections named (the config's default for the rest)."""
    parts: list[str] = []
    for index, name in enumerate(names):
        count = (workers or {}).get(name)
        text = toml_config(
            state=str(folder / "state.db"),
            name=name,
            erp=erp_table,
            shops=[shops[name]],
            daemon={"log_level": "warning"},
            connection={"registers": CATALOG_OFF, "poll": {"orders": poll}},
            sections={"orders": {"workers": count}} if count else None,
        )
        head, _, connection = text.partition("\n[[connection]]\n")
        if index == 0:
            parts.append(head)
        parts.append("[[connection]]\n" + connection)
    return "\n".join(parts)


@dataclass
class Figures:
    connections: int
    duration_s: float
    rate_per_s: float
    limits: str
    erp_limit_enforced: dict[str, float] | None
    arrived: int
    transferred_in_window: int
    transferred_after: int
    #: per connection: orders transferred in the window / window, orders per minute
    per_connection_per_min: dict[str, float | None]
    spread_max_over_min: float | None
    cv: float | None
    #: connections with orders arrived and none transferred in the window
    without_transfer: list[str]
    #: of those, how many any even spread of the window's transfers would leave without one
    without_transfer_unavoidable: int
    #: connections whose oldest untransferred order waited longer than the whole window
    starved: list[str]
    #: per connection: seconds its oldest untransferred order had waited at the window's end
    oldest_waiting_s: dict[str, float | None]
    latency_s: dict[str, float | None]
    #: median latency per connection: min / median / max over connections
    median_latency_by_connection_s: dict[str, float | None]
    http_429: int
    erp_requests: int
    erp_requests_per_s: float
    load_average_before: list[float]
    load_average_after: list[float]
    #: one order per shop waiting at start: how long until each connection's first document
    cold: dict[str, Any] = field(default_factory=dict)
    erp_requests_by_endpoint_in_window: dict[str, int] = field(default_factory=dict)
    #: work items by register and state when the daemon stopped, and the commonest errors
    states_at_end: dict[str, int] = field(default_factory=dict)
    errors_at_end: dict[str, int] = field(default_factory=dict)
    done_by_connection: dict[str, int] = field(default_factory=dict)
    #: with ``--hot``: the busy and the quiet connections apart (see :func:`_group`)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)


async def measure_once(args: argparse.Namespace) -> Figures:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    if args.limits == "off":
        limit = None
    elif args.erp_limit:
        limit = {"requests": int(args.erp_limit[0]), "per_seconds": float(args.erp_limit[1])}
    else:
        limit = declared_limit("economic")
    erp = erp_spec.simulator(
        rate_limit=(int(limit["requests"]), float(limit["per_seconds"])) if limit else None
    )
    watch = DocumentWatch(erp)
    erp_rec = Recorder(erp.app, "economic", watch)
    names = [f"c{i:03d}" for i in range(1, args.connections + 1)]
    hot = names[: args.hot]
    quiet = names[args.hot :]
    share = args.hot_share if args.hot_share is not None else len(hot) / len(names)
    if not hot or not quiet:
        share = len(hot) / len(names)
    shops = {name: shop_spec.simulator(seed=i) for i, name in enumerate(names, 1)}
    lifted = {"rate_limit": UNLIMITED} if args.limits == "off" else {}
    erp_table = {**erp.adapter_config(f"http://{ERP_HOST}"), **lifted}
    if limit is not None and args.erp_limit:  # the client keeps to the account's limit
        erp_table["rate_limit"] = limit
    shop_tables = {
        name: {**sim.adapter_config(f"http://{name}.shop.test/api/v2", name="se"), **lifted}
        for name, sim in shops.items()
    }
    apps: dict[str, Any] = {ERP_HOST: erp_rec}
    shop_recs = {name: Recorder(sim.app, f"starweb-{name}") for name, sim in shops.items()}
    apps.update({f"{name}.shop.test": rec for name, rec in shop_recs.items()})
    load_before = load_average()
    arrived: dict[str, list[tuple[str, float]]] = {name: [] for name in names}
    # the cold phase: one order waiting in every shop when the daemon starts
    cold: dict[str, tuple[str, float]] = {}
    if args.cold:
        for i, (name, sim) in enumerate(shops.items()):
            order = sim.place_order(lines=[(SKUS[i % 4], 1)], email=f"{name}-first@example.se")
            cold[name] = (str(order), 0.0)
    with tempfile.TemporaryDirectory(prefix="brygga-busy-") as tmp:
        folder = Path(tmp)
        path = folder / "brygga.toml"
        path.write_text(
            config_text(
                folder,
                names,
                erp_table,
                shop_tables,
                f"{args.interval:g}s",
                dict.fromkeys(hot, args.hot_workers) if args.hot_workers else None,
            ),
            encoding="utf-8",
        )
        loaded, plugins = load(path)
        http = HttpContext(transport=RoutingTransport(apps))
        control: DaemonControl[ResolvedConnection] = DaemonControl()
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
            )
            await control.wait_started()
            cold_started = time.time()
            cold = {name: (order, cold_started) for name, (order, _) in cold.items()}
            with anyio.fail_after(120):  # every connection has polled once
                while not all(rec.log for rec in shop_recs.values()):  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            with anyio.move_on_after(args.cold_patience):
                while not all(
                    document_reference(n, "se", o) in watch.seen for n, (o, _) in cold.items()
                ):
                    await watch.event.wait()
            cold_erp_requests = len(erp_rec.log)
            cold_requests_by_path = _by_endpoint(erp_rec.log)
            await anyio.sleep(1.5)  # the limiters' first (conservative) window is over
            started_wall, started = time.time(), time.monotonic()
            total = int(args.duration * args.rate)
            for i in range(total):
                wait = started + i / args.rate - time.monotonic()
                if wait > 0:
                    await anyio.sleep(wait)
                name = _arrival(i, names, hot, quiet, share)
                order = shops[name].place_order(
                    lines=[(SKUS[i % 4], 1 + i % 3), (SKUS[(i + 1) % 4], 1)],
                    email=f"{name}-kund{i}@example.se",
                    freight=Decimal("49.00"),
                )
                arrived[name].append((str(order), time.time()))
            await anyio.sleep(max(0.0, started + args.duration - time.monotonic()))
            window_end = time.time()
            with anyio.move_on_after(args.drain):  # the rest, for the latency figures
                while not all(
                    document_reference(n, "se", o) in watch.seen
                    for n, orders in arrived.items()
                    for o, _ in orders
                ):
                    await watch.event.wait()
            control.request_stop()
        states, errors = _states(folder / "state.db")
    window = window_end - started_wall
    firsts = [
        watch.seen[document_reference(n, "se", o)] - t
        for n, (o, t) in cold.items()
        if document_reference(n, "se", o) in watch.seen
    ]
    cold_figures = {
        "orders": len(cold),
        "transferred": len(firsts),
        "time_to_first_document_s": {
            "min": round(min(firsts), 2) if firsts else None,
            "median": round(statistics.median(firsts), 2) if firsts else None,
            "max": round(max(firsts), 2) if firsts else None,
        },
        "erp_requests": cold_erp_requests,
        "erp_requests_per_connection": round(cold_erp_requests / max(1, len(cold)), 2),
        # the agreement's reference data (product list, VAT chain): read once per agreement
        # and process since the shared cache, once per connection before it
        "reference_requests": sum(
            n for k, n in cold_requests_by_path.items() if k.startswith(_REFERENCE)
        ),
        "erp_requests_by_endpoint": cold_requests_by_path,
    }
    done_in_window: dict[str, int] = {}
    oldest: dict[str, float | None] = {}
    latencies: list[float] = []
    medians: list[float] = []
    after = 0
    for name, orders in arrived.items():
        seen = [(watch.seen.get(document_reference(name, "se", o)), t) for o, t in orders]
        done_in_window[name] = sum(1 for s, _ in seen if s is not None and s <= window_end)
        after += sum(1 for s, _ in seen if s is not None and s > window_end)
        waiting = [window_end - t for s, t in seen if s is None or s > window_end]
        oldest[name] = round(max(waiting), 2) if waiting else None
        mine = [s - t for s, t in seen if s is not None]
        latencies += mine
        if mine:
            medians.append(statistics.median(mine))
    per_min = [60 * n / window for n in done_in_window.values()]
    low, high = min(per_min), max(per_min)
    mean = statistics.fmean(per_min)
    # no transfer in the window: unavoidable for (connections - transfers) of them even if the
    # account's capacity were spread perfectly evenly; starved: the oldest order waited longer
    # than the whole window
    without = [n for n in names if arrived[n] and done_in_window[n] == 0]
    starved = [n for n in names if (oldest[n] or 0) > window]
    waits = [w for w in oldest.values() if w is not None]
    erp_requests = [r for r in erp_rec.log if started_wall <= r.start <= window_end]
    every = [*erp_rec.log, *(r for rec in shop_recs.values() for r in rec.log)]
    return Figures(
        connections=args.connections,
        duration_s=round(window, 2),
        rate_per_s=args.rate,
        limits=args.limits,
        erp_limit_enforced=limit,
        arrived=sum(len(v) for v in arrived.values()),
        transferred_in_window=sum(done_in_window.values()),
        transferred_after=after,
        per_connection_per_min={
            "min": round(low, 2),
            "median": round(statistics.median(per_min), 2),
            "max": round(high, 2),
            "mean": round(mean, 2),
        },
        spread_max_over_min=round(high / low, 2) if low else None,
        cv=round(statistics.pstdev(per_min) / mean, 3) if mean else None,
        without_transfer=without,
        without_transfer_unavoidable=max(
            0, sum(1 for n in names if arrived[n]) - sum(done_in_window.values())
        ),
        starved=starved,
        oldest_waiting_s={
            "min": round(min(waits), 2) if waits else None,
            "median": round(statistics.median(waits), 2) if waits else None,
            "max": round(max(waits), 2) if waits else None,
        },
        latency_s=percentiles(latencies),
        median_latency_by_connection_s={
            "min": round(min(medians), 3) if medians else None,
            "median": round(statistics.median(medians), 3) if medians else None,
            "max": round(max(medians), 3) if medians else None,
        },
        http_429=sum(1 for r in every if r.status == 429),
        erp_requests=len(erp_requests),
        erp_requests_per_s=round(len(erp_requests) / window, 2),
        load_average_before=load_before,
        load_average_after=load_average(),
        cold=cold_figures,
        erp_requests_by_endpoint_in_window=_by_endpoint(erp_requests),
        states_at_end=states,
        errors_at_end=errors,
        done_by_connection=done_in_window,
        groups={
            label: _group(members, arrived, watch.seen, window_end)
            for label, members in (("busy", hot), ("quiet", quiet))
        }
        if hot and quiet
        else {},
    )


def _arrival(i: int, names: list[str], hot: list[str], quiet: list[str], share: float) -> str:
    """The connection order ``i`` arrives on: round-robin over all of them, or with ``--hot``
    ``share`` of the orders round-robin over the busy ones and the rest over the quiet ones
    (spread evenly: order ``i`` is a busy one's when the busy count steps up at it)."""
    if not hot or not quiet:
        return names[i % len(names)]
    before = int(i * share)
    if int((i + 1) * share) > before:
        return hot[before % len(hot)]
    return quiet[(i - before) % len(quiet)]


def _group(
    members: list[str],
    arrived: dict[str, list[tuple[str, float]]],
    seen: dict[str, float],
    window_end: float,
) -> dict[str, Any]:
    """Orders, transfers in the window and latencies of some of the connections."""
    latencies: list[float] = []
    medians: list[float] = []
    done = count = 0
    for name in members:
        times = [(seen.get(document_reference(name, "se", o)), t) for o, t in arrived[name]]
        count += len(times)
        done += sum(1 for s, _ in times if s is not None and s <= window_end)
        mine = [s - t for s, t in times if s is not None]
        latencies += mine
        if mine:
            medians.append(statistics.median(mine))
    return {
        "connections": len(members),
        "arrived": count,
        "transferred_in_window": done,
        "latency_s": percentiles(latencies),
        "median_latency_by_connection_s": {
            "min": round(min(medians), 3) if medians else None,
            "median": round(statistics.median(medians), 3) if medians else None,
            "max": round(max(medians), 3) if medians else None,
        },
    }


def _states(state: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Work items by register and state, and the ten commonest ``last_error`` texts."""
    import sqlite3

    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        states = {
            f"{register} {state}": n
            for register, state, n in conn.execute(
                "SELECT register, state, COUNT(*) FROM work_items GROUP BY register, state"
            )
        }
        errors = {
            text[:160]: n
            for text, n in conn.execute(
                "SELECT last_error, COUNT(*) AS n FROM work_items WHERE last_error != ''"
                " GROUP BY last_error ORDER BY n DESC LIMIT 10"
            )
        }
    finally:
        conn.close()
    return states, errors


#: the endpoints of e-conomic's reference data (``GET /products`` is the product list)
_REFERENCE = (
    "GET /products",
    "GET /product-groups/",
    "GET /accounts/",
    "GET /vat-accounts/",
)


def _by_endpoint(log: list[Any]) -> dict[str, int]:
    """``GET /accounts/{n}``: numbers folded so requests group by endpoint."""
    import re

    counts: dict[str, int] = {}
    for req in log:
        path = re.sub(r"/\d+(?=/|$)", "/{n}", req.path.split("?", 1)[0])
        key = f"{req.method} {path}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _line(f: Figures) -> str:
    p = f.per_connection_per_min
    w = f.oldest_waiting_s
    lat = f.latency_s
    limit = (
        f"{f.erp_limit_enforced['requests']:g}/{f.erp_limit_enforced['per_seconds']:g}s"
        if f.erp_limit_enforced
        else "lifted"
    )
    c = f.cold
    first = c.get("time_to_first_document_s", {})
    cold = (
        f"  cold start: one order waiting in each of {c['orders']} shops; {c['transferred']} "
        f"transferred; time to each connection's first ERP document min {first['min']} s  "
        f"median {first['median']} s  max {first['max']} s; "
        f"{c['erp_requests']} ERP requests ({c['erp_requests_per_connection']} per connection, "
        f"{c.get('reference_requests')} of them reference data)\n"
        if c.get("orders")
        else ""
    )
    return cold + (
        f"{f.connections} connections on one e-conomic account (limit {limit}), "
        f"{f.arrived} orders at {f.rate_per_s:g}/s over {f.duration_s:.0f} s:\n"
        f"  transferred in the window {f.transferred_in_window} "
        f"({f.transferred_in_window / f.duration_s:.2f} orders/s; {f.erp_requests_per_s} ERP "
        f"requests/s), {f.transferred_after} after it; {f.http_429} × 429\n"
        f"  per connection, orders/min: min {p['min']}  median {p['median']}  max {p['max']}  "
        f"(max/min {f.spread_max_over_min}, CV {f.cv})\n"
        f"  without a transfer in the window: {len(f.without_transfer)} (an even spread of "
        f"{f.transferred_in_window} transfers leaves {f.without_transfer_unavoidable} without); "
        f"starved (oldest order waited longer than the window): {len(f.starved)}"
        f"{' ' + ', '.join(f.starved[:10]) if f.starved else ''}\n"
        f"  oldest order still waiting at the window's end, per connection: min {w['min']} s  "
        f"median {w['median']} s  max {w['max']} s\n"
        f"  latency (all transferred): p50 {lat['p50']} s  p95 {lat['p95']} s  max {lat['max']} s;"
        f" median per connection {f.median_latency_by_connection_s}\n"
        f"  ERP requests in the window: {f.erp_requests_by_endpoint_in_window}\n"
        f"  work items at the end: {f.states_at_end}\n"
        f"  errors at the end: {f.errors_at_end}\n"
        + "".join(
            f"  {label} connections ({g['connections']}): {g['arrived']} orders, "
            f"{g['transferred_in_window']} transferred in the window; latency p50 "
            f"{g['latency_s']['p50']} s  p95 {g['latency_s']['p95']} s  max "
            f"{g['latency_s']['max']} s; median per connection "
            f"{g['median_latency_by_connection_s']}\n"
            for label, g in f.groups.items()
        )
        + f"  load average {' '.join(map(str, f.load_average_before))} → "
        f"{' '.join(map(str, f.load_average_after))}"
    )


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    figures = await measure_once(args)
    if not args.json:
        print(_line(figures), flush=True)
    return {
        "benchmark": "busy_connections",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "connections": args.connections,
            "duration_s": args.duration,
            "rate_per_s": args.rate,
            "poll_interval_s": args.interval,
            "limits": args.limits,
            "erp_limit": args.erp_limit,
            "hot": args.hot,
            "hot_share": args.hot_share,
            "hot_workers": args.hot_workers,
            "declared": {k: declared_limit(k) for k in ("starweb", "economic")},
        },
        "runs": [asdict(figures)],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=100, help="connections (100)")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of arrivals (40)")
    parser.add_argument("--rate", type=float, default=4.0, help="orders/s over all shops (4)")
    parser.add_argument("--interval", type=float, default=2.0, help="poll interval, s (2)")
    parser.add_argument("--limits", choices=["on", "off"], default="on")
    parser.add_argument(
        "--erp-limit",
        type=float,
        nargs=2,
        metavar=("REQUESTS", "SECONDS"),
        help="the account's limit, enforced by the simulator and configured on the client "
        "(default: the adapter's declared limit, client config untouched)",
    )
    parser.add_argument(
        "--drain", type=float, default=10.0, help="seconds to wait for the rest after the window"
    )
    parser.add_argument(
        "--no-cold",
        dest="cold",
        action="store_false",
        help="no order waiting in each shop at start (no cold phase)",
    )
    parser.add_argument(
        "--cold-patience",
        type=float,
        default=240.0,
        help="seconds to wait for the cold phase's orders (240)",
    )
    parser.add_argument(
        "--hot", type=int, default=0, help="the first N connections are busy ones (0: none)"
    )
    parser.add_argument(
        "--hot-share",
        type=float,
        default=None,
        help="share of the orders that arrive on the busy connections (their even share)",
    )
    parser.add_argument(
        "--hot-workers",
        type=int,
        default=None,
        help="order workers of each busy connection (the config's default, 2)",
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
