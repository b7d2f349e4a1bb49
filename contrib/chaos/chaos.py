"""Chaos run: `brygga run` killed with SIGKILL again and again while faults rain and orders arrive.

Run by hand for the long version (prints its figures)::

    .venv/bin/python contrib/chaos/chaos.py --orders 1000 --kills 10 --seed 7

The simulators (Starweb shop, e-conomic ERP, taken from the installed plugins) run in this
process on loopback with fault injection: 5xx, 429 with Retry-After, slow answers, dropped
connections, commit-then-fail on document creation, duplicated order-list pages and pages that
drift while the daemon walks them. The daemon runs as a real subprocess and is SIGKILLed at
random moments; at the end every order must be in the ERP exactly once, and the error queue must
hold no transient failure. Seeded: a failing seed reproduces the same plan (timings still vary,
so a failure may need a few runs with the same seed). Exit status 0 when every promise held.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import anyio

from brygga.plugins import PluginHost
from brygga.sync.orders import document_reference
from brygga.testing import DaemonProcess, Fault, free_port, serve_asgi, write_config

CONNECTION = "kaos"
SHOP = "se"
SKUS = ["KAFFE-500", "MUGG-VIT", "TE-100", "CHOKLAD-70", "BOK-01", "TIDNING-12", "TROJA-M"]


@dataclass
class Figures:
    seed: int
    orders: int = 0
    kills: int = 0
    starts: int = 0
    seconds: float = 0.0
    documents: int = 0
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempts: int = 0
    reconciled: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    latency_p50: float = 0.0
    latency_max: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.missing or self.failed)

    def report(self) -> str:
        lines = [
            f"chaos seed {self.seed}: {'OK' if self.ok else 'FAILED'}",
            f"  orders placed          {self.orders}",
            f"  daemon starts / kills  {self.starts} / {self.kills} (SIGKILL)",
            f"  ERP documents          {self.documents}",
            f"  duplicated orders      {len(self.duplicates)} {self.duplicates[:10]}",
            f"  missing orders         {len(self.missing)} {self.missing[:10]}",
            f"  failed records         {len(self.failed)} {self.failed[:5]}",
            f"  attempts (all items)   {self.attempts}",
            f"  reconciled by lookup   {self.reconciled}",
            f"  faults injected        {json.dumps(self.faults, sort_keys=True)}",
            f"  latency p50 / max      {self.latency_p50:.1f}s / {self.latency_max:.1f}s",
            f"  wall time              {self.seconds:.1f}s",
        ]
        return "\n".join(lines)


def quiet_injected_faults() -> None:
    """Injected drops surface as ASGI errors in the simulators' server log: expected here."""
    logging.getLogger("brygga.http.hypercorn").setLevel(logging.CRITICAL)


def _arm_faults(shop: Any, erp: Any, rng: Random) -> None:
    """The weather: every kind of fault the issue names, at rates a real day would envy."""
    for faults in (shop.faults, erp.faults):
        faults.loopback_stall = 0.4  # 'timeout' = stall, then the connection drops
        faults.add(Fault("status", status=503, probability=0.03))
        faults.add(Fault("rate_limit", retry_after=0.3, probability=0.02))
        faults.add(Fault("delay", seconds=0.3, probability=0.03))
        faults.add(Fault("timeout", probability=0.01))
        faults.add(Fault("drop", probability=0.01))
    erp.faults.add(
        Fault(
            "commit_then_fail",
            methods=frozenset({"POST"}),
            path=r"^/(invoices|orders)/drafts",
            probability=0.08,
            then_timeout=rng.random() < 0.5,
        )
    )
    # a slow ERP: the draft lands 8 s later, even when the daemon is killed meanwhile (the kill
    # then leaves a write in doubt, which must not be sent again before it can be seen)
    erp.faults.add(
        Fault(
            "late_commit",
            methods=frozenset({"POST"}),
            path=r"^/(invoices|orders)/drafts",
            probability=0.05,
            seconds=8.0,
        )
    )
    shop.faults.add(
        Fault("commit_then_fail", methods=frozenset({"PUT", "POST", "PATCH"}), probability=0.05)
    )
    shop.knobs.duplicate_pages = True


def _store_figures(state: Path, figures: Figures) -> list[float]:
    with sqlite3.connect(state) as db:
        figures.failed = [
            f"{row[0]}: {row[1]}"
            for row in db.execute(
                "SELECT external_id, last_error FROM work_items WHERE state = 'failed'"
            )
        ]
        figures.attempts = int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])
        figures.reconciled = int(
            db.execute("SELECT COUNT(*) FROM events WHERE kind = 'reconciled'").fetchone()[0]
        )
        rows = db.execute(
            "SELECT created_at, done_at FROM work_items WHERE register = 'orders'"
            " AND state = 'done'"
        ).fetchall()
    latencies = []
    for created, done in rows:
        start = time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S")
        end = time.strptime(done[:19], "%Y-%m-%dT%H:%M:%S")
        latencies.append(time.mktime(end) - time.mktime(start))
    return latencies


