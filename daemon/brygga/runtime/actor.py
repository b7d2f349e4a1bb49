"""The connection actor: opens a connection's flow and runs its pollers and workers."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Protocol

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from brygga.adapters import PushReceiver, ReferenceReader
from brygga.config import ResolvedConnection
from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.http.app import WebhookRegistry
from brygga.http.client import HttpContext
from brygga.mappings import Mapping
from brygga.runtime.backoff import Backoff, RandomSource
from brygga.runtime.deps import Deps
from brygga.secrets import Secret
from brygga.store import Store
from brygga.sync.engine import EXTERNAL_POLL, Discoverer, Engine
from brygga.sync.flow import Flow
from brygga.sync.observer import FlowObserver, NullObserver
from brygga.sync.status import WATCH
from brygga.sync.wiring import build_adapters

# build_adapters: still importable from here (tests build flows by hand)
__all__ = ["IDLE_RECHECK", "ActorDeps", "StopSignal", "build_adapters", "run_connection"]

log = logging.getLogger(__name__)

#: how soon a running daemon sees work another process recorded (``errors retry`` says it)
IDLE_RECHECK = EXTERNAL_POLL


class StopSignal(Protocol):
    """Set when the daemon wants the connection to stop taking work (SIGTERM, reload)."""

    def is_set(self) -> bool: ...

    async def wait(self) -> None: ...


class ActorDeps(Deps):
    """The process's :class:`Deps` and what every connection actor shares with the daemon:
    its run id, the plugins' mappings, the flow observer, the running flows and the webhook
    receivers.

    There is no clock of its own: ``clock`` is ``http.clock``.
    """

    def __init__(
        self,
        *,
        store: Store,
        run_id: str,
        http: HttpContext,
        rng: random.Random | None = None,
        mappings: Sequence[Mapping] = (),
        observer: FlowObserver | None = None,
        webhooks: WebhookRegistry | None = None,
    ) -> None:
        super().__init__(store=store, http=http)
        if rng is not None:
            self.rng = rng
        self.run_id = run_id
        self.mappings = mappings
        self.observer: FlowObserver = observer or NullObserver()
        #: created flows by connection name (the webhook receivers and the demo use them)
        self.flows: dict[str, Flow] = {}
        #: the daemon's webhook receivers; shops with a ``webhook_token`` get one each
        self.webhooks = webhooks

    def engines(self) -> list[Engine]:
        """The running connections' engines (woken when another process writes the store)."""
        return [flow.engine for flow in self.flows.values()]


async def run_connection(conn: ResolvedConnection, stop: StopSignal, deps: ActorDeps) -> None:
    """Run one connection until ``stop`` is set; in-flight items finish before it returns.

    Its task group holds the pollers, the workers and, beside the first polls, the warm-up of
    each adapter that reads reference data (:class:`brygga.adapters.ReferenceReader`), which
    neither delays nor fails the start."""
    # a run id per start of the connection: items a stopped incarnation left in flight (a
    # reload, a restart after a failure, or a killed process) are reconciled on this start
    run_id = f"{deps.run_id}/{conn.name}/{uuid.uuid4().hex[:12]}"
    flow = deps.open_flow(conn, run_id=run_id, mappings=deps.mappings, observer=deps.observer)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(flow.aclose)
        recovered = await deps.store.items.recover(
            connection=conn.name, run_id=run_id, now=deps.clock.now(), settle=flow.settle
        )
        if recovered:
            log.warning(
                "%s: %d record(s) were mid-send when the daemon stopped; reconciling them by "
                "ERP reference before anything is sent again",
                conn.name,
                recovered,
            )
        for what, step in flow.startup:
            queued = await step()
            if queued:
                log.info("%s: %s: %d record(s) queued", conn.name, what, queued)
        deps.flows[conn.name] = flow
        receivers = _register_webhooks(conn, flow, deps.webhooks)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_wake_on_stop, stop, flow)
                for side, adapter in _reference_readers(flow):
                    tg.start_soon(_prepare, conn.name, side, adapter, stop)
                for discoverer in flow.discoverers:
                    for instance in discoverer.instances:
                        tg.start_soon(_poller, flow, discoverer, instance, stop, deps.rng)
                for register, workers in flow.workers.items():
                    for _ in range(workers):
                        batch = flow.batch.get(register, 1)
                        tg.start_soon(flow.engine.work, register, stop, batch)
        finally:
            deps.flows.pop(conn.name, None)
            if deps.webhooks is not None:
                for token in receivers:
                    deps.webhooks.unregister(conn.name, token)


