"""Shop → ERP latency per order: placed in the Starweb simulator → its e-conomic document exists.

Runs the real daemon (``brygga.runtime.app.serve``, in this process, the simulators behind a
``RoutingTransport``: no sockets to them; the daemon's own webhook endpoint listens on loopback)
and places orders at a steady rate, in up to four configurations:

- ``webhook``: each order is followed by a notice to ``/webhooks/demo/<token>`` (orders poll
  every hour, so only the notice brings the order in);
- ``poll``: no notices, the orders register polls every ``--interval`` seconds;

each with the published rate limits ON (no ``rate_limit`` in the config: the adapters' own
defaults; the e-conomic simulator enforces the declared limit as a sliding window and answers
429 beyond it) and with the limits lifted (``rate_limit = { requests = 1000000, per_seconds =
0.001 }`` on both, the simulator enforcing none). Prints p50 / p95 / p99 / max per
configuration, and for one order placed when the daemon is quiet the timeline of what
happened to it (notice → poll → enqueue → claim → ERP calls → bind)::

    .venv/bin/python benchmarks/latency.py                       # 40 orders at 2/s, 4 configs
    .venv/bin/python benchmarks/latency.py --orders 200 --rate 2 --json > l.json
    .venv/bin/python benchmarks/latency.py --modes webhook --limits on
    .venv/bin/python benchmarks/latency.py --modes webhook --limits on --from-start --settle 0 \
        --start clean
    .venv/bin/python benchmarks/latency.py --modes webhook --limits on --start clean --erp-groups 20
    .venv/bin/python benchmarks/latency.py --modes webhook --limits on --from-start --settle 0 \
        --erp-latency 80

How it is measured:

- Placed: the wall time (``time.time()``) right after ``place_order`` returned.
- The document exists: each simulator's ASGI app is wrapped (in this script only) to timestamp
  every request at its start and end; after every successful POST to e-conomic the wrapper
  reads the simulator's documents and notes each reference it sees for the first time, at the
  end of that request. Latency is that time minus the placed time.
- The breakdown reads the daemon's state file afterwards (read-only): ``work_items.created_at``
  (enqueued), ``attempts.started_at`` / ``finished_at`` (claimed / outcome computed),
  ``work_items.done_at`` and ``bindings.created_at`` (bound), all written on the system clock,
  against the two simulators' request timestamps. A gap between two ERP requests is time spent
  in the daemon between them (its own code, the store, and the rate limiter's wait; the
  limiters' counters, where the code measured has them, give the waits' total per account).
- Each configuration starts a new daemon; the figures are given for every order and again
  without the orders placed in the first ``--warmup`` seconds (default 5). The first order is
  placed ``--settle`` seconds after the daemon's first poll reached the shop (1.5 by default),
  or with ``--from-start`` after the daemon said it started (``--from-start --settle 0``:
  the first seconds after a start, a rate limiter's start-up wait included; a first poll that
  waits for a limiter hides that wait from the default). ``--start clean`` first runs a
  daemon on the same state file that transfers ``--previous`` orders and stops cleanly, then
  starts the one measured at once (a restart within the rate limits' window; the simulators
  keep counting); ``--start fresh`` (the default) a new state file. Printed too: the
  measured daemon's rate limiters (turns that waited and the seconds they waited, where the
  code has the counters) and the timeline of the slowest order placed in the first
  ``--warmup`` seconds (every request between its placing and its document, other orders'
  too).
- Each request's turn at its account's limiter: the script wraps every limiter the daemon's
  ``HttpContext`` hands out (this script only) and notes when a request asked for its turn,
  when it got it, and whose request it was (the e-conomic warm-up's ``warm_reference``, an
  order transfer's, or another: feeds, write-backs), from the coroutines on the stack. The
  timelines print it beside each request ("asked … waited … ms"); the slowest early order's
  timeline also lists the e-conomic requests of the window before it was placed (the turns
  it may wait for), and ``erp_first_window`` counts the measured daemon's e-conomic requests
  in its first second by whose turn and kind (reference data or the orders' own).
- ``--erp-latency MS``: each e-conomic request takes MS ms more (half on the way there, half
  back; the simulator counts its rate at the arrival), as a remote's round trip would.
  ``--erp-limit R S``: with limits on, the e-conomic account allows R requests per S seconds
  (the simulator enforces it, the adapter's ``rate_limit`` says it) instead of the declared
  limit.
- The load average is printed with the figures; the machine has 2 cores shared with other work.

Brygga API used: ``brygga.runtime.app.serve``, ``DaemonControl`` (``wait_started``, ``port``,
``request_stop``), ``brygga.commands.common.load``, ``brygga.testing.write_config`` /
``RoutingTransport``, ``HttpContext(transport=)``, ``brygga.sync.orders.document_reference``,
the simulators' ``place_order``, ``documents()``, ``adapter_config``, the e-conomic
simulator's ``rate_limit=`` and the adapters' ``capabilities.rate_limit``.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env beside this script
from bench_env import code_under_test, machine, print_document

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.sync.orders import document_reference
from brygga.testing import RoutingTransport, write_config

#: generous enough that no rate limiter ever waits (the first wait is one window: 1 ms)
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}
CATALOG_OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}
TOKEN = "bench-0123456789abcdefghijklmnop"
SKUS = ["KAFFE-500", "TE-100", "BOK-01", "TROJA-M"]
SHOP_HOST, ERP_HOST = "shop.test", "erp.test"
#: seconds before the slowest early order was placed from which its timeline lists the ERP
#: requests (a little more than e-conomic's 1-s window: the turns it may have waited for)
ERP_LOOKBACK = 1.1

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


# -- timestamped requests -------------------------------------------------------------------


@dataclass
class Req:
    system: str
    method: str
    path: str
    start: float
    end: float
    status: int | None
    #: the request's turn at its account's limiter (wall clock): when it asked, when it got
    #: it, and whose request it was ("warm-up", "order" or "other"); None without a limiter
    turn: tuple[float, float, str] | None = None


#: the turn of the request the current task is sending (set by :func:`watch_turns`' wrapper,
#: read by the :class:`Recorder`: ``httpx.ASGITransport`` runs the app in the sending task)
_TURN: contextvars.ContextVar[tuple[float, float, str] | None] = contextvars.ContextVar(
    "latency_turn", default=None
)


def _whose() -> str:
    """Whose request asks for a turn, from the coroutines on the stack (a running coroutine's
    awaiters are its callers): the e-conomic warm-up's (``warm_reference``), an order
    transfer's (:mod:`brygga.sync.orders`), else "other" (feeds, write-backs)."""
    frame: Any = sys._getframe(2)
    found = "other"
    while frame is not None:
        if frame.f_code.co_name == "warm_reference":
            return "warm-up"
        if frame.f_globals.get("__name__") == "brygga.sync.orders":
            found = "order"
        frame = frame.f_back
    return found


