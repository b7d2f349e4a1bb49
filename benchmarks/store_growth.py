"""Store growth: the state file and its hot queries as bindings grow to 100,000 and 1,000,000
(history pruning on), and what ``synchronous=FULL`` costs per order against NORMAL.

Part 1, growth. A state file is made by ``Store.open`` (every migration), then filled with
synthetic rows through SQL on a plain sqlite3 connection (the store's own schema, its triggers
firing): for each size in ``--bindings`` (default 10,000, 100,000 and 1,000,000, added to the
same file in turn) that many order bindings (``entity = 'orders'``), and, because history
pruning is on (``keep_history``), a bounded history: ``--history`` finished order items (default
20,000, each with one attempt and one event) that does not grow with the bindings, plus
``--pending`` due items for the claims. After a WAL checkpoint the file is reopened with
``Store.open`` and each hot query is timed through the store's own API (the hop to aiosqlite's
thread included), ``--reps`` times (median and p95, µs):

- ``claim``: ``items.claim(..., binds="orders")``: the due item with its binding read, one
  write transaction (the commit's fsync included: ``synchronous=FULL``);
- ``next_due``, ``counts`` (``brygga status`` and the gauges), ``bindings.target_of`` (a bound
  order, and one that is not bound), ``enqueue`` of an order already bound (a poll re-seeing
  it: one write transaction), and ``prune_history`` with nothing old enough (hourly);
- the file: ``page_count × page_size`` and the rows per table.

Part 2, ``synchronous``. The store sets ``PRAGMA synchronous = FULL`` in
``Database.open`` and has no switch, so this benchmark sets ``PRAGMA synchronous = NORMAL``
on the store's connection itself (``store.db.fetchall``, outside any transaction) and reads it
back. It runs the full orders flow of ``orders_throughput.py`` (``--orders`` orders at 1 and 8
workers) with FULL and NORMAL in turn (``--pairs`` pairs, A B A B), and times single write
transactions (one enqueue each) under both: the per-order and per-commit cost of the fsync.
In WAL mode NORMAL skips the fsync at commit (a power cut may lose the last transactions, never
corrupt the file); the state file's exactly-once guarantees rest on FULL.

::

    .venv/bin/python benchmarks/store_growth.py                          # 10k, 100k, 1M; sync
    .venv/bin/python benchmarks/store_growth.py --bindings 100000 --skip-sync --json

The file lives in ``--dir`` (default the system temp dir; its file system is printed: a tmpfs
would make fsyncs free). The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env, latency, orders_throughput
from bench_env import code_under_test, machine, print_document
from latency import load_average

from brygga.store import Store
from brygga.store.db import to_ts
from brygga.store.keys import work_key

CONNECTION, REGISTER, ENTITY, SHOP, ERP = "demo", "orders", "orders", "se", "economic"
BATCH = 50_000


# -- filling the file -----------------------------------------------------------------------


def fill(path: Path, *, bindings_from: int, bindings_to: int, history: int, pending: int) -> float:
    """Add bindings ``bindings_from`` … ``bindings_to - 1`` (and, the first time, the bounded
    history and the due items) with plain SQL; return the seconds it took."""
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")  # a bulk load, not what is measured
        now = datetime.now(UTC)
        stamp = to_ts(now)
        conn.execute("BEGIN")
        for start in range(bindings_from, bindings_to, BATCH):
            rows = [
                (CONNECTION, ENTITY, SHOP, str(i), ERP, str(900_000_000 + i), stamp)
                for i in range(start, min(bindings_to, start + BATCH))
            ]
            conn.executemany(
                "INSERT INTO bindings (connection, entity, source_instance, source_id,"
                " target_instance, target_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        if bindings_from == 0:
            _history(conn, now, history, pending)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


def _history(conn: sqlite3.Connection, now: datetime, history: int, pending: int) -> None:
    """The last ``history`` orders, finished within the kept window (their bindings are among
    the first ones), and ``pending`` orders due now with no binding."""
    rng = random.Random(7)
    for i in range(history):
        done = to_ts(now - timedelta(seconds=rng.uniform(60, 30 * 86400)))
        external = str(i)
        cur = conn.execute(
            "INSERT INTO work_items (connection, register, instance, external_id,"
            " idempotency_key, state, attempts, next_attempt, reference, result, created_at,"
            " updated_at, done_at) VALUES (?, ?, ?, ?, ?, 'done', 1, ?, ?, ?, ?, ?, ?)",
            (
                CONNECTION,
                REGISTER,
                SHOP,
                external,
                work_key(CONNECTION, REGISTER, SHOP, external),
                done,
                f"brygga:{CONNECTION}:{SHOP}:{external}",
                str(900_000_000 + i),
                done,
                done,
                done,
            ),
        )
        item = cur.lastrowid
        conn.execute(
            "INSERT INTO attempts (work_item_id, attempt, started_at, finished_at, outcome)"
            " VALUES (?, 1, ?, ?, 'done')",
            (item, done, done),
        )
        conn.execute(
            "INSERT INTO events (at, connection, register, instance, external_id,"
            " work_item_id, kind, message) VALUES (?, ?, ?, ?, ?, ?, 'transferred', ?)",
            (done, CONNECTION, REGISTER, SHOP, external, item, "document 1"),
        )
    due = to_ts(now - timedelta(seconds=1))
    for i in range(pending):
        external = f"p{i}"
        conn.execute(
            "INSERT INTO work_items (connection, register, instance, external_id,"
            " idempotency_key, state, next_attempt, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?)",
            (
                CONNECTION,
                REGISTER,
                SHOP,
                external,
                work_key(CONNECTION, REGISTER, SHOP, external),
                due,
                due,
                due,
            ),
        )


def file_figures(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        rows = {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("bindings", "work_items", "attempts", "events")
        }
    finally:
        conn.close()
    wal = path.with_name(path.name + "-wal")
    return {
        "file_mb": round(pages * size / 1e6, 1),
        "wal_mb": round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0,
        "rows": rows,
    }


# -- timing the hot queries -----------------------------------------------------------------


async def timed(reps: int, call: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    """Median / p95 / max in µs of ``reps`` awaited calls (after 5 unmeasured ones)."""
    for i in range(5):
        await call(i)
    samples = []
    for i in range(reps):
        started = time.perf_counter()
        await call(5 + i)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples), 1),
        "p95_us": round(samples[int(0.95 * (len(samples) - 1))], 1),
        "max_us": round(samples[-1], 1),
    }


async def hot_queries(path: Path, bound: int, reps: int, run: int, history: int) -> dict[str, Any]:
    store = await Store.open(path)
    rng = random.Random(run)
    try:
        now = datetime.now(UTC)
        figures: dict[str, Any] = {}

        async def claim(i: int) -> None:
            item = await store.items.claim(
                connection=CONNECTION, register=REGISTER, now=now, run_id=f"r{run}", binds=ENTITY
            )
            assert item is not None, "no due item left: raise --pending"

        figures["claim"] = await timed(reps, claim)

        async def next_due(i: int) -> None:
            await store.items.next_due(connection=CONNECTION, register=REGISTER)

        figures["next_due"] = await timed(reps, next_due)

        async def counts(i: int) -> None:
            await store.items.counts(CONNECTION)

        figures["counts"] = await timed(reps, counts)

        async def bound_lookup(i: int) -> None:
            found = await store.bindings.target_of(
                CONNECTION, ENTITY, SHOP, str(rng.randrange(bound))
            )
            assert found is not None

        figures["bindings.target_of (bound)"] = await timed(reps, bound_lookup)

        async def unbound_lookup(i: int) -> None:
            await store.bindings.target_of(CONNECTION, ENTITY, SHOP, f"none{i}")

        figures["bindings.target_of (not bound)"] = await timed(reps, unbound_lookup)

        async def enqueue_seen(i: int) -> None:
            await store.items.enqueue(
                connection=CONNECTION,
                register=REGISTER,
                instance=SHOP,
                external_id=str(rng.randrange(history)),  # a finished item of the history
                now=now,
                ready=True,
            )

        figures["enqueue (already known)"] = await timed(reps, enqueue_seen)

        async def prune(i: int) -> None:
            await store.prune_history(now - timedelta(days=90))

        figures["prune_history (nothing to prune)"] = await timed(max(5, reps // 20), prune)
        return figures
    finally:
        await store.close()


async def growth(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    path = folder / "state.db"
    store = await Store.open(path)  # the schema, by the store's own migrations
    await store.close()
    results = []
    have = 0
    pending_needed = (args.reps + 5) * len(args.bindings)
    for n in sorted(args.bindings):
        seconds = fill(
            path,
            bindings_from=have,
            bindings_to=n,
            history=args.history,
            pending=pending_needed,
        )
        have = n
        entry = {
            "bindings": n,
            "fill_s": round(seconds, 1),
            **file_figures(path),
            "queries": await hot_queries(path, n, args.reps, len(results), args.history),
            "load_average": load_average(),
        }
        results.append(entry)
        if not args.json:
            _print_growth(entry)
    return results


def _print_growth(entry: dict[str, Any]) -> None:
    rows = entry["rows"]
    print(
        f"{entry['bindings']:>9,} bindings: file {entry['file_mb']} MB (+ WAL {entry['wal_mb']}"
        f" MB; {rows['work_items']:,} work items, {rows['attempts']:,} attempts, "
        f"{rows['events']:,} events; filled in {entry['fill_s']} s; load "
        f"{' '.join(map(str, entry['load_average']))})",
        flush=True,
    )
    for name, q in entry["queries"].items():
        print(
            f"    {name:34s} median {q['median_us']:8.1f} µs  p95 {q['p95_us']:8.1f} µs  "
            f"max {q['max_us']:9.1f} µs",
            flush=True,
        )


# -- synchronous FULL vs NORMAL -------------------------------------------------------------


async def set_synchronous(store: Store, mode: str) -> int:
    """Set ``PRAGMA synchronous`` on the store's connection; return what SQLite reports."""
    await store.db.fetchall(f"PRAGMA synchronous = {mode}")
    row = await store.db.fetchone("PRAGMA synchronous")
    assert row is not None
    return int(row[0])


