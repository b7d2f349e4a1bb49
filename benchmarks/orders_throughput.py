"""Orders throughput: the full orders flow between both simulators in-process, timed and counted.

Places N orders in a simulated Starweb shop, then times one poll of the change feed and W workers
sending every order to a simulated e-conomic (and then writing every document number back to
the shop), all in this process with no injected latency. Prints orders/s, write transactions
per order, HTTP requests per order and the profile's top entries; ``--json`` prints one JSON
document instead::

    .venv/bin/python benchmarks/orders_throughput.py                  # 300 orders, 1/4/8 workers
    .venv/bin/python benchmarks/orders_throughput.py --orders 1000 --workers 1 8 --json

Run it against another checkout with ``PYTHONPATH=<checkout>/daemon:<checkout>/plugins``.

How it is measured:

- Rate limits: the adapters' own limits (10 requests/s) would dominate, so the shop and ERP
  configs get ``rate_limit = { requests = 1000000, per_seconds = 0.001 }`` (``shop_config``,
  ``erp_config``). No fake clock is passed: the flow runs on the system clock, as in the daemon.
- Timed: one ``poll_once`` (discovery and enqueueing), then W workers claiming and processing
  orders until none is left, then W workers doing the same for the write-back register. Setting
  up the simulators, the store and the orders is not timed.
- Write transactions are counted at SQLite, not in brygga: ``sqlite3.connect`` is wrapped in this
  process only so that every connection gets a trace callback; a transaction is a ``BEGIN`` or a
  write statement run outside one (autocommit). Nothing in production code counts.
- HTTP requests are counted twice: by ``HttpContext.on_request`` (any arguments accepted) when
  the context allows setting it, and by the simulators' own request logs (``requests``).
- The profile (cProfile, the event loop's thread only; top 15 by cumulative and by own time) is a
  separate run, not the one timed.

Brygga API used (keep it small; adapt here when it changes): ``SimulatedConnection.open(directory,
shop_options=, shop_config=, erp_config=, orders=)``, ``env.shop.place_order``,
``env.shop.requests``, ``env.erp.requests``, ``env.erp.documents()``, ``env.http.on_request``,
``env.flow()``, ``flow.poll_once(shop)``, ``flow.claim(register)``, ``flow.process(item)``, and
the register names ``brygga.sync.orders.REGISTER`` and ``WRITEBACK``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env beside this script
from bench_env import code_under_test, machine, print_document
from loopback_sims import LoopbackSimulators

try:
    from brygga.testing import SimulatedConnection
except ImportError:  # pragma: no cover - before 95c7d7e (the baseline 4088ab4): its old home
    from brygga.simulated import SimulatedConnection  # type: ignore[no-redef]

try:  # the register names; the engine rewrite may move them
    from brygga.sync.orders import REGISTER, WRITEBACK
except ImportError:  # pragma: no cover - adapt here
    REGISTER, WRITEBACK = "orders", "orders.writeback"

#: generous enough that no rate limiter ever waits (the first wait is one window: 1 ms)
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}
SKUS = ["KAFFE-500", "TE-100", "BOK-01", "TROJA-M"]
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


# -- counting at SQLite ---------------------------------------------------------------------


@dataclass
class SqlCounts:
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0
    #: write statements run outside an explicit transaction (each its own transaction)
    autocommit_writes: int = 0
    #: reads outside a transaction (each its own round trip to the store, but no write)
    autocommit_reads: int = 0
    statements: int = 0
    #: savepoints: units of work that a group commit put into one transaction
    savepoints: int = 0
    #: units of work: a transaction without savepoints is one, with them one per savepoint
    logical: int = 0
    #: write transactions by their first write ("UPDATE work_items"; "none": read only)
    by_first_write: dict[str, int] = field(default_factory=dict)

    @property
    def transactions(self) -> int:
        return self.begins + self.autocommit_writes


class SqlCounter:
    """Counts statements on every sqlite3 connection opened after :meth:`install`."""

    def __init__(self) -> None:
        self.counts = SqlCounts()
        self._lock = threading.Lock()

    def install(self) -> Callable[[], None]:
        """Wrap ``sqlite3.connect``; returns the function that puts the real one back."""
        real_connect = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn: sqlite3.Connection = real_connect(*args, **kwargs)
            conn.set_trace_callback(self._tracer(conn))
            return conn

        sqlite3.connect = connect  # type: ignore[assignment]

        def uninstall() -> None:
            sqlite3.connect = real_connect

        return uninstall

    def _tracer(self, conn: sqlite3.Connection) -> Callable[[str], None]:
        # of the open transaction: its first write ("" before one) and its savepoints
        first_write: list[str | None] = [None]
        savepoints = [0]

        def trace(statement: str) -> None:
            text = statement.lstrip()
            if text.startswith("--"):  # a trigger's statements
                return
            word = text[:11].upper()
            with self._lock:
                counts = self.counts
                counts.statements += 1
                if word.startswith("BEGIN"):
                    counts.begins += 1
                    first_write[0], savepoints[0] = "", 0
                elif word.startswith("SAVEPOINT"):
                    counts.savepoints += 1
                    savepoints[0] += 1
                elif word.startswith(("RELEASE", "ROLLBACK TO")):
                    pass
                elif word.startswith(("COMMIT", "END", "ROLLBACK")):
                    if word.startswith("ROLLBACK"):
                        counts.rollbacks += 1
                    else:
                        counts.commits += 1
                        counts.logical += max(1, savepoints[0])
                        key = first_write[0] or "none"
                        counts.by_first_write[key] = counts.by_first_write.get(key, 0) + 1
                    first_write[0], savepoints[0] = None, 0
                elif word.startswith(WRITES):
                    if first_write[0] == "":
                        first_write[0] = _write_key(text)
                    elif not conn.in_transaction:
                        counts.autocommit_writes += 1
                        counts.logical += 1
                        key = _write_key(text) + " (autocommit)"
                        counts.by_first_write[key] = counts.by_first_write.get(key, 0) + 1
                elif word.startswith(("SELECT", "WITH")) and not conn.in_transaction:
                    counts.autocommit_reads += 1

        return trace

    def reset(self) -> SqlCounts:
        with self._lock:
            counts, self.counts = self.counts, SqlCounts()
        return counts


SQL = SqlCounter()
_WRITE = re.compile(
    r"(INSERT|UPDATE|DELETE|REPLACE)\b(?:\s+OR\s+\w+)?(?:\s+INTO|\s+FROM)?\s+(\w+)", re.I
)


def _write_key(statement: str) -> str:
    """``UPDATE work_items`` for ``UPDATE work_items SET …``."""
    found = _WRITE.match(statement)
    return f"{found[1].upper()} {found[2]}" if found else statement.split(None, 1)[0].upper()


# -- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    workers: int
    orders: int
    seconds: float
    orders_per_s: float
    transactions: int
    tx_per_order: float
    #: write transactions plus reads outside one, per order
    store_ops_per_order: float
    #: units of work per order, counting each savepoint of a group commit as one
    logical_tx_per_order: float
    sql: dict[str, Any]
    #: requests the HttpContext hook saw (None: the hook could not be set)
    requests_hook: int | None
    requests_simulators: int
    requests_per_order: float
    requests_by_endpoint: dict[str, int]
    states: dict[str, int]
    erp_documents: int
    written_back: int
    profile: list[dict[str, Any]] = field(default_factory=list)
    profile_own: list[dict[str, Any]] = field(default_factory=list)
    #: % of the profiled thread's time by owner (see :func:`cpu_by_owner`)
    profile_owners: dict[str, float] = field(default_factory=dict)
    #: CPU milliseconds per order of this process (all its threads: the store's too)
    cpu_ms_per_order: float = 0.0
    #: CPU milliseconds per order of the simulators' child (``--simulators loopback`` only)
    simulators_cpu_ms_per_order: float | None = None


def _endpoint(system: str, method: str, path: str) -> str:
    """``starweb GET /orders/{id}``: ids and numbers folded so requests group by endpoint."""
    path = re.sub(r"/\d+(?=/|$)", "/{id}", path.split("?", 1)[0])
    return f"{system} {method} {path}"


def _place(env: Any, n: int) -> None:
    for i in range(n):
        env.shop.place_order(
            lines=[(SKUS[i % 4], 1 + i % 3), (SKUS[(i + 1) % 4], 1)],
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )


async def _drain(flow: Any, register: str, workers: int, states: Counter[str]) -> None:
    """W workers as the daemon runs them (``Engine.drain``: the plan's batch per claim, each
    outcome applied with the next claim), until nothing is due; older code without
    ``drain`` is driven one claim and one outcome at a time."""
    batch = getattr(flow, "batch", {}).get(register, 1)
    drain = getattr(flow.engine, "drain", None) if hasattr(flow, "engine") else None

    async def worker() -> None:
        if drain is not None:
            ran = await drain(register, batch)  # (not `+= await`: that reads before it waits)
            states[f"{register}:processed"] += ran
            return
        while True:
            item = await flow.claim(register)
            if item is None:
                return
            state = await flow.process(item)
            states[f"{register}:{getattr(state, 'value', state)}"] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)


def _simulators_report(env: Any) -> dict[str, Any]:
    """What the simulators saw: their request logs and the ERP's documents (evaluated where
    the simulators ran: this process, or the loopback child)."""
    return {
        "shop": [list(r) for r in env.shop.requests],
        "erp": [list(r) for r in env.erp.requests],
        "documents": len(env.erp.documents()),
        # in the loopback child: its own CPU since the fork (the clock starts at zero there)
        "cpu_s": time.process_time(),
    }


async def run_once(
    orders: int, workers: int, *, profile: bool = False, loopback: bool = False
) -> Run:
    sims = LoopbackSimulators() if loopback else None
    with tempfile.TemporaryDirectory(prefix="brygga-bench-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            with sims.recording() if sims is not None else contextlib.nullcontext():
                env = await stack.enter_async_context(
                    SimulatedConnection.open(
                        Path(tmp),
                        # ties in modifiedAt kept in orderId order, as a server that sorts
                        # stably does: the benchmark's one poll then finds every order (with
                        # shuffled ties a group at the window's end waits for the next poll)
                        shop_options={"seed": 3, "shuffle_ties": False},
                        shop_config={"rate_limit": UNLIMITED},
                        erp_config={"rate_limit": UNLIMITED},
                        orders={"workers": workers},
                    )
                )
            _place(env, orders)
            return await _timed(env, orders, workers, profile, sims)


async def _timed(
    env: Any, orders: int, workers: int, profile: bool, sims: LoopbackSimulators | None
) -> Run:
    hooked: list[tuple[Any, ...]] = []
    try:
        env.http.on_request = lambda *args: hooked.append(args)
        hook_set = True
    except (AttributeError, TypeError):  # a frozen context: count at the simulators
        hook_set = False
    flow = env.flow()
    shop_before, erp_before = len(env.shop.requests), len(env.erp.requests)
    states: Counter[str] = Counter()
    profiler = cProfile.Profile() if profile else None
    if sims is not None:
        sims.fork(lambda: _simulators_report(env))
    try:
        SQL.reset()
        started = time.perf_counter()
        cpu_started = time.process_time()
        if profiler is not None:
            profiler.enable()
        await flow.poll_once(env.shop_name)
        await _drain(flow, REGISTER, workers, states)
        await _drain(flow, WRITEBACK, workers, states)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        sql = SQL.reset()
    finally:
        seen = await sims.finish() if sims is not None else _simulators_report(env)
    endpoints: Counter[str] = Counter()
    for method, path in seen["shop"][shop_before:]:
        endpoints[_endpoint("starweb", method, path)] += 1
    for method, path in seen["erp"][erp_before:]:
        endpoints[_endpoint("economic", method, path)] += 1
    simulated = sum(endpoints.values())
    documents = seen["documents"]
    counts = await env.store.items.counts(env.connection)
    return Run(
        workers=workers,
        orders=orders,
        seconds=round(seconds, 4),
        orders_per_s=round(orders / seconds, 2),
        transactions=sql.transactions,
        tx_per_order=round(sql.transactions / orders, 2),
        store_ops_per_order=round((sql.transactions + sql.autocommit_reads) / orders, 2),
        logical_tx_per_order=round(sql.logical / orders, 2),
        sql=asdict(sql),
        requests_hook=len(hooked) if hook_set else None,
        requests_simulators=simulated,
        requests_per_order=round(simulated / orders, 2),
        requests_by_endpoint=dict(endpoints.most_common()),
        states=dict(states),
        erp_documents=documents,
        written_back=counts.get((WRITEBACK, "done"), 0),
        profile=_top(profiler, 15) if profiler is not None else [],
        profile_own=_top(profiler, 15, "tottime") if profiler is not None else [],
        profile_owners=cpu_by_owner(profiler) if profiler is not None else {},
        cpu_ms_per_order=round(cpu * 1000 / orders, 3),
        simulators_cpu_ms_per_order=(
            round(seen["cpu_s"] * 1000 / orders, 3) if sims is not None else None
        ),
    )


#: who a profiled function's own time belongs to, by its file (first match wins); built-ins and
#: the standard library (json, decimal, urllib …) belong to the caller that spent the most in them
OWNERS = (
    ("simulators", ("/simulator/", "/starlette/")),
    ("HTTP client (httpx)", ("/httpx/", "/httpcore/", "/h11/")),
    ("adapters", ("/plugins/",)),
    ("brygga core", ("/daemon/brygga/", "/brygga/")),
    ("store hand-off (aiosqlite)", ("/aiosqlite/",)),
    ("event loop (asyncio, anyio)", ("/asyncio/", "/anyio/", "/selectors.py", "/sniffio/")),
    ("other packages", ("site-packages/",)),
)
#: the event loop's wait for I/O: here, for the store's thread (nothing else blocks)
IDLE = "<method 'poll' of 'select.epoll' objects>"


def cpu_by_owner(profiler: cProfile.Profile) -> dict[str, float]:
    """The profiled thread's time by owner (:data:`OWNERS`), in % of the total, with the
    loop's idle wait (``idle``) apart. cProfile slows small calls more than big ones: shares,
    not exact costs."""
    entries = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def owner_of(function: tuple[str, int, str], depth: int = 0) -> str:
        filename = function[0]
        for owner, markers in OWNERS:
            if any(marker in filename for marker in markers):
                return owner
        callers = entries[function][4]
        if not callers or depth > 8:
            return "unattributed"
        heaviest = max(callers.items(), key=lambda kv: kv[1][2])[0]
        return owner_of(heaviest, depth + 1)

    spent: Counter[str] = Counter()
    for function, (_cc, _nc, own, _cum, _callers) in entries.items():
        spent["idle (waiting for the store)" if function[2] == IDLE else owner_of(function)] += own
    total = sum(spent.values()) or 1.0
    return {owner: round(100 * seconds / total, 1) for owner, seconds in spent.most_common()}


def _top(profiler: cProfile.Profile, n: int, key: str = "cumtime") -> list[dict[str, Any]]:
    stats = pstats.Stats(profiler)
    rows = []
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (cc, nc, tt, ct, _callers) in entries.items():
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": nc if nc == cc else f"{nc}/{cc}",
                "tottime": round(tt, 4),
                "cumtime": round(ct, 4),
            }
        )
    rows.sort(key=lambda row: row[key], reverse=True)
    return rows[:n]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/daemon/", "/plugins/", "/benchmarks/", "/lib/python3"):
        at = filename.rfind(marker)
        if at >= 0:
            return filename[at + len(marker) :] if marker != "/lib/python3" else filename[at + 1 :]
    return filename


# -- main -----------------------------------------------------------------------------------


def _median_run(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda run: run.orders_per_s)
    return ordered[len(ordered) // 2]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    uninstall = SQL.install()
    try:
        return await _measure(args)
    finally:
        uninstall()


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    loopback = args.simulators == "loopback"
    for workers in args.workers:
        runs = [await run_once(args.orders, workers, loopback=loopback) for _ in range(args.repeat)]
        median = _median_run(runs)
        entry = asdict(median)
        entry.pop("profile")
        entry.pop("profile_own")
        entry.pop("profile_owners")
        entry["orders_per_s_all"] = [run.orders_per_s for run in runs]
        entry["orders_per_s_median"] = statistics.median(run.orders_per_s for run in runs)
        results.append(entry)
        if not args.json:
            print(_line(median, runs), flush=True)
    document: dict[str, Any] = {
        "benchmark": "orders_throughput",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "orders": args.orders,
            "workers": args.workers,
            "repeat": args.repeat,
            "rate_limit": UNLIMITED,
            "clock": "system",
            "simulators": args.simulators,
        },
        "runs": results,
    }
    if args.profile_workers:
        profiled = await run_once(
            args.orders, args.profile_workers, profile=True, loopback=loopback
        )
        document["profile"] = {
            "workers": profiled.workers,
            "orders_per_s_under_profiler": profiled.orders_per_s,
            "top_cumulative": profiled.profile,
            "top_own_time": profiled.profile_own,
            "time_by_owner_percent": profiled.profile_owners,
        }
    return document


def _line(run: Run, runs: list[Run]) -> str:
    spread = ""
    if len(runs) > 1:
        rates = sorted(r.orders_per_s for r in runs)
        spread = f" (min {rates[0]:.1f}, max {rates[-1]:.1f}, {len(runs)} runs)"
    by_kind: dict[str, int] = run.sql.get("by_first_write", {})
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1]))
    return (
        f"{run.workers} worker(s): {run.orders_per_s:7.1f} orders/s{spread}  "
        f"{run.tx_per_order:5.2f} write tx/order ({run.logical_tx_per_order:.2f} units of work, "
        f"{run.store_ops_per_order:.2f} with reads)  "
        f"{run.requests_per_order:5.2f} requests/order  "
        f"[{run.orders} orders in {run.seconds:.2f} s, {run.erp_documents} ERP documents]\n"
        f"    CPU per order: {run.cpu_ms_per_order:.2f} ms in this process"
        + (
            f", {run.simulators_cpu_ms_per_order:.2f} ms in the simulators' child"
            if run.simulators_cpu_ms_per_order is not None
            else " (simulators included)"
        )
        + "\n"
        f"    write transactions by first write: {kinds}"
    )


def _print_profile(document: dict[str, Any]) -> None:
    profile = document.get("profile")
    if not profile:
        return
    print(
        f"\nprofile ({profile['workers']} worker(s), "
        f"{profile['orders_per_s_under_profiler']:.1f} orders/s under cProfile), "
        "top by cumulative time:"
    )
    _print_rows(profile["top_cumulative"])
    print("top by own time (tottime):")
    _print_rows(profile["top_own_time"])
    owners = profile.get("time_by_owner_percent") or {}
    if owners:
        print("the profiled thread's time by owner (cProfile: shares, not exact costs):")
        for owner, percent in owners.items():
            print(f"  {percent:5.1f} %  {owner}")


def _print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"  {'cumtime':>8} {'tottime':>8} {'calls':>10}  function")
    for row in rows:
        cum, tot, calls = row["cumtime"], row["tottime"], str(row["calls"])
        print(f"  {cum:8.3f} {tot:8.3f} {calls:>10}  {row['function']}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=300, help="orders per run (default 300)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 4, 8], help="worker counts (default 1 4 8)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (median)")
    parser.add_argument(
        "--profile-workers",
        type=int,
        default=1,
        help="workers in the separate profiled run (0: no profile; default 1)",
    )
    parser.add_argument(
        "--simulators",
        choices=["in-process", "loopback"],
        default="in-process",
        help="in-process: called through httpx.ASGITransport on this event loop (default); "
        "loopback: served by hypercorn from a forked child over loopback HTTP (loopback_sims.py)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json)
    if not args.json:
        _print_profile(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