def watch_turns(http: HttpContext) -> None:
    """Wrap every limiter ``http`` hands out so that each request notes its turn (when it
    asked, when it got it, whose it was) for the :class:`Recorder` (this script only: the
    limiter counts its waits, not per request)."""
    registry: Any = http.limiters
    get = registry.get

    def wrapped_get(account_key: str, limit: Any) -> Any:
        limiter = get(account_key, limit)
        if not getattr(limiter, "_latency_watched", False):
            acquire = limiter.acquire

            async def timed(group: str | None = None) -> float:
                whose = _whose()
                asked = time.time()
                started = await acquire(group)
                _TURN.set((asked, time.time(), whose))
                return started

            limiter.acquire = timed
            limiter._latency_watched = True
        return limiter

    registry.get = wrapped_get


class Recorder:
    """ASGI middleware (this script's own): every request's start, end and status."""

    def __init__(
        self,
        app: Asgi,
        system: str,
        on_done: Callable[[Req], None] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.app, self.system, self.on_done = app, system, on_done
        #: seconds each request takes on its way to the remote and its answer on the way
        #: back (half before the app sees it, half after): a remote's round trip
        self.delay = delay
        self.log: list[Req] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.time()
        status: list[int | None] = [None]

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            if self.delay:
                await anyio.sleep(self.delay / 2)
            await self.app(scope, receive, sending)
            if self.delay:
                await anyio.sleep(self.delay / 2)
        finally:
            turn = _TURN.get()
            req = Req(
                self.system, scope["method"], scope["path"], start, time.time(), status[0], turn
            )
            self.log.append(req)
            if self.on_done is not None:
                self.on_done(req)


class DocumentWatch:
    """First time each ERP document reference was seen (at the end of the POST that made it)."""

    def __init__(self, erp: Any) -> None:
        self.erp = erp
        self.seen: dict[str, float] = {}
        self.event = anyio.Event()

    def __call__(self, req: Req) -> None:
        if req.method != "POST" or req.status is None or req.status >= 300:
            return
        if not req.path.startswith(("/invoices", "/orders")):
            return
        for document in self.erp.documents():
            self.seen.setdefault(document.reference, req.end)
        self.event.set()
        self.event = anyio.Event()


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50 / p95 / p99 / max (nearest rank) in seconds, rounded to the ms."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))
        return round(ordered[index], 4)

    return {
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(ordered), 4),
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def declared_limit(kind: str) -> dict[str, float] | None:
    """The adapter's published/declared limit (``capabilities.rate_limit``), or None."""
    limit = PluginHost().adapters[kind].capabilities.rate_limit
    return None if limit is None else {"requests": limit.requests, "per_seconds": limit.per_seconds}


# -- one configuration ----------------------------------------------------------------------


@dataclass
class Config:
    mode: str  # "webhook" | "poll"
    limits: str  # "on" | "off"
    orders: int
    rate: float
    interval: float
    warmup: float = 5.0
    #: seconds between the daemon's first poll (with ``from_start``: its start) and the first
    #: order
    settle: float = 1.5
    from_start: bool = False
    #: "fresh": a new state file; "clean": a first daemon on the same state file transfers
    #: ``previous`` orders and stops cleanly, and the daemon measured starts right after it
    start: str = "fresh"
    previous: int = 10
    #: product groups added to the e-conomic simulator, one article each, that no order uses
    #: (an agreement with more groups than the first orders need)
    erp_groups: int = 0
    #: the e-conomic remote's round trip per request (seconds; 0: the simulator's own time)
    erp_latency: float = 0.0
    #: with limits on: the e-conomic account's limit (requests, seconds), enforced by the
    #: simulator and configured as the adapter's ``rate_limit``; None: the declared one
    erp_limit: tuple[int, float] | None = None


@dataclass
class Result:
    mode: str
    limits: str
    orders: int
    rate_per_s: float
    poll_interval_s: float | None
    erp_limit_enforced: dict[str, float] | None
    latency_s: dict[str, float | None]
    #: the same without the orders placed in the first ``warmup`` seconds (the limiters'
    #: start-up: a new limiter starts below its ceiling)
    latency_s_after_warmup: dict[str, float | None]
    warmup_s: float
    transferred: int
    missing: int
    http_429: int
    requests: dict[str, int]
    load_average_before: list[float]
    load_average_after: list[float]
    breakdown: dict[str, Any] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    settle_s: float = 1.5
    from_start: bool = False
    start: str = "fresh"
    #: the slowest order placed in the first ``warmup`` seconds, and its timeline
    slowest_first: dict[str, Any] = field(default_factory=dict)
    #: the measured daemon's rate limiters at the end (turns that waited, seconds waited in
    #: all, the allowed count), where the code measured has the counters
    limiters: dict[str, Any] = field(default_factory=dict)
    #: the measured daemon's e-conomic requests in its first window (from its first one):
    #: how many, by whose turn (warm-up, order, other) and by what they read
    erp_first_window: dict[str, Any] = field(default_factory=dict)
    erp_latency_s: float = 0.0


async def run_config(cfg: Config) -> Result:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    limit = declared_limit("economic") if cfg.limits == "on" else None
    erp_table: dict[str, Any] = {}
    if limit is not None and cfg.erp_limit is not None:
        limit = {"requests": cfg.erp_limit[0], "per_seconds": cfg.erp_limit[1]}
        erp_table["rate_limit"] = limit
    shop = shop_spec.simulator()
    erp = erp_spec.simulator(
        rate_limit=(int(limit["requests"]), float(limit["per_seconds"])) if limit else None
    )
    for i in range(cfg.erp_groups):  # each new VAT rate makes a new product group
        erp.add_article(f"EXTRA-{i}", f"Extra {i}", Decimal("10.00"), Decimal(30 + i))
    watch = DocumentWatch(erp)
    shop_rec = Recorder(shop.app, "starweb")
    erp_rec = Recorder(erp.app, "economic", watch, delay=cfg.erp_latency)
    lifted = {} if cfg.limits == "on" else {"rate_limit": UNLIMITED}
    shop_table = {**shop.adapter_config(f"http://{SHOP_HOST}/api/v2", name="se"), **lifted}
    if cfg.mode == "webhook":
        shop_table["webhook_token"] = TOKEN
    poll = "1h" if cfg.mode == "webhook" else f"{cfg.interval:g}s"
    load_before = load_average()
    routes = RoutingTransport({SHOP_HOST: shop_rec, ERP_HOST: erp_rec})
    with tempfile.TemporaryDirectory(prefix="brygga-latency-") as tmp:
        folder = Path(tmp)
        path = write_config(
            folder / "brygga.toml",
            state=str(folder / "state.db"),
            name="demo",
            erp={**erp.adapter_config(f"http://{ERP_HOST}"), **lifted, **erp_table},
            shops=[shop_table],
            connection={"registers": CATALOG_OFF, "poll": {"orders": poll}},
        )
        loaded, plugins = load(path)
        if cfg.start == "clean":
            await _previous_daemon(cfg, loaded, plugins, routes, shop, watch)
        http = HttpContext(transport=routes)
        watch_turns(http)
        control: DaemonControl[ResolvedConnection] = DaemonControl()
        placed: dict[str, float] = {}
        references: dict[str, str] = {}
        breakdown: dict[str, Any] = {}
        slowest: dict[str, Any] = {}
        polls_before = len(shop_rec.log)
        erp_before = len(erp_rec.log)
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
            )
            await control.wait_started()

            def polled() -> bool:
                return any(r.path.startswith("/api/v2/orders") for r in shop_rec.log[polls_before:])

            with anyio.fail_after(30):  # the first poll runs at start
                while not cfg.from_start and not polled():  # noqa: ASYNC110
                    await anyio.sleep(0.005)
            await anyio.sleep(cfg.settle)
            base = f"http://127.0.0.1:{control.port}/webhooks/demo/{TOKEN}"
            async with httpx.AsyncClient(timeout=10) as client:

                async def notify(order_id: str) -> None:
                    await client.post(base, json={"orderId": int(order_id)})

                started = time.monotonic()
                for i in range(cfg.orders):
                    wait = started + i / cfg.rate - time.monotonic()
                    if wait > 0:
                        await anyio.sleep(wait)
                    order = _place(shop, i)
                    placed[order] = time.time()
                    references[order] = document_reference("demo", "se", order)
                    if cfg.mode == "webhook":
                        tg.start_soon(notify, order)
                patience = 30 + (cfg.interval if cfg.mode == "poll" else 0)
                with anyio.move_on_after(patience):
                    while not all(ref in watch.seen for ref in references.values()):
                        await watch.event.wait()
                # one order on a quiet daemon: where the time goes
                await anyio.sleep(max(2.0, cfg.interval if cfg.mode == "poll" else 0))
                breakdown = await _one_order(cfg, shop, watch, shop_rec, erp_rec, client, base)
            control.request_stop()
        state_file = folder / "state.db"
        if breakdown:
            breakdown = _explain(breakdown, state_file, shop_rec.log, erp_rec.log)
        slowest = _slowest_first(cfg, placed, references, watch, state_file, shop_rec, erp_rec)
    latencies = [
        watch.seen[ref] - placed[order] for order, ref in references.items() if ref in watch.seen
    ]
    first = min(placed.values(), default=0.0)
    steady = [
        watch.seen[ref] - placed[order]
        for order, ref in references.items()
        if ref in watch.seen and placed[order] - first >= cfg.warmup
    ]
    requests: dict[str, int] = {}
    for req in shop_rec.log + erp_rec.log:
        key = f"{req.system} {req.method}"
        requests[key] = requests.get(key, 0) + 1
    return Result(
        mode=cfg.mode,
        limits=cfg.limits,
        orders=cfg.orders,
        rate_per_s=cfg.rate,
        poll_interval_s=cfg.interval if cfg.mode == "poll" else None,
        erp_limit_enforced=limit,
        latency_s=percentiles(latencies),
        latency_s_after_warmup=percentiles(steady),
        warmup_s=cfg.warmup,
        transferred=len(latencies),
        missing=cfg.orders - len(latencies),
        http_429=sum(1 for r in shop_rec.log + erp_rec.log if r.status == 429),
        requests=requests,
        load_average_before=load_before,
        load_average_after=load_average(),
        breakdown=breakdown,
        latencies=[round(x, 4) for x in latencies],
        settle_s=cfg.settle,
        from_start=cfg.from_start,
        start=cfg.start,
        slowest_first=slowest,
        limiters=_limiters(http),
        erp_first_window=_first_window(erp_rec.log[erp_before:]),
        erp_latency_s=cfg.erp_latency,
    )