async def orders_run(mode: str, orders: int, workers: int) -> dict[str, Any]:
    import orders_throughput as ot

    with tempfile.TemporaryDirectory(prefix="brygga-sync-") as tmp:
        async with ot.SimulatedConnection.open(
            Path(tmp),
            shop_options={"seed": 3},
            shop_config={"rate_limit": ot.UNLIMITED},
            erp_config={"rate_limit": ot.UNLIMITED},
            orders={"workers": workers},
        ) as env:
            level = await set_synchronous(env.store, mode)
            ot._place(env, orders)
            flow = env.flow()
            states: Counter[str] = Counter()
            started = time.perf_counter()
            await flow.poll_once(env.shop_name)
            await ot._drain(flow, ot.REGISTER, workers, states)
            await ot._drain(flow, ot.WRITEBACK, workers, states)
            seconds = time.perf_counter() - started
            documents = len(env.erp.documents())
    return {
        "mode": mode,
        "synchronous_reported": level,
        "workers": workers,
        "orders": orders,
        "documents": documents,
        "seconds": round(seconds, 3),
        "orders_per_s": round(orders / seconds, 1),
        "ms_per_order": round(1000 * seconds / orders, 3),
    }


async def commit_cost(mode: str, reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="brygga-commit-") as tmp:
        store = await Store.open(Path(tmp) / "state.db")
        try:
            level = await set_synchronous(store, mode)
            now = datetime.now(UTC)

            async def write(i: int) -> None:
                await store.items.enqueue(
                    connection=CONNECTION,
                    register=REGISTER,
                    instance=SHOP,
                    external_id=f"c{i}",
                    now=now,
                    ready=True,
                )

            return {"mode": mode, "synchronous_reported": level, **await timed(reps, write)}
        finally:
            await store.close()


