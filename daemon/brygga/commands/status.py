"""`brygga status`: one line per connection and register, read from the state file."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from brygga.commands.common import load
from brygga.config import LoadedConfig
from brygga.errors import BryggaError
from brygga.store import Store

RUNNABLE = ("waiting", "new", "sending", "reconcile", "retry")


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


async def _report(loaded: LoadedConfig, now: datetime) -> int:
    path = loaded.state_path
    if not path.exists():
        print(f"no state yet at {path}: the daemon has not run with this config")
        return 0
    unhealthy = 0
    async with await Store.open(path) as store:
        boards = await store.status.all()
        for conn in loaded.connections:
            counts = await store.items.counts(conn.name)
            registers = sorted({r for r, _ in counts} | {"orders"})
            lines, problems = [], []
            for register in registers:
                backlog = sum(n for (r, s), n in counts.items() if r == register and s in RUNNABLE)
                failed = counts.get((register, "failed"), 0)
                done = counts.get((register, "done"), 0)
                # the register's own row(s) and its pollers' rows (one per shop)
                boards_for = [
                    b for b in boards if b.connection == conn.name and b.subject == register
                ]
                last = max((b.last_success for b in boards_for if b.last_success), default=None)
                state = "ok"
                if any(b.state == "failing" for b in boards_for):
                    state = "failing"
                interval = conn.config.poll.orders
                if (
                    register == "orders"
                    and conn.config.enabled
                    and (last is None or now - last > timedelta(seconds=3 * interval + 60))
                ):
                    state = "late" if state == "ok" else state
                if failed:
                    problems.append(f"{failed} failed {register} record(s)")
                if state != "ok":
                    problems.append(f"{register} {state}")
                errors = [
                    f"polling {b.instance} failed: {b.last_error}" if b.polling else b.last_error
                    for b in sorted(boards_for, key=lambda b: not b.polling)
                    if b.state == "failing" and b.last_error
                ]
                detail = f" — {errors[0]}" if errors else ""
                lines.append(
                    f"    {register:18} {state:8} last success {_age(last, now):10} "
                    f"backlog {backlog:<5} done {done:<6} failed {failed}{detail}"
                )
            if not conn.config.enabled:
                headline = "disabled"
            elif problems:
                headline = "ATTENTION: " + ", ".join(problems)
                unhealthy += 1
            else:
                headline = "healthy"
            print(f"{conn.name}: {headline}")
            print("\n".join(lines))
    return 1 if unhealthy else 0


def run(args: argparse.Namespace) -> int:
    try:
        loaded, _ = load(Path(args.config))
        return anyio.run(_report, loaded, datetime.now(UTC), backend="asyncio")
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