#: what an e-conomic path reads, for :func:`_first_window`
_KINDS = (
    ("/products", "reference"),
    ("/accounts", "reference"),
    ("/vat-accounts", "reference"),
    ("/product-groups", "reference"),
)


def _first_window(log: list[Req], window: float = 1.0) -> dict[str, Any]:
    """The ERP requests that started within ``window`` seconds of the first one (e-conomic's
    declared window): how many, by whose turn and by kind (reference data or the orders'
    own customer and document requests)."""
    if not log:
        return {}
    first = log[0].start
    inside = [r for r in log if r.start < first + window]
    by: dict[str, int] = {}
    for r in inside:
        whose = r.turn[2] if r.turn is not None else "?"
        kind = next((k for prefix, k in _KINDS if r.path.startswith(prefix)), "own")
        key = f"{whose} {kind}"
        by[key] = by.get(key, 0) + 1
    return {"requests": len(inside), "by": by, "429": sum(r.status == 429 for r in inside)}


async def _previous_daemon(
    cfg: Config,
    loaded: Any,
    plugins: PluginHost,
    routes: RoutingTransport,
    shop: Any,
    watch: DocumentWatch,
) -> None:
    """A daemon on the same state file transfers ``cfg.previous`` orders (notices, as the
    measured run) and stops cleanly: the process the measured one replaces."""
    http = HttpContext(transport=routes)
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
        )
        await control.wait_started()
        base = f"http://127.0.0.1:{control.port}/webhooks/demo/{TOKEN}"
        references = []
        async with httpx.AsyncClient(timeout=10) as client:
            started = time.monotonic()
            for i in range(cfg.previous):
                wait = started + i / cfg.rate - time.monotonic()
                if wait > 0:
                    await anyio.sleep(wait)
                order = _place(shop, 20_000 + i)
                references.append(document_reference("demo", "se", order))
                await client.post(base, json={"orderId": int(order)})
            with anyio.move_on_after(30):
                while not all(ref in watch.seen for ref in references):
                    await watch.event.wait()
        control.request_stop()


