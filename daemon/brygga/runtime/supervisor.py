"""The supervisor: one cancel scope per connection, restart with backoff, reload, graceful stop."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Generic

import anyio
from anyio.abc import TaskGroup, TaskStatus

from brygga.clock import Clock
from brygga.metrics import Metrics
from brygga.runtime.backoff import Backoff, RandomSource
from brygga.runtime.runner import (
    ConnectionStatus,
    ReloadResult,
    Runner,
    StopToken,
    T,
    Target,
    describe_error,
)

__all__ = [
    "ConnectionStatus",
    "ReloadResult",
    "Runner",
    "StopToken",
    "Supervisor",
    "Target",
    "describe_error",
]

log = logging.getLogger(__name__)


async def wait_events(events: Sequence[anyio.Event], seconds: float, clock: Clock) -> bool:
    """Wait until every event is set, at most ``seconds`` on ``clock``; True if all were set."""
    if all(event.is_set() for event in events):
        return True
    async with anyio.create_task_group() as tg:

        async def timer() -> None:
            await clock.sleep(seconds)
            tg.cancel_scope.cancel()

        tg.start_soon(timer)
        for event in events:
            await event.wait()
        tg.cancel_scope.cancel()
    return all(event.is_set() for event in events)


class _Child(Generic[T]):
    """The supervisor's book-keeping for one connection incarnation."""

    def __init__(self, target: T, backoff: Backoff):
        self.target = target
        self.backoff = backoff
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.token = StopToken(target.name)
        self.started = False
        self.failing = False
        self.restarts = 0
        self.last_error: str | None = None
        self.last_failure_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.target.name

    def status(self) -> ConnectionStatus:
        return ConnectionStatus(
            name=self.name,
            fingerprint=self.target.fingerprint,
            started=self.started,
            failing=self.failing,
            stopped=self.done.is_set(),
            restarts=self.restarts,
            last_error=self.last_error,
            last_failure_at=self.last_failure_at,
        )


