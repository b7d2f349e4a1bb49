"""The daemon's composition root: store, metrics, HTTP endpoint, one actor per connection."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import anyio
import msgspec
from anyio.abc import TaskStatus

from brygga.config import LoadedConfig, ResolvedConnection
from brygga.http.app import WebhookRegistry
from brygga.http.client import HttpContext
from brygga.metrics import ItemOutcome, Metrics
from brygga.models import Register
from brygga.plugins import PluginHost
from brygga.runtime.actor import ActorDeps, run_connection
from brygga.runtime.daemon import DaemonControl, serve_daemon
from brygga.runtime.housekeeping import keep_history_bounded
from brygga.runtime.limiterstate import LimiterKeeper
from brygga.runtime.state_watch import StateFileWatch
from brygga.runtime.supervisor import StopToken
from brygga.store import Store
from brygga.store.lock import DaemonLock
from brygga.sync.engine import HOLD_ROW, wake_on_external_change
from brygga.sync.observer import FanoutObserver, FlowObserver
from brygga.sync.wiring import load_checked

__all__ = ["MetricsObserver", "daemon_keys_changed", "seed_last_success", "serve"]

log = logging.getLogger(__name__)


def daemon_keys_changed(running: LoadedConfig, fresh: LoadedConfig) -> list[str]:
    """The ``[daemon]`` keys whose value differs in ``fresh``: a SIGHUP reload applies only the
    connections, so these need a restart (the operator is told, not left guessing)."""
    before = msgspec.structs.asdict(running.config.daemon)
    after = msgspec.structs.asdict(fresh.config.daemon)
    return sorted(key for key in after if before.get(key) != after[key])


#: how often backlog and failed-record gauges are refreshed from the store
GAUGE_REFRESH = 5.0


#: work-item states that count as outcomes in brygga_items_total ("waiting" is only a pause)
_OUTCOMES: dict[str, ItemOutcome] = {
    "done": "done",
    "failed": "failed",
    "skipped": "skipped",
    "retry": "retried",
    "held": "held",
}


class MetricsObserver:
    """Feeds flow reports into the daemon's Prometheus metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        known = _OUTCOMES.get(outcome)
        if known is not None:
            self._metrics.item(connection, register, known)

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        now = datetime.now(UTC)
        self._metrics.transfer_latency.labels(connection, register).observe(latency_seconds)
        self._metrics.succeeded(connection, register, at=now)


async def seed_last_success(store: Store, metrics: Metrics, names: list[str]) -> None:
    """Start ``brygga_last_success_timestamp_seconds`` from the state file, so a register that
    stopped working before a restart is still seen as stale (not as never having worked)."""
    registers = {register.value for register in Register}
    for row in await store.status.all():
        if row.connection in names and row.register in registers and row.last_success:
            metrics.succeeded(row.connection, row.register, at=row.last_success)


async def _refresh_gauges(
    store: Store, metrics: Metrics, names: Callable[[], Sequence[str]]
) -> None:
    """Every :data:`GAUGE_REFRESH` seconds, for the connections running then (``names``): one
    a reload added gets its gauges, one it removed is not given them back after the
    supervisor dropped its series."""
    while True:
        await refresh_gauges_once(store, metrics, list(names()))
        await anyio.sleep(GAUGE_REFRESH)


async def _watch_state_file(watch: StateFileWatch) -> None:
    """Say it in the log when the state file disappears, also with nobody asking /readyz."""
    while True:
        if not watch.ok():
            return  # said once; /readyz goes on asking
        await anyio.sleep(GAUGE_REFRESH)


async def refresh_gauges_once(store: Store, metrics: Metrics, names: list[str]) -> None:
    """Set the gauges read from the state file: backlog, failed records, credentials held."""
    # a connection whose work is held because a remote refuses its credentials shows a
    # failing HOLD_ROW status row (brygga.sync.engine); its runner is up all the same
    held = {
        row.connection
        for row in await store.status.all()
        if row.instance == HOLD_ROW and row.state == "failing"
    }
    for name in names:
        metrics.set_credentials_rejected(name, name in held)
        counts = await store.items.counts(name)
        for register in {r for r, _ in counts}:
            backlog = sum(
                n
                for (r, s), n in counts.items()
                if r == register and s in ("waiting", "new", "sending", "reconcile", "retry")
            )
            metrics.set_backlog(name, register, backlog)
            metrics.set_failed_records(name, register, counts.get((register, "failed"), 0))