def _limiters(http: HttpContext) -> dict[str, Any]:
    """Each account's limiter: turns that waited and the seconds waited (where the code
    measured counts them), the allowed count."""
    found: dict[str, Any] = {}
    registry: Any = http.limiters
    items = list(registry) if hasattr(registry, "__iter__") else list(registry._limiters.items())
    for account, limiter in items:
        found[account.split("#", 1)[0]] = {
            "allowed": limiter.allowed,
            "ceiling": limiter.limit.requests,
            "waits": getattr(limiter, "waits", None),
            "waited_s": None if not hasattr(limiter, "waited") else round(limiter.waited, 4),
        }
    return found


def _slowest_first(
    cfg: Config,
    placed: dict[str, float],
    references: dict[str, str],
    watch: DocumentWatch,
    state: Path,
    shop_rec: Recorder,
    erp_rec: Recorder,
) -> dict[str, Any]:
    """The timeline of the slowest order placed in the first ``warmup`` seconds: every request
    between its placing and its document (other orders' too), and its own work items."""
    first = min(placed.values(), default=0.0)
    early = [
        (watch.seen[ref] - placed[order], order)
        for order, ref in references.items()
        if ref in watch.seen and placed[order] - first < cfg.warmup
    ]
    if not early:
        return {}
    _, order = max(early)
    at, seen = placed[order], watch.seen[references[order]]

    def cut(log: list[Req], before: float = 0.0) -> tuple[int, int]:
        begin = next((i for i, r in enumerate(log) if r.end >= at - before), len(log))
        end = next((i for i, r in enumerate(log) if r.start > seen), len(log))
        return begin, end

    shop_from, shop_to = cut(shop_rec.log)
    # the ERP requests of the window before it too: they hold the turns it may wait for
    erp_from, erp_to = cut(erp_rec.log, ERP_LOOKBACK)
    raw = {
        "order": order,
        "reference": references[order],
        "placed": at,
        "notice": None,
        "document_seen": seen,
        "written_back": True,
        "shop_requests_before": shop_from,
        "erp_requests_before": erp_from,
    }
    explained = _explain(raw, state, shop_rec.log[:shop_to], erp_rec.log[:erp_to])
    explained["placed_after_first_s"] = round(at - first, 3)
    return explained


