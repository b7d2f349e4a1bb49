"""The connection actor: builds a connection's adapters and runs its pollers and workers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from brygga.adapters import AdapterContext, ErpAdapter, ShopAdapter
from brygga.clock import Clock, SystemClock
from brygga.config import ResolvedConnection, settle_seconds
from brygga.errors import BryggaError, TransientError
from brygga.http.app import WebhookRegistry
from brygga.http.client import HttpContext
from brygga.mappings import Mapping
from brygga.models import Register
from brygga.runtime.backoff import Backoff
from brygga.secrets import Secret
from brygga.store import Store
from brygga.sync.observer import FlowObserver, NullObserver
from brygga.sync.orders import REGISTER, WRITEBACK, OrdersFlow
from brygga.timeutil import zone_info

__all__ = ["ActorDeps", "StopSignal", "run_connection"]

log = logging.getLogger(__name__)

#: how long an idle worker waits before it looks at the store again (CLI retries land there)
IDLE_RECHECK = 2.0


class StopSignal(Protocol):
    """Set when the daemon wants the connection to stop taking work (SIGTERM, reload)."""

    def is_set(self) -> bool: ...

    async def wait(self) -> None: ...


@dataclass
class ActorDeps:
    """What every connection actor shares with the daemon."""

    store: Store
    run_id: str
    http: HttpContext = field(default_factory=HttpContext)
    clock: Clock = field(default_factory=SystemClock)
    mappings: Sequence[Mapping] = ()
    observer: FlowObserver = field(default_factory=NullObserver)
    #: created flows by connection name (the webhook receivers and the demo use them)
    flows: dict[str, OrdersFlow] = field(default_factory=dict)
    #: the daemon's webhook receivers; shops with a ``webhook_token`` get one each
    webhooks: WebhookRegistry | None = None


def build_adapters(
    conn: ResolvedConnection, http: HttpContext
) -> tuple[ErpAdapter, dict[str, ShopAdapter]]:
    erp = conn.erp_spec.factory(conn.erp, AdapterContext(conn.name, conn.erp.name, http))
    if not isinstance(erp, ErpAdapter):
        raise BryggaError(f"adapter {conn.erp.kind!r} did not build an ERP adapter")
    shops: dict[str, ShopAdapter] = {}
    for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
        shop = spec.factory(cfg, AdapterContext(conn.name, cfg.name, http))
        if not isinstance(shop, ShopAdapter):
            raise BryggaError(f"adapter {cfg.kind!r} did not build a shop adapter")
        shops[cfg.name] = shop
    return erp, shops


def build_orders_flow(
    conn: ResolvedConnection,
    *,
    store: Store,
    http: HttpContext,
    clock: Clock,
    run_id: str,
    mappings: Sequence[Mapping] = (),
    observer: FlowObserver | None = None,
) -> OrdersFlow:
    """The one wiring of a connection's orders flow (daemon, replay, test harness, demo)."""
    erp, shops = build_adapters(conn, http)
    return OrdersFlow(
        connection=conn.name,
        erp_name=conn.erp.name,
        store=store,
        shops=shops,
        erp=erp,
        options=conn.config.orders,
        clock=clock,
        run_id=run_id,
        mappings=[m for m in mappings if m.register is Register.ORDERS],
        observer=observer or NullObserver(),
        lookup_by_reference=conn.erp_spec.capabilities.lookup_by_reference,
        settle=settle_seconds(conn.erp_spec, conn.erp),
        timezones={cfg.name: zone_info(cfg.timezone) for cfg in conn.shops},
    )


async def run_connection(conn: ResolvedConnection, stop: StopSignal, deps: ActorDeps) -> None:
    """Run one connection until ``stop`` is set; in-flight items finish before it returns."""
    # a run id per start of the connection: items a stopped incarnation left in flight (a
    # reload, a restart after a failure, or a killed process) are reconciled on this start
    run_id = f"{deps.run_id}/{conn.name}/{uuid.uuid4().hex[:12]}"
    flow = build_orders_flow(
        conn,
        store=deps.store,
        http=deps.http,
        clock=deps.clock,
        run_id=run_id,
        mappings=deps.mappings,
        observer=deps.observer,
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(flow.erp.aclose)
        for shop in flow.shops.values():
            stack.push_async_callback(shop.aclose)
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
        deps.flows[conn.name] = flow
        receivers = _register_webhooks(conn, flow, deps.webhooks)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_wake_on_stop, stop, flow)
                for name in flow.shops:
                    tg.start_soon(_poller, flow, name, conn.config.poll.orders, stop)
                for _ in range(max(1, conn.config.orders.workers)):
                    tg.start_soon(_worker, flow, REGISTER, stop)
                tg.start_soon(_worker, flow, WRITEBACK, stop)
        finally:
            deps.flows.pop(conn.name, None)
            if deps.webhooks is not None:
                for token in receivers:
                    deps.webhooks.unregister(conn.name, token)