async def serve(
    loaded: LoadedConfig,
    host: PluginHost,
    *,
    control: DaemonControl[ResolvedConnection] | None = None,
    http: HttpContext | None = None,
    observers: tuple[FlowObserver, ...] = (),
    handle_os_signals: bool = True,
    metrics: Metrics | None = None,
    task_status: TaskStatus[ActorDeps] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the daemon for a loaded config until stopped; the demo calls this in-process.

    The composition root: the process's dependencies (:class:`ActorDeps`) are built here,
    once, and passed down. Their clock is ``http.clock`` (pass an HttpContext built on a
    FakeClock to fake it); the engine, pollers, supervisor, history keeper, rate limiters and
    token cache all run on it.

    The rate limiters of ``http`` go on from what the last daemon on the state file left, and
    their windows are kept there while this one runs and when it stops
    (:mod:`brygga.runtime.limiterstate`).
    """
    metrics = metrics or Metrics()
    lock = DaemonLock(loaded.state_path)
    lock.acquire()
    try:
        store = await Store.open(loaded.state_path)
    except BaseException:
        lock.release()
        raise
    keeper: LimiterKeeper | None = None
    # the file the store opened; deleted under the daemon, it says so (log, /readyz)
    state_file = StateFileWatch(loaded.state_path)
    try:
        deps = ActorDeps(
            store=store,
            run_id=uuid.uuid4().hex,
            http=http or HttpContext(on_request=metrics.http_request),
            mappings=tuple(host.mappings),
            observer=FanoutObserver([MetricsObserver(metrics), *observers]),
            webhooks=WebhookRegistry(),
        )
        # the rate limiters go on from what the last process left (before any is created)
        keeper = await LimiterKeeper.start(
            store.limiters, deps.http.limiters, deps.clock, deps.run_id
        )
        targets = [c for c in loaded.connections if c.config.enabled]

        async def runner(conn: ResolvedConnection, token: StopToken) -> None:
            await run_connection(conn, token, deps)

        def reload_targets() -> list[ResolvedConnection]:
            fresh = load_checked(loaded.path, host)
            changed = daemon_keys_changed(loaded, fresh)
            if changed:
                log.warning(
                    "reload: [daemon] %s changed; a reload applies only the connections, "
                    "restart brygga for it to apply",
                    ", ".join(changed),
                )
            return [c for c in fresh.connections if c.config.enabled]

        async with anyio.create_task_group() as tg:
            await seed_last_success(store, metrics, [c.name for c in targets])
            tg.start_soon(_watch_state_file, state_file)
            tg.start_soon(_refresh_gauges, store, metrics, lambda: sorted(deps.flows))
            # work another process records (errors retry, replay) wakes the idle workers
            tg.start_soon(wake_on_external_change, store, deps.engines)
            tg.start_soon(
                keep_history_bounded, store, loaded.config.daemon.keep_history, deps.clock
            )
            tg.start_soon(keeper.run)
            task_status.started(deps)
            await serve_daemon(
                targets=targets,
                runner=runner,
                clock=deps.clock,
                rng=deps.rng,
                metrics=metrics,
                listen=loaded.config.daemon.listen,
                shutdown_deadline=loaded.config.daemon.shutdown_deadline,
                reload_targets=reload_targets,
                ready_checks=lambda: {"store": True, "state_file": state_file.ok()},
                handle_os_signals=handle_os_signals,
                control=control,
                webhooks=deps.webhooks,
                restart_backoff=loaded.config.daemon.restart_backoff,
                restart_backoff_max=loaded.config.daemon.restart_backoff_max,
            )
            tg.cancel_scope.cancel()
    finally:
        # every task of this process has ended: no request can start any more
        if keeper is not None:
            await keeper.stop()
        with anyio.CancelScope(shield=True):
            await store.close()
        state_file.close()
        lock.release()