def _place(shop: Any, i: int) -> str:
    return str(
        shop.place_order(
            lines=[(SKUS[i % 4], 1 + i % 3), (SKUS[(i + 1) % 4], 1)],
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
    )


async def _one_order(
    cfg: Config,
    shop: Any,
    watch: DocumentWatch,
    shop_rec: Recorder,
    erp_rec: Recorder,
    client: httpx.AsyncClient,
    base: str,
) -> dict[str, Any]:
    """Place one order on a quiet daemon and wait until it is written back."""
    order = _place(shop, 10_000)
    placed = time.time()
    reference = document_reference("demo", "se", order)
    marks = {"shop_requests_before": len(shop_rec.log), "erp_requests_before": len(erp_rec.log)}
    notice: tuple[float, float] | None = None
    if cfg.mode == "webhook":
        sent = time.time()
        await client.post(base, json={"orderId": int(order)})
        notice = (sent, time.time())
    with anyio.move_on_after(30 + cfg.interval):
        while reference not in watch.seen:
            await watch.event.wait()
    # the write-back (document number to the shop) follows: give it a moment
    with anyio.move_on_after(10):
        while shop.exported_document(order) is None:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    await anyio.sleep(0.2)
    return {
        "order": order,
        "reference": reference,
        "placed": placed,
        "notice": notice,
        "document_seen": watch.seen.get(reference),
        "written_back": shop.exported_document(order) is not None,
        **marks,
    }


def _ts(text: str | None) -> float | None:
    if not text:
        return None
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def _explain(raw: dict[str, Any], state: Path, shop_log: list[Req], erp_log: list[Req]) -> dict:
    """The one order's timeline, in ms after it was placed."""
    t0 = raw["placed"]
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        items = conn.execute(
            "SELECT id, register, created_at, done_at, state FROM work_items"
            " WHERE external_id = ? ORDER BY id",
            (raw["order"],),
        ).fetchall()
        attempts = {
            row["id"]: conn.execute(
                "SELECT attempt, started_at, finished_at, outcome FROM attempts"
                " WHERE work_item_id = ? ORDER BY id",
                (row["id"],),
            ).fetchall()
            for row in items
        }
        binding = conn.execute(
            "SELECT created_at FROM bindings WHERE source_id = ? ORDER BY id", (raw["order"],)
        ).fetchall()
    finally:
        conn.close()

    def ms(t: float | None) -> float | None:
        return None if t is None else round((t - t0) * 1000, 1)

    steps: list[dict[str, Any]] = [{"at_ms": 0.0, "what": "placed in the shop"}]
    if raw["notice"]:
        steps.append({"at_ms": ms(raw["notice"][0]), "what": "webhook notice sent"})
        steps.append({"at_ms": ms(raw["notice"][1]), "what": "webhook notice answered"})
    for req in shop_log[raw["shop_requests_before"] :]:
        steps.append(_req_step(req, ms))
    for req in erp_log[raw["erp_requests_before"] :]:
        steps.append(_req_step(req, ms))
    for row in items:
        register = row["register"]
        steps.append({"at_ms": ms(_ts(row["created_at"])), "what": f"{register}: enqueued"})
        for att in attempts[row["id"]]:
            steps.append(
                {
                    "at_ms": ms(_ts(att["started_at"])),
                    "what": f"{register}: claimed (attempt {att['attempt']})",
                }
            )
            if att["finished_at"]:
                steps.append(
                    {
                        "at_ms": ms(_ts(att["finished_at"])),
                        "what": f"{register}: attempt {att['attempt']} finished ({att['outcome']})",
                    }
                )
        if row["done_at"]:
            steps.append({"at_ms": ms(_ts(row["done_at"])), "what": f"{register}: done"})
    for b in binding:
        steps.append({"at_ms": ms(_ts(b["created_at"])), "what": "binding recorded"})
    if raw["document_seen"]:
        steps.append({"at_ms": ms(raw["document_seen"]), "what": "ERP document exists"})
    steps = [s for s in steps if s["at_ms"] is not None]
    steps.sort(key=lambda s: (s["at_ms"], s.get("end_ms") or 0))
    return {
        "order": raw["order"],
        "latency_ms": ms(raw["document_seen"]),
        "written_back": raw["written_back"],
        "steps": steps,
    }


def _req_step(req: Req, ms: Callable[[float | None], float | None]) -> dict[str, Any]:
    path = req.path.split("?", 1)[0]
    step: dict[str, Any] = {
        "at_ms": ms(req.start),
        "end_ms": ms(req.end),
        "what": f"{req.system} {req.method} {path} → {req.status}",
    }
    if req.turn is not None:
        asked, given, whose = req.turn
        waited = ms(given)
        asked_ms = ms(asked)
        step["turn"] = {"by": whose, "asked_ms": asked_ms, "given_ms": waited}
        if asked_ms is not None and waited is not None:
            step["what"] += f" [{whose}; asked {asked_ms:.1f}, waited {waited - asked_ms:.1f} ms]"
    return step


# -- main -----------------------------------------------------------------------------------


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for limits in args.limits:
        for mode in args.modes:
            cfg = Config(
                mode,
                limits,
                args.orders,
                args.rate,
                args.interval,
                args.warmup,
                settle=args.settle,
                from_start=args.from_start,
                start=args.start,
                previous=args.previous,
                erp_groups=args.erp_groups,
                erp_latency=args.erp_latency / 1000,
                erp_limit=(int(args.erp_limit[0]), args.erp_limit[1]) if args.erp_limit else None,
            )
            result = await run_config(cfg)
            entry = asdict(result)
            runs.append(entry)
            if not args.json:
                print(_line(result), flush=True)
                if result.limiters:
                    print(f"{'':18s} limiters: {result.limiters}")
                if result.erp_first_window:
                    print(f"{'':18s} e-conomic's first window: {result.erp_first_window}")
                if args.breakdown:
                    _print_breakdown(result.breakdown)
                    _print_breakdown(result.slowest_first, "the slowest of the first orders")
    return {
        "benchmark": "latency",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "parameters": {
            "orders": args.orders,
            "rate_per_s": args.rate,
            "poll_interval_s": args.interval,
            "modes": args.modes,
            "limits": args.limits,
            "lifted_rate_limit": UNLIMITED,
            "settle_s": args.settle,
            "settle_from": "start" if args.from_start else "first poll",
            "start": args.start,
            "previous_orders": args.previous if args.start == "clean" else 0,
            "erp_extra_groups": args.erp_groups,
            "erp_latency_ms": args.erp_latency,
            "erp_limit": args.erp_limit,
            "declared": {k: declared_limit(k) for k in ("starweb", "economic")},
        },
        "runs": runs,
    }


def _line(r: Result) -> str:
    lat = r.latency_s
    poll = f" every {r.poll_interval_s:g} s" if r.poll_interval_s else ""

    def f(x: float | None) -> str:
        return "   -  " if x is None else f"{x * 1000:6.0f}"

    steady = r.latency_s_after_warmup
    return (
        f"{r.mode:7s}{poll:11s} limits {r.limits:3s}: p50 {f(lat['p50'])} ms  "
        f"p95 {f(lat['p95'])} ms  p99 {f(lat['p99'])} ms  max {f(lat['max'])} ms  "
        f"[{r.transferred}/{r.orders} orders at {r.rate_per_s:g}/s, {r.http_429} × 429, "
        f"load {' '.join(map(str, r.load_average_before))}]\n"
        f"{'':18s} after the first {r.warmup_s:g} s: p50 {f(steady['p50'])} ms  "
        f"p95 {f(steady['p95'])} ms  p99 {f(steady['p99'])} ms  max {f(steady['max'])} ms"
    )


def _print_breakdown(b: dict[str, Any], what: str = "one order on a quiet daemon") -> None:
    if not b:
        return
    print(f"    {what} ({b['latency_ms']} ms to its ERP document):")
    for step in b["steps"]:
        end = f"–{step['end_ms']:.1f}" if step.get("end_ms") is not None else ""
        print(f"      {step['at_ms']:8.1f}{end:10s} ms  {step['what']}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=40, help="orders per config (default 40)")
    parser.add_argument("--rate", type=float, default=2.0, help="orders per second (default 2)")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="poll interval in the poll mode (2 s)"
    )
    parser.add_argument(
        "--modes", nargs="+", choices=["webhook", "poll"], default=["webhook", "poll"]
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of arrivals left out of the 'after warm-up' figures (5)",
    )
    parser.add_argument("--limits", nargs="+", choices=["on", "off"], default=["on", "off"])
    parser.add_argument(
        "--settle",
        type=float,
        default=1.5,
        help="seconds from the daemon's first poll (or its start) to the first order (1.5)",
    )
    parser.add_argument(
        "--from-start",
        action="store_true",
        help="count --settle from the daemon's start, not from its first poll (the poll may "
        "wait for a rate limiter): --from-start --settle 0 places the first order at once",
    )
    parser.add_argument(
        "--start",
        choices=["fresh", "clean"],
        default="fresh",
        help="fresh: a new state file; clean: the daemon measured replaces one that just "
        "transferred --previous orders and stopped cleanly on the same state file",
    )
    parser.add_argument(
        "--previous", type=int, default=10, help="orders the replaced daemon transfers (10)"
    )
    parser.add_argument(
        "--erp-groups",
        type=int,
        default=0,
        help="product groups added to the e-conomic simulator, one article each, that no "
        "order uses (0); the reference data of a start grows with them",
    )
    parser.add_argument(
        "--erp-latency",
        type=float,
        default=0.0,
        help="ms each e-conomic request takes on the wire (half each way; 0: none), as a "
        "remote's round trip: the document is seen when the POST's answer is back",
    )
    parser.add_argument(
        "--erp-limit",
        type=float,
        nargs=2,
        metavar=("REQUESTS", "SECONDS"),
        help="with limits on: the e-conomic account's limit, enforced by the simulator and "
        "configured as the adapter's rate_limit (default: the adapter's declared limit)",
    )
    parser.add_argument(
        "--no-breakdown", dest="breakdown", action="store_false", help="do not print timelines"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json, f"; load average {' '.join(map(str, load_average()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