async def run_chaos(
    *, orders: int, kills: int, seed: int, workdir: Path, deadline: float = 600.0
) -> Figures:
    """Place ``orders`` while killing the daemon ``kills`` times; verify exactly-once."""
    rng = Random(seed)
    figures = Figures(seed=seed)
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop: Any = shop_spec.simulator(seed=seed, page_size=25)
    erp: Any = erp_spec.simulator()
    shop.faults.in_process = erp.faults.in_process = False
    erp.set_rate_limit((60, 1.0))  # the ERP's own limit: some 429s are real, not injected
    _arm_faults(shop, erp, rng)
    placed: list[str] = []
    started = time.monotonic()
    stop = anyio.Event()
    port = free_port()
    async with anyio.create_task_group() as tg:
        shop_port = await tg.start(serve_asgi, shop.app, stop)
        erp_port = await tg.start(serve_asgi, erp.app, stop)
        config = write_config(
            workdir / "chaos.toml",
            state=str(workdir / "state.db"),
            listen=f"127.0.0.1:{port}",
            name=CONNECTION,
            erp={
                **erp.adapter_config(f"http://127.0.0.1:{erp_port}"),
                "rate_limit": {"requests": 200, "per_seconds": 1.0},
            },
            shops=[
                {
                    **shop.adapter_config(f"http://127.0.0.1:{shop_port}/api/v2", name=SHOP),
                    "rate_limit": {"requests": 200, "per_seconds": 1.0},
                }
            ],
            daemon={"shutdown_deadline": "5s", "log_level": "warning", "restart_backoff": "0.2s"},
            connection={"registers": {"price_lists": "off"}, "poll": {"orders": "0.5s"}},
            sections={
                "orders": {
                    "overlap": "30s",
                    "lookback": "1h",
                    "workers": 3,
                    "revisit": "2s",
                    "retry_max": "3s",
                }
            },
        )
        daemon = DaemonProcess(config, port, workdir / "daemon.log")
        per_phase = max(1, orders // (kills + 1))

        async def place(count: int) -> None:
            for _ in range(count):
                if len(placed) >= orders:
                    return
                placed.append(
                    shop.place_order(
                        lines=[
                            (rng.choice(SKUS), rng.randint(1, 4)) for _ in range(rng.randint(1, 4))
                        ],
                        email=f"kund{rng.randint(1, 60)}@example.se",
                        freight=Decimal(rng.choice(["0", "49.00", "79.00"])),
                        discount_percent=Decimal(rng.choice(["0", "0", "10"])),
                    )
                )
                if rng.random() < 0.05:
                    shop.knobs.drift += 1  # the next list walk sees rows move under it
                await anyio.sleep(rng.uniform(0.0, 0.02))

        for _ in range(kills):
            await daemon.start()
            figures.starts += 1
            await place(per_phase)
            await anyio.sleep(rng.uniform(0.2, 2.0))  # let it work; the kill lands anywhere
            await daemon.kill()
            figures.kills += 1
        await daemon.start()
        figures.starts += 1
        await place(orders - len(placed))

        def copies(oid: str) -> int:
            ref = document_reference(CONNECTION, SHOP, oid)
            return len(erp.documents_with_reference(ref))

        with anyio.move_on_after(deadline):
            while not all(copies(oid) >= 1 for oid in placed):  # noqa: ASYNC110 - polls the sim
                await anyio.sleep(0.25)
        shop.faults.clear()
        erp.faults.clear()
        await anyio.sleep(2.0)  # let write-backs and retries settle without faults
        code = await daemon.terminate()
        if code != 0:
            figures.failed.append(f"daemon exited {code} on SIGTERM")
        stop.set()

    figures.orders = len(placed)
    figures.documents = len(erp.documents())
    for oid in placed:
        n = copies(oid)
        if n == 0:
            figures.missing.append(oid)
        elif n > 1:
            figures.duplicates.append(oid)
    for source in (shop.faults.fired, erp.faults.fired):
        for kind, count in source.items():
            figures.faults[kind] = figures.faults.get(kind, 0) + count
    latencies = _store_figures(workdir / "state.db", figures)
    if latencies:
        figures.latency_p50 = statistics.median(latencies)
        figures.latency_max = max(latencies)
    figures.seconds = time.monotonic() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--workdir", help="keep the state, config and daemon log here")
    args = parser.parse_args(argv)
    quiet_injected_faults()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="brygga-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"chaos: {args.orders} orders, {args.kills} kills, seed {args.seed}, in {workdir}")
    figures = anyio.run(
        lambda: run_chaos(orders=args.orders, kills=args.kills, seed=args.seed, workdir=workdir),
        backend="asyncio",
    )
    print(figures.report())
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