def _register_webhooks(
    conn: ResolvedConnection, flow: Flow, registry: WebhookRegistry | None
) -> list[Secret]:
    """A receiver per shop that has a webhook token. For most shops a notice is only a hint:
    it makes the poller read the change feed now, and nothing in its body is trusted or
    stored. A shop that pushes whole orders (:class:`PushReceiver`) first gets the body to
    verify and keep; the sender is answered 400 for a push it must not send again, 503 for
    one to retry. The ERP's notice (e.g. e-conomic's "invoice booked") is a hint too: the
    watched documents are looked at now instead of at their next poll."""
    if registry is None:
        return []
    tokens = []
    for cfg in conn.shops:
        if cfg.webhook_token is None:
            continue

        async def receive(request: Request, shop: str = cfg.name) -> Response:
            adapter: object = flow.shops.get(shop)
            answer = None
            if isinstance(adapter, PushReceiver) and request.method == "POST":
                try:
                    answer = await adapter.accept_push(await request.body(), dict(request.headers))
                except PermanentError as exc:
                    log.warning("%s: shop %s: a push was refused: %s", conn.name, shop, exc)
                    return PlainTextResponse(str(exc), status_code=400)
                except TransientError as exc:
                    log.warning("%s: shop %s: a push could not be kept: %s", conn.name, shop, exc)
                    return PlainTextResponse("try again later", status_code=503)
            flow.poke(shop)
            if answer is not None:
                return Response(answer.body, media_type=answer.media_type)
            return PlainTextResponse("ok")

        registry.register(conn.name, cfg.webhook_token, receive)
        tokens.append(cfg.webhook_token)
    if conn.erp.webhook_token is not None:

        async def erp_notice(request: Request) -> Response:
            await flow.erp_notice(WATCH, ERP_NOTICE_GAP)
            return PlainTextResponse("ok")

        registry.register(conn.name, conn.erp.webhook_token, erp_notice)
        tokens.append(conn.erp.webhook_token)
    return tokens


def _reference_readers(flow: Flow) -> list[tuple[str, ReferenceReader]]:
    """The connection's adapters that read reference data (:class:`ReferenceReader`), named
    ("erp", or "shop <name>") for the log."""
    sides: list[tuple[str, object]] = [("erp", flow.erp)]
    sides += [(f"shop {name}", shop) for name, shop in flow.shops.items()]
    return [(side, adapter) for side, adapter in sides if isinstance(adapter, ReferenceReader)]


async def _prepare(connection: str, side: str, adapter: ReferenceReader, stop: StopSignal) -> None:
    """Warm ``adapter``'s reference data beside the first polls (:class:`ReferenceReader`).

    Never ends the connection: an error is logged once (adapters' errors are scrubbed of
    their secrets, and an unexpected one is logged by its type only) and the first order
    reads the data itself. A stop cancels a warm-up still reading, so a stop never waits for
    it (the cache hands an unfinished read over to an order that waits for it)."""
    started = anyio.current_time()
    async with anyio.create_task_group() as tg:

        async def cancel_on_stop() -> None:
            await stop.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(cancel_on_stop)
        try:
            await adapter.prepare()
        except BryggaError as exc:
            log.warning(
                "%s: %s: reading reference data at start failed: %s (the first order reads it)",
                connection,
                side,
                exc,
            )
        except Exception as exc:
            # not one of brygga's typed errors, whose messages adapters scrub: its text may
            # hold anything (a URL with a token), so only its type is logged
            log.warning(
                "%s: %s: reading reference data at start failed: %s (the first order reads it)",
                connection,
                side,
                type(exc).__name__,
            )
        else:
            log.debug(
                "%s: %s: reference data read at start in %.3f s",
                connection,
                side,
                anyio.current_time() - started,
            )
        tg.cancel_scope.cancel()


async def _wake_on_stop(stop: StopSignal, flow: Flow) -> None:
    """Idle workers and sleeping pollers wake up on a stop, see it, and return."""
    await stop.wait()
    flow.wake()
    for discoverer in flow.discoverers:
        for instance in discoverer.instances:
            flow.poke(instance)


#: seconds between two looks at the watched documents that ERP webhooks cause (a bulk booking
#: sends one notice per invoice; they share a look)
ERP_NOTICE_GAP = 30.0
#: the first wait after a transient polling error (it grows up to the poll interval)
POLL_RETRY_FIRST = 5.0


async def _poller(
    flow: Flow, feed: Discoverer, instance: str, stop: StopSignal, rng: RandomSource
) -> None:
    """Poll one feed every ``feed.interval`` seconds (or when poked) until ``stop``.

    A failed poll never ends the connection (a restart would not mend bad credentials or a
    wrong base URL, and would leave the workers' items in flight): the error is recorded on the
    poller's status row, which `brygga status` shows, logged once when polling starts failing
    and once when it works again, and polling goes on. A transient error is retried after a
    growing backoff up to the interval; any other error at the normal interval.
    """
    shop, register, interval = instance, feed.register, feed.interval
    failing = False
    # a failure on record (from an earlier run, too) is cleared by the next good poll
    on_record = True
    first = max(0.01, min(POLL_RETRY_FIRST, interval))
    backoff = Backoff(first, max(first, interval), rng=rng)
    while not stop.is_set():
        try:
            await flow.poll(feed, instance)
        except BryggaError as exc:
            transient = isinstance(exc, TransientError)
            if not failing:
                log.log(
                    logging.WARNING if transient else logging.ERROR,
                    "%s/%s: polling %s failed: %s (retrying %s; `brygga status` shows it until "
                    "it works again)",
                    flow.connection,
                    shop,
                    register,
                    exc,
                    "with backoff" if transient else f"every {interval:g} s",
                )
                failing = True
            await flow.store.status.poll_failed(
                flow.connection, register, shop, str(exc), flow.clock.now()
            )
            on_record = True
            delay = interval
            if isinstance(exc, TransientError):
                delay = min(interval, max(backoff.next(), exc.retry_after or 0.0))
        else:
            if failing:
                log.info("%s/%s: polling %s works again", flow.connection, shop, register)
                failing = False
            if on_record:
                await flow.store.status.poll_works(
                    flow.connection, register, shop, flow.clock.now()
                )
                on_record = False
            backoff.reset()
            delay = interval
        await flow.wait_for_poke(feed, instance, delay)