class Supervisor(Generic[T]):
    """Runs ``runner(target, token)`` for every target, each in its own cancel scope.

    A runner that raises is logged once when it starts failing (at debug level while it keeps
    failing, once more when it recovers), marked down in metrics, counted, and restarted after
    exponential backoff; its siblings never notice. The backoff starts over once a runner
    stayed up for ``stable_after`` seconds. A runner that returns normally
    is stopped for good (a reload starts it again).

    Backoff, grace periods and ``stable_after`` run on ``clock``, the jitter draws from
    ``rng``: the process's (:class:`~brygga.runtime.deps.Deps`), never defaults of its own.

    Use ``await task_group.start(supervisor.run)``; then :meth:`reload` and :meth:`stop` from
    any task.
    """

    def __init__(
        self,
        runner: Runner[T],
        targets: Iterable[T] = (),
        *,
        clock: Clock,
        rng: RandomSource,
        metrics: Metrics | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        backoff_jitter: float = 0.1,
        stable_after: float = 60.0,
        reload_grace: float = 10.0,
    ) -> None:
        self._runner = runner
        self._pending = self._by_name(targets)
        self._metrics = metrics
        self._backoff_args = (backoff_initial, backoff_max, backoff_jitter)
        Backoff(backoff_initial, backoff_max, jitter=backoff_jitter, rng=rng)  # validate early
        self._stable_after = stable_after
        self._reload_grace = reload_grace
        self._clock = clock
        self._rng = rng
        self._children: dict[str, _Child[T]] = {}
        self._tg: TaskGroup | None = None
        self._running = False
        self._stopping = False
        self._stopped = anyio.Event()
        self._reload_lock = anyio.Lock()

    # -- state ---------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _is_stopping(self) -> bool:
        # A method, so type checkers do not carry a narrowed value across awaits.
        return self._stopping

    def targets(self) -> list[T]:
        return [child.target for child in self._children.values()]

    def statuses(self) -> dict[str, ConnectionStatus]:
        return {name: child.status() for name, child in self._children.items()}

    def started(self, name: str) -> bool:
        child = self._children.get(name)
        return child is not None and child.started

    def all_started(self) -> bool:
        """Every configured connection's runner is running now."""
        return self._tg is not None and all(c.started for c in self._children.values())

    def ready_checks(self) -> dict[str, bool]:
        """``{"connection:<name>": running}`` for /readyz."""
        return {f"connection:{name}": c.started for name, c in self._children.items()}

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start every target, report started, and return once :meth:`stop` has finished."""
        if self._running:
            raise RuntimeError("the supervisor is already running")
        self._running = True
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if not self._stopping:
                    for target in self._pending.values():
                        self._launch(target)
                self._pending = {}
                task_status.started()
                await self._stopped.wait()
                tg.cancel_scope.cancel()  # nothing should be left; belt and braces
        finally:
            self._tg = None

    async def stop(self, deadline: float) -> None:
        """Ask every runner to stop, wait up to ``deadline`` seconds for them to return, then
        cancel the rest. Returns when all are gone; :meth:`run` then returns too."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        try:
            await self._stop_children(list(self._children.values()), deadline)
        finally:
            self._stopped.set()

    async def reload(self, new_targets: Iterable[T]) -> ReloadResult:
        """Apply a new set of targets: start new names, stop removed ones, restart those whose
        fingerprint changed (stop, wait, start with the new target) and leave the rest running.
        A connection that had stopped for good is started again."""
        new = self._by_name(new_targets)
        async with self._reload_lock:
            if self._tg is None or self._stopping:
                raise RuntimeError("reload needs a running supervisor that is not stopping")
            old = dict(self._children)
            removed = [name for name in old if name not in new]
            changed = [
                name
                for name, child in old.items()
                if name in new
                and (new[name].fingerprint != child.target.fingerprint or child.done.is_set())
            ]
            added = [name for name in new if name not in old]
            unchanged = [name for name in old if name in new and name not in changed]
            await self._stop_children(
                [old[name] for name in (*removed, *changed)], self._reload_grace
            )
            if self._is_stopping():
                return ReloadResult((), tuple(removed), (), tuple(unchanged))
            for name in removed:
                del self._children[name]
                if self._metrics is not None:
                    self._metrics.forget_connection(name)
            for name in (*changed, *added):
                self._launch(new[name])
        if removed or changed or added:
            log.info(
                "reload: started %s, stopped %s, restarted %s, unchanged %s",
                added or "-",
                removed or "-",
                changed or "-",
                unchanged or "-",
            )
        return ReloadResult(tuple(added), tuple(removed), tuple(changed), tuple(unchanged))

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _by_name(targets: Iterable[T]) -> dict[str, T]:
        by_name: dict[str, T] = {}
        for target in targets:
            if target.name in by_name:
                raise ValueError(f"two connections are named {target.name!r}")
            by_name[target.name] = target
        return by_name

    def _launch(self, target: T) -> None:
        assert self._tg is not None
        initial, maximum, jitter = self._backoff_args
        child = _Child(target, Backoff(initial, maximum, jitter=jitter, rng=self._rng))
        self._children[target.name] = child
        self._set_started(child, True)  # counted as running from now, not from its first step
        self._tg.start_soon(self._supervise, child, name=f"connection {target.name}")

    async def _stop_children(self, children: list[_Child[T]], grace: float) -> None:
        if not children:
            return
        for child in children:
            child.token.request_stop()
        if await wait_events([c.done for c in children], grace, self._clock):
            return
        for child in children:
            if not child.done.is_set():
                log.warning(
                    "connection %s did not stop within %.1f s; cancelling it", child.name, grace
                )
                child.scope.cancel()
        for child in children:
            await child.done.wait()

    def _set_started(self, child: _Child[T], started: bool) -> None:
        child.started = started
        if self._metrics is not None:
            if started:
                self._metrics.connection_started(child.name)
            else:
                self._metrics.connection_down(child.name)

    def _healthy(self, child: _Child[T]) -> None:
        if not child.started:
            return
        child.backoff.reset()
        if child.failing:
            child.failing = False
            log.info("connection %s recovered after %d restart(s)", child.name, child.restarts)

    async def _supervise(self, child: _Child[T]) -> None:
        try:
            with child.scope:
                while not child.token.is_set():
                    self._set_started(child, True)
                    error = await self._attempt(child)
                    self._set_started(child, False)
                    if error is None:
                        if not child.token.is_set():
                            log.warning(
                                "connection %s: its runner returned; it stays stopped until a "
                                "reload (SIGHUP)",
                                child.name,
                            )
                        return
                    if child.token.is_set():
                        log.warning(
                            "connection %s failed while stopping: %s",
                            child.name,
                            describe_error(error),
                        )
                        return
                    await self._after_failure(child, error)
        finally:
            self._set_started(child, False)
            child.done.set()

    async def _attempt(self, child: _Child[T]) -> Exception | None:
        """Run the runner once; its exception (if any) is returned, cancellation propagates."""
        error: Exception | None = None
        async with anyio.create_task_group() as tg:

            async def watch_stable() -> None:
                await self._clock.sleep(self._stable_after)
                self._healthy(child)

            tg.start_soon(watch_stable)
            try:
                await self._runner(child.target, child.token)
            except Exception as exc:
                error = exc
            tg.cancel_scope.cancel()
        return error

    async def _after_failure(self, child: _Child[T], error: Exception) -> None:
        delay = child.backoff.next()
        child.restarts += 1
        child.last_error = describe_error(error)
        child.last_failure_at = self._clock.now()
        if self._metrics is not None:
            self._metrics.connection_restarted(child.name)
        if not child.failing:
            child.failing = True
            log.error(
                "connection %s failed, restarting in %.1f s: %s",
                child.name,
                delay,
                child.last_error,
                exc_info=error,
            )
        else:
            log.debug(
                "connection %s failed again (restart %d), restarting in %.1f s: %s",
                child.name,
                child.restarts,
                delay,
                child.last_error,
            )
        await wait_events([child.token._event], delay, self._clock)
