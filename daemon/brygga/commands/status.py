"""`brygga status`: whether a daemon runs, one line per connection and register (state file)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx

from brygga.commands.common import (
    ConfigView,
    brygga_command,
    format_table,
    load_state_config,
    open_state,
    terminal_width,
)
from brygga.errors import BryggaError, ConfigError
from brygga.http.server import parse_listen
from brygga.store.lock import daemon_running
from brygga.sync.status_watch import WATCH

__all__ = ["daemon_line", "run", "status_report"]

RUNNABLE = ("waiting", "new", "sending", "reconcile", "retry")


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    if seconds < -1:  # recorded by a clock ahead of this one
        return f"{-seconds}s in the future (check this host's clock)"
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def daemon_line(view: ConfigView) -> tuple[str, bool]:
    """Whether a daemon holds the state file's lock, as a line to print, and whether that is
    what is wanted (a config whose connections are all disabled needs no daemon)."""
    line, fine, _running = _daemon(view)
    return line, fine


def _daemon(view: ConfigView) -> tuple[str, bool, bool]:
    """:func:`daemon_line`, and whether a daemon runs (False when that cannot be told)."""
    state = view.state_path
    try:
        running = daemon_running(state)
    except OSError as exc:
        return f"daemon: cannot tell whether one runs on {state} ({exc.strerror})", False, False
    if running:
        return f"daemon: running on {state}", True, True
    wanted = any(c.config.enabled for c in view.connections)
    return (
        f"daemon: NOT RUNNING: no brygga daemon holds {state}, so nothing is polled or sent; "
        f"start it: {brygga_command()} run -c {view.path} (or systemctl start brygga)",
        not wanted,
        False,
    )


def _register_state(failing: bool, late: bool, failed: int, ahead: bool = False) -> str:
    """The register's one word: what to look at first."""
    if failing:
        return "failing"
    if late:
        return "late"
    if ahead:
        return "clock"  # work written ahead of the clock waits for it to catch up
    if failed:
        return "errors"  # failed records wait in `brygga errors list`
    return "ok"


def _last_success(last: datetime | None, tracked: bool, done: int, now: datetime) -> str:
    """The register's last success; a register whose outcomes record no health of their own
    (``orders.changed`` reports under ``orders``, ``orders.shop_change`` under none) says so
    rather than 'never' beside its done records."""
    if not tracked and done:
        return "last success not tracked"
    return f"last success {_age(last, now)}"


