"""The daemon's root: HTTP endpoint, supervisor, systemd notify, watchdog and signals together."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Generic

import anyio
from anyio.abc import TaskStatus

from brygga.clock import Clock
from brygga.errors import ConfigError
from brygga.http.app import WebhookRegistry, create_app
from brygga.http.server import serve_http
from brygga.metrics import Metrics
from brygga.runtime.backoff import RandomSource
from brygga.runtime.notify import SystemdNotifier, run_watchdog
from brygga.runtime.runner import ReloadResult, Runner, T
from brygga.runtime.signals import handle_signals
from brygga.runtime.supervisor import Supervisor

__all__ = ["DaemonControl", "serve_daemon"]

log = logging.getLogger(__name__)

#: Seconds the endpoint gives in-flight requests when it closes.
_HTTP_GRACE = 5.0


class DaemonControl(Generic[T]):
    """A handle on a running daemon: stop or reload it from code (tests, ``brygga demo``).

    Pass one to :func:`serve_daemon` or take the one it reports through ``task_status``.
    ``port`` and ``supervisor`` are set once the daemon is up.
    """

    def __init__(self) -> None:
        self._stop = anyio.Event()
        self._started = anyio.Event()
        self.port: int | None = None
        self.supervisor: Supervisor[T] | None = None
        self._reload_fn: _Reloader[T] | None = None

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Begin the graceful stop (what SIGTERM does); returns at once."""
        self._stop.set()

    async def wait_stop_requested(self) -> None:
        await self._stop.wait()

    async def wait_started(self) -> None:
        """Return once the daemon is up: endpoint listening, runners started, signals handled."""
        await self._started.wait()

    async def reload(self) -> ReloadResult | None:
        """Re-read the targets and apply them (what SIGHUP does); None if that failed or the
        daemon is not running or stopping."""
        if self._reload_fn is None or self._stop.is_set():
            return None
        return await self._reload_fn()


class _Reloader(Generic[T]):
    def __init__(
        self,
        supervisor: Supervisor[T],
        reload_targets: Callable[[], Sequence[T]],
        notifier: SystemdNotifier,
        status: Callable[[], str],
    ) -> None:
        self._supervisor = supervisor
        self._reload_targets = reload_targets
        self._notifier = notifier
        self._status = status
        self._lock = anyio.Lock()

    async def __call__(self) -> ReloadResult | None:
        async with self._lock:
            self._notifier.reloading()
            try:
                try:
                    targets = self._reload_targets()
                except ConfigError as exc:
                    log.error("reload: the new configuration is invalid, keeping the old: %s", exc)
                    return None
                if self._supervisor.stopping:
                    return None
                return await self._supervisor.reload(targets)
            finally:
                self._notifier.ready()
                self._notifier.status(self._status())


async def serve_daemon(
    *,
    targets: Sequence[T],
    runner: Runner[T],
    clock: Clock,
    rng: RandomSource,
    metrics: Metrics,
    listen: str,
    shutdown_deadline: float,
    reload_targets: Callable[[], Sequence[T]],
    ready_checks: Callable[[], Mapping[str, bool]] | None = None,
    notifier: SystemdNotifier | None = None,
    handle_os_signals: bool = True,
    control: DaemonControl[T] | None = None,
    webhooks: WebhookRegistry | None = None,
    restart_backoff: float = 1.0,
    restart_backoff_max: float = 300.0,
    stable_after: float = 60.0,
    task_status: TaskStatus[DaemonControl[T]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the daemon until stopped (SIGTERM/SIGINT or ``control.request_stop()``), then
    return normally: the CLI exits 0.

    Order of start: HTTP endpoint (``listen``, e.g. ``127.0.0.1:9464``; port 0 picks one,
    see ``control.port``), supervisor with ``targets`` (each run as ``runner(target, token)``),
    signal handler, watchdog; then READY=1 and a STATUS line. On stop: STOPPING=1, the runners
    get ``shutdown_deadline`` seconds to finish in-flight work before they are cancelled, then
    the endpoint closes. SIGHUP calls ``reload_targets()`` (raise ConfigError to keep the old
    config) and restarts only the connections that changed. /readyz is 200 when every
    connection runs, the daemon is not stopping and every extra ``ready_checks`` entry is true.
    ``clock`` and ``rng`` are the process's (:class:`~brygga.runtime.deps.Deps`): restart
    backoff, grace periods and the watchdog run on them.
    """
    notifier = notifier if notifier is not None else SystemdNotifier()
    control = control if control is not None else DaemonControl()
    supervisor: Supervisor[T] = Supervisor(
        runner,
        targets,
        metrics=metrics,
        backoff_initial=restart_backoff,
        backoff_max=max(restart_backoff, restart_backoff_max),
        stable_after=stable_after,
        reload_grace=shutdown_deadline,
        clock=clock,
        rng=rng,
    )

    def checks() -> dict[str, bool]:
        result = {"daemon": not control.stop_requested}
        result.update(supervisor.ready_checks())
        if ready_checks is not None:
            result.update(ready_checks())
        return result

    def status_line() -> str:
        states = supervisor.statuses().values()
        running = sum(1 for s in states if s.started)
        failing = sorted(s.name for s in states if s.failing)
        text = f"{running}/{len(states)} connections running"
        if failing:
            text += "; failing: " + ", ".join(failing)
        return f"{text}; http on port {control.port}"

    app = create_app(metrics, ready_checks=checks, webhooks=webhooks)
    http_stop = anyio.Event()
    try:
        async with anyio.create_task_group() as root:
            control.port = await root.start(
                partial(
                    serve_http,
                    app,
                    listen,
                    shutdown_trigger=http_stop.wait,
                    graceful_timeout=_HTTP_GRACE,
                )
            )
            try:
                async with anyio.create_task_group() as tasks:
                    await tasks.start(supervisor.run)
                    reloader = _Reloader(supervisor, reload_targets, notifier, status_line)
                    control.supervisor = supervisor
                    control._reload_fn = reloader
                    if handle_os_signals:
                        await tasks.start(
                            partial(handle_signals, control.request_stop, _discard(reloader))
                        )
                    tasks.start_soon(run_watchdog, notifier, clock)
                    notifier.ready()
                    notifier.status(status_line())
                    log.info("brygga is running: %s", status_line())
                    control._started.set()
                    task_status.started(control)
                    await control.wait_stop_requested()
                    notifier.stopping()
                    notifier.status("stopping: finishing in-flight work")
                    # systemd's TimeoutStopSec must not cut the grace period short
                    notifier.extend_timeout(shutdown_deadline + _HTTP_GRACE + 5)
                    log.info("stopping: waiting up to %.1f s for in-flight work", shutdown_deadline)
                    await supervisor.stop(shutdown_deadline)
                    tasks.cancel_scope.cancel()
            finally:
                http_stop.set()
    finally:
        control._reload_fn = None
        notifier.close()
    log.info("brygga stopped")


def _discard(reloader: _Reloader[T]) -> Callable[[], Awaitable[None]]:
    async def reload() -> None:
        await reloader()

    return reload