def _register_webhooks(
    conn: ResolvedConnection, flow: OrdersFlow, registry: WebhookRegistry | None
) -> list[Secret]:
    """A receiver per shop that has a webhook token. A notice is only a hint: it makes the
    poller read the change feed now; nothing in its body is trusted or stored."""
    if registry is None:
        return []
    tokens = []
    for cfg in conn.shops:
        if cfg.webhook_token is None:
            continue

        async def receive(request: Request, shop: str = cfg.name) -> Response:
            flow.poke(shop)
            return PlainTextResponse("ok")

        registry.register(conn.name, cfg.webhook_token, receive)
        tokens.append(cfg.webhook_token)
    return tokens


async def _wake_on_stop(stop: StopSignal, flow: OrdersFlow) -> None:
    """Idle workers and sleeping pollers wake up on a stop, see it, and return."""
    await stop.wait()
    flow.wake()
    for shop in flow.shops:
        flow.poke(shop)


#: the first wait after a transient polling error (it grows up to the poll interval)
POLL_RETRY_FIRST = 5.0


async def _poller(flow: OrdersFlow, shop: str, interval: float, stop: StopSignal) -> None:
    """Poll the shop's change feed every ``interval`` seconds (or when poked) until ``stop``.

    A failed poll never ends the connection (a restart would not mend bad credentials or a
    wrong base URL, and would leave the workers' items in flight): the error is recorded on the
    poller's status row, which `brygga status` shows, logged once when polling starts failing
    and once when it works again, and polling goes on. A transient error is retried after a
    growing backoff up to the interval; any other error at the normal interval.
    """
    failing = False
    # a failure on record (from an earlier run, too) is cleared by the next good poll
    on_record = True
    first = max(0.01, min(POLL_RETRY_FIRST, interval))
    backoff = Backoff(first, max(first, interval))
    while not stop.is_set():
        try:
            await flow.poll_once(shop)
        except BryggaError as exc:
            transient = isinstance(exc, TransientError)
            if not failing:
                log.log(
                    logging.WARNING if transient else logging.ERROR,
                    "%s/%s: polling %s failed: %s (retrying %s; `brygga status` shows it until "
                    "it works again)",
                    flow.connection,
                    shop,
                    REGISTER,
                    exc,
                    "with backoff" if transient else f"every {interval:g} s",
                )
                failing = True
            await flow.store.status.poll_failed(
                flow.connection, REGISTER, shop, str(exc), flow.clock.now()
            )
            on_record = True
            delay = interval
            if isinstance(exc, TransientError):
                delay = min(interval, max(backoff.next(), exc.retry_after or 0.0))
        else:
            if failing:
                log.info("%s/%s: polling %s works again", flow.connection, shop, REGISTER)
                failing = False
            if on_record:
                await flow.store.status.poll_works(
                    flow.connection, REGISTER, shop, flow.clock.now()
                )
                on_record = False
            backoff.reset()
            delay = interval
        await flow.wait_for_poke(shop, delay)


async def _worker(flow: OrdersFlow, register: str, stop: StopSignal) -> None:
    while not stop.is_set():
        item = await flow.claim(register)
        if item is None:
            next_due = await flow.store.items.next_due(
                connection=flow.connection, register=register
            )
            wait = IDLE_RECHECK
            if next_due is not None:
                wait = min(wait, max(0.05, (next_due - flow.clock.now()).total_seconds()))
            await flow.wait_for_work(wait)
            continue
        # A stop is noticed between items, so the item in flight finishes. If the daemon's
        # deadline cancels it mid-call, it stays SENDING and is reconciled on the next start.
        await flow.process(item)