async def _report(
    loaded: ConfigView, now: datetime, *, width: int | None = None, running: bool = True
) -> int:
    """One headline per connection and an aligned line per register; exit code 1 when a
    connection needs attention. ``running``: a daemon works on the state file; without one,
    "healthy" is what the state file says as the daemon left it ("last known: healthy")."""
    path = loaded.state_path
    if not path.exists():
        print(f"no state yet at {path}: the daemon has not run with this config")
        return 0
    unhealthy = 0
    blocks: list[tuple[str, int]] = []  # (headline, how many table rows follow)
    rows: list[tuple[str, ...]] = []
    async with await open_state(path) as store:  # never migrates: a daemon may run on it
        boards = await store.status.all()
        for conn in loaded.connections:
            counts = await store.items.counts(conn.name)
            # work written under a clock that has since gone back: due only when it catches up
            future = await store.items.ahead(conn.name, now)
            # a register with no records yet still shows when its pollers have a status row
            # (a catalog poller failing from its first poll)
            polled = {b.subject for b in boards if b.connection == conn.name}
            registers = sorted({r for r, _ in counts} | polled | {"orders"})
            problems = []
            for register in registers:
                backlog = sum(n for (r, s), n in counts.items() if r == register and s in RUNNABLE)
                failed = counts.get((register, "failed"), 0)
                done = counts.get((register, "done"), 0)
                # the register's own row(s) and its pollers' rows (one per shop)
                boards_for = [
                    b for b in boards if b.connection == conn.name and b.subject == register
                ]
                last = max((b.last_success for b in boards_for if b.last_success), default=None)
                interval = conn.config.poll.orders
                late = (
                    register == "orders"
                    and conn.config.enabled
                    and (last is None or now - last > timedelta(seconds=3 * interval + 60))
                )
                failing = any(b.state == "failing" for b in boards_for)
                ahead = future.get(register)
                state = _register_state(failing, late, failed, ahead is not None)
                if ahead is not None:
                    wait = max(0, int((ahead.due - now).total_seconds())) // 60
                    problems.append(
                        f"{ahead.rows} {register} record(s) written ahead of the clock, due up "
                        f"to {wait}m in the future (the clock went back? the daemon moves them "
                        "back when it starts, and within the hour while it runs)"
                    )
                if failed:
                    problems.append(f"{failed} failed {register} record(s)")
                if failing or late:
                    problems.append(f"{register} {'failing' if failing else 'late'}")
                errors = [
                    f"polling {b.instance} failed: {b.last_error}" if b.polling else b.last_error
                    for b in sorted(boards_for, key=lambda b: not b.polling)
                    if b.state == "failing" and b.last_error
                ]
                rows.append(
                    (
                        register,
                        state,
                        _last_success(last, bool(boards_for), done, now),
                        # watched orders wait for ERP events by design: no backlog
                        f"watching {backlog}" if register == WATCH else f"backlog {backlog}",
                        f"done {done}",
                        f"failed {failed}",
                        f"— {errors[0]}" if errors else "",
                    )
                )
            if not conn.config.enabled:
                headline = f"{conn.name}: disabled"
            elif problems:
                headline = f"{conn.name}: ATTENTION: " + ", ".join(problems)
                unhealthy += 1
            elif running:
                headline = f"{conn.name}: healthy"
            else:
                headline = f"{conn.name}: last known: healthy"
            blocks.append((headline, len(registers)))
    lines = iter(format_table(rows, indent="    ", width=width))
    for headline, count in blocks:
        print(headline)
        for _ in range(count):
            print(next(lines))
    return 1 if unhealthy else 0


async def status_report(view: ConfigView, now: datetime, *, width: int | None = None) -> int:
    """The whole `status` output: the daemon line, then every connection; exit code 1 when
    something needs attention (no daemon included)."""
    state = view.state_path
    if not state.exists():
        if _daemon(view)[2]:
            print(
                f"daemon: running, but its state file {state} is gone (deleted or moved while "
                "it runs): it writes to a file no other command sees and that is lost when it "
                "stops; restart it (it starts a new state file and reads the shops back "
                "`lookback`; the shops' export marks keep orders from going twice)"
            )
            return 1
        return await _report(view, now, width=width)
    line, fine, running = _daemon(view)
    print(line)
    unready = await _not_ready(view) if running else None
    if unready:
        print(f"daemon: NOT READY: {unready}")
    code = await _report(view, now, width=width, running=running)
    return 1 if code or not fine or unready else 0


async def _not_ready(view: ConfigView) -> str | None:
    """What the running daemon's own /readyz says is not ready, or None (ready, or it cannot
    be asked). The state file can be behind the daemon: one that cannot write to it (a full
    disk) cannot record that its connections are down, but says so here."""
    try:
        host, port = parse_listen(view.config.daemon.listen)
    except ConfigError:
        return None
    if port == 0:
        return None  # a free port chosen at start: not known here
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        # our own daemon on loopback, not a vendor: no limiter, no retries
        async with httpx.AsyncClient(timeout=2.0) as client:
            answer = await client.get(f"http://{where}/readyz")
    except httpx.HTTPError:
        return None
    if answer.status_code == 200:
        return None
    try:
        names = [str(n) for n in answer.json().get("not_ready", [])]
    except (ValueError, AttributeError):
        names = []
    return (
        f"its /readyz at {where} answers {answer.status_code}"
        f" ({', '.join(names) or 'no detail'}); the lines below come from the state file and "
        "may be behind (a full disk or an unwritable state file keeps the daemon from "
        "recording it): see the daemon's log"
    )


def run(args: argparse.Namespace) -> int:
    try:
        view = load_state_config(Path(args.config))
        return anyio.run(
            lambda: status_report(
                view, datetime.now(UTC), width=None if args.full else terminal_width()
            ),
            backend="asyncio",
        )
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