async def sync_cost(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    commits: list[dict[str, Any]] = []
    for _ in range(args.pairs):
        for mode in ("FULL", "NORMAL"):
            commits.append(await commit_cost(mode, args.reps))
            for workers in args.workers:
                runs.append(await orders_run(mode, args.orders, workers))
    summary: dict[str, Any] = {}
    for workers in args.workers:
        full = [r["ms_per_order"] for r in runs if r["mode"] == "FULL" and r["workers"] == workers]
        normal = [
            r["ms_per_order"] for r in runs if r["mode"] == "NORMAL" and r["workers"] == workers
        ]
        summary[f"{workers} worker(s)"] = {
            "ms_per_order_full": statistics.median(full),
            "ms_per_order_normal": statistics.median(normal),
            "full_costs_ms_per_order": round(
                statistics.median(full) - statistics.median(normal), 3
            ),
        }
    summary["commit"] = {
        "median_us_full": statistics.median(c["median_us"] for c in commits if c["mode"] == "FULL"),
        "median_us_normal": statistics.median(
            c["median_us"] for c in commits if c["mode"] == "NORMAL"
        ),
    }
    if not args.json:
        for key, value in summary.items():
            print(f"synchronous FULL vs NORMAL, {key}: {value}", flush=True)
    return {"summary": summary, "orders_runs": runs, "commit_runs": commits}


def filesystem(folder: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "-T", str(folder)], capture_output=True, text=True, check=True
        ).stdout.splitlines()[-1]
        return out.split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(args.dir) if args.dir else Path(tempfile.gettempdir())
    document: dict[str, Any] = {
        "benchmark": "store_growth",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "bindings": args.bindings,
            "history": args.history,
            "reps": args.reps,
            "orders": args.orders,
            "workers": args.workers,
            "pairs": args.pairs,
            "dir": str(base),
            "filesystem": filesystem(base),
            "load_average_before": load_average(),
        },
    }
    if not args.json:
        print(f"state files in {base} ({document['parameters']['filesystem']})", flush=True)
    if not args.skip_growth:
        with tempfile.TemporaryDirectory(prefix="brygga-growth-", dir=base) as tmp:
            document["growth"] = await growth(args, Path(tmp))
    if not args.skip_sync:
        document["synchronous"] = await sync_cost(args)
    document["load_average_after"] = load_average()
    return document


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bindings",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="binding counts, grown in one file (default 10k 100k 1M)",
    )
    parser.add_argument(
        "--history", type=int, default=20_000, help="finished items kept (pruning on; 20,000)"
    )
    parser.add_argument("--reps", type=int, default=300, help="timed calls per query (300)")
    parser.add_argument("--orders", type=int, default=200, help="orders per sync run (200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8], help="(1 8)")
    parser.add_argument("--pairs", type=int, default=2, help="FULL/NORMAL pairs (2)")
    parser.add_argument("--dir", default="", help="where the state files are made")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json, f"; load average {' '.join(map(str, load_average()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
