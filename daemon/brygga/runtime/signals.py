"""POSIX signals: SIGTERM/SIGINT stop the daemon, a second SIGINT forces it, SIGHUP reloads."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskStatus

__all__ = ["FORCED_EXIT_STATUS", "before_forced_exit", "force_exit", "handle_signals"]

log = logging.getLogger(__name__)


#: Exit status after a forced stop (128 + SIGINT, what shells report for Ctrl-C).
FORCED_EXIT_STATUS = 130


#: what must happen even on a forced exit (synchronous, quick, no I/O beyond the local disk)
_LAST_WORDS: list[Callable[[], None]] = []


def before_forced_exit(action: Callable[[], None]) -> Callable[[], None]:
    """Run ``action`` when :func:`force_exit` leaves (e.g. the demo removes its temporary
    folder, which holds the simulators' secrets); returns the function that takes it back."""
    _LAST_WORDS.append(action)

    def forget() -> None:
        if action in _LAST_WORDS:
            _LAST_WORDS.remove(action)

    return forget


def force_exit() -> None:
    """Leave now, skipping cleanup but what :func:`before_forced_exit` registered: the user
    asked twice. The store stays consistent (SQLite WAL); items caught in ``sending`` are
    reconciled at the next start."""
    for action in list(_LAST_WORDS):
        try:
            action()
        except Exception:  # leaving anyway; the next action may still work
            log.exception("cleanup before a forced exit failed")
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(FORCED_EXIT_STATUS)


async def handle_signals(
    on_stop: Callable[[], None],
    on_reload: Callable[[], Awaitable[None]],
    *,
    on_force: Callable[[], None] = force_exit,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Receive SIGTERM, SIGINT and SIGHUP until cancelled (run it in the daemon's task group).

    The first SIGTERM or SIGINT calls ``on_stop()`` (graceful stop); later SIGTERMs are ignored
    (systemd escalates to SIGKILL itself), a second SIGINT calls ``on_force()``, by default
    :func:`force_exit` (the process exits 130 at once). SIGHUP runs ``on_reload()`` in a task of
    its own, so a SIGTERM during a slow reload still stops at once (``on_reload`` serialises
    overlapping reloads itself); SIGHUP is ignored once stopping, and an exception from
    ``on_reload`` is logged while the daemon runs on. Must run in the main thread.
    """

    async def reload() -> None:
        try:
            await on_reload()
        except Exception:
            log.exception("reload failed; the daemon keeps running")

    async with anyio.create_task_group() as tg:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            stopping = False
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGHUP:
                    if stopping:
                        log.info("%s ignored: the daemon is stopping", name)
                    else:
                        log.info("%s: reloading the configuration", name)
                        tg.start_soon(reload)
                elif not stopping:
                    stopping = True
                    log.info("%s: stopping (in-flight work finishes first)", name)
                    on_stop()
                elif signum == signal.SIGINT:
                    log.warning("%s again: forcing exit", name)
                    on_force()
                else:
                    log.info("%s ignored: the daemon is already stopping", name)
