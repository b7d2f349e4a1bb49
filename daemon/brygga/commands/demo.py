"""`brygga demo`: a simulated shop and ERP on loopback, the daemon between them, orders flowing,
their statuses coming back (and with ``--mode erp`` the ERP's prices and stock too)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import shutil
import signal
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import anyio
import httpx
from anyio.abc import TaskStatus

from brygga.adapters import AdapterSpec, Role
from brygga.commands.common import brygga_command, brygga_error, load, setup_logging
from brygga.commands.demo_catalog import CatalogChanges
from brygga.commands.sync_products import PlainLines, SyncRequest, is_terminal, sync_products
from brygga.config import ResolvedConnection, state_path_problem
from brygga.errors import BryggaError, ConfigError
from brygga.http.server import ListenError, parse_listen, serve_http
from brygga.models import OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.registers import registers_of
from brygga.runtime.actor import ActorDeps
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.runtime.signals import before_forced_exit
from brygga.store import ItemState, Store
from brygga.store.lock import daemon_running
from brygga.sync.orders import document_reference
from brygga.testing.process import write_config
from brygga.testing.simulators import (
    CatalogShopSimulator,
    ErpSimulator,
    PushingShopSimulator,
    ShopSimulator,
    StatusErpSimulator,
)

log = logging.getLogger(__name__)

CONNECTION = "demo"
SHOP = "webbshop"
#: the orders-only demo: the catalog registers off
ORDERS_ONLY = {"price_lists": "off", "products": "off", "prices": "off", "stock": "off"}
#: --mode erp: products, prices and stock from the ERP (e-conomic has no price lists)
ERP_CATALOG = {"price_lists": "off"}
#: both demos: order statuses back from the ERP (its rules are the shop kind's DemoStatuses)
STATUS_ON = {"status": "erp"}
#: Starweb's ``[connection.status]``: "picking" once the order is in the ERP; "completed" when
#: the bookkeeper books its invoice, which e-mails the customer and captures the payment
STATUS_RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
}
#: the shop status the Starweb demo waits for on every order (the ``invoiced`` rule's)
COMPLETED = "completed"


@dataclass(frozen=True)
class DemoStatuses:
    """The demo's status flow in one shop kind: its rules name the statuses that shop really
    has, as its adapter names them, and work through that adapter."""

    #: the ``[connection.status]`` rules
    rules: dict[str, Any]
    #: the shop status the ``invoiced`` rule sets: an order there with its payment captured
    #: exactly once (``payment_action`` "captured" in its status changes) is completed
    completed: str
    #: the header's sentence after "Placing an order every …": what the shop shows when
    story: str
    #: the final line's "(…)" after "N completed in the shop"
    meaning: str
    #: the status ``place_order`` is given (None: the simulator's default)
    placed: str | None = None


#: the demo's status flow per shop kind; a shop kind not here runs the orders-only demo
DEMO_STATUSES: dict[str, DemoStatuses] = {
    "starweb": DemoStatuses(
        rules=STATUS_RULES,
        completed=COMPLETED,
        story="In the ERP an order shows 'picking' in the shop; a bookkeeper books its invoice "
        "there a moment later, and the shop shows it 'completed' (customer e-mailed, payment "
        "captured).",
        meaning="payment captured once",
    ),
    # PrestaShop's default order states, as slugs of their names; the orders are paid at
    # checkout ("payment-accepted": PrestaShop records the payment then), and the Webservice
    # cannot capture, so the rules set no capture
    "prestashop": DemoStatuses(
        rules={
            "transferred": {"shop_status": "processing-in-progress"},
            "invoiced": {"shop_status": "shipped", "email": True},
        },
        completed="shipped",
        story="Orders are paid at checkout ('payment-accepted', the payment recorded then: "
        "the Webservice cannot capture). In the ERP an order shows 'processing-in-progress' "
        "in the shop; a bookkeeper books its invoice there a moment later, and the shop shows "
        "it 'shipped' (customer e-mailed).",
        meaning="'shipped', payment recorded once",
    ),
    # Vendure's default order process: no state for an order being picked; it ships only
    # settled orders, and the capture settles the authorized payment first
    "vendure": DemoStatuses(
        rules={"invoiced": {"shop_status": "Shipped", "capture": True}},
        completed="Shipped",
        story="Orders are placed with their payment authorized ('PaymentAuthorized'); "
        "Vendure's order process has no state for an order being picked, so nothing shows "
        "when it is in the ERP. A bookkeeper books its invoice there a moment later, and the "
        "shop settles the payment (the capture) and ships the order: 'Shipped' (Vendure's API "
        "has no e-mail switch).",
        meaning="'Shipped', payment settled once",
        placed="PaymentAuthorized",
    ),
}
#: how long after an order is in the ERP the bookkeeper books its invoice (seconds, random)
BOOKING_DELAY = (0.5, 2.0)
#: what --mode erp's ERP holds of each shop SKU at the start
START_STOCK = Decimal(50)
#: the default pair (--shop, --erp); --mode erp runs only this one
DEFAULT_SHOP, DEFAULT_ERP = "starweb", "economic"
#: the shop's webhook token where its simulator pushes orders to the daemon's receiver
PUSH_TOKEN = "brygga-demo-push-0123456789abcdef"
#: how often a pushing shop simulator sends its pending orders (seconds)
PUSH_EVERY = 0.5
#: what the demo needs of a shop simulator, and of an ERP simulator (ShopSimulator /
#: ErpSimulator of brygga.testing.simulators)
SHOP_NEEDS = ("adapter_config", "catalog_skus", "place_order")
ERP_NEEDS = ("adapter_config", "documents", "documents_with_reference")


@dataclass
class Progress:
    """Counts what the daemon reports while the demo runs (a FlowObserver)."""

    latencies: list[float] = field(default_factory=list)

    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        return None

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        self.latencies.append(latency_seconds)

    def latency_text(self) -> str:
        if not self.latencies:
            return "-"
        recent = self.latencies[-50:]
        return f"p50 {statistics.median(recent):.1f}s max {max(recent):.1f}s"


def progress_text(
    *,
    placed: int,
    failed: int,
    duplicates: int,
    done: int,
    elapsed: float,
    latency: str,
    completed: int | None = 0,
) -> str:
    """The progress line after the count, the essentials first (a narrow terminal cuts the
    end): what was placed, failed and duplicated, how many the shop shows completed (None: the
    orders-only demo, no statuses); then time, rate and latency."""
    minutes, seconds = divmod(int(elapsed), 60)
    rate = f"{done / elapsed:.1f}" if elapsed > 0 else "?"
    shown = "" if completed is None else f", {completed} completed in the shop"
    return (
        f"placed {placed}, failed {failed}, duplicates {duplicates}{shown} "
        f"[{minutes:02d}:{seconds:02d}, {rate} orders/s, latency {latency}]"
    )


@runtime_checkable
class StatusShop(Protocol):
    """What the demo reads of the simulated shop's order statuses (the Starweb, PrestaShop
    and Vendure simulators); a shop simulator without it runs the orders-only demo."""

    def order_status(self, shop_order_id: str) -> str: ...

    def status_changes(self, shop_order_id: str) -> Sequence[Any]:
        """Each change has ``payment_action`` ("captured" when the payment was captured)."""
        ...


@dataclass(frozen=True)
class ShopStatuses:
    """What the shop shows of the placed orders' statuses."""

    #: orders in the shop status ``status`` with their payment captured exactly once
    completed: int
    #: orders whose payment was captured more than once (never expected)
    captured_twice: int
    #: the other orders' shop statuses, counted ("completed without a capture" for one in
    #: ``status`` whose payment was not captured)
    others: Counter[str]

    #: the shop status that counts as completed (with one capture)
    status: str = COMPLETED

    @classmethod
    def read(
        cls, shop: StatusShop, orders: Sequence[str], completed_status: str = COMPLETED
    ) -> ShopStatuses:
        completed = captured_twice = 0
        others: Counter[str] = Counter()
        for oid in orders:
            status = shop.order_status(oid)
            captures = sum(1 for c in shop.status_changes(oid) if c.payment_action == "captured")
            captured_twice += captures > 1
            if status == completed_status and captures == 1:
                completed += 1
            elif status == completed_status and not captures:
                others[f"{completed_status} without a capture"] += 1
            elif captures < 2:
                others[status] += 1
        return cls(completed, captured_twice, others, completed_status)

    def missing(self, total: int) -> str:
        """Says how many orders the shop shows completed and what the others show."""
        shown = ", ".join(f"{n} {s}" for s, n in sorted(self.others.items()))
        return f"only {self.completed} of {total} completed in the shop" + (
            f" (the others: {shown})" if shown else ""
        )


@dataclass
class Bookkeeper:
    """Books the invoice of each order in the simulated ERP a little while after it arrived
    there, as a bookkeeper would (the ERP event the ``invoiced`` status rule answers)."""

    erp: StatusErpSimulator
    rng: random.Random
    #: shop orders whose invoice is not booked yet → when it is to be booked (None: the
    #: order is not in the ERP yet)
    waiting: dict[str, float | None] = field(default_factory=dict)
    #: how many of the placed orders were taken into ``waiting``
    seen: int = 0
    #: whether the daemon is done with the order (None: its document in the ERP is enough).
    #: An adapter that makes its document in steps (Tryton: create, quote, confirm) would
    #: find a document booked midway and fail the order.
    transferred: Callable[[str], bool] | None = None

    def tick(self, placed: Sequence[str], now: float) -> list[str]:
        """Book the invoices that are due; give the orders that reached the ERP a time to
        be booked at. Lines to show (a booking the ERP refused)."""
        self.waiting.update(dict.fromkeys(placed[self.seen :]))
        self.seen = len(placed)
        lines = []
        for oid, due in list(self.waiting.items()):
            reference = document_reference(CONNECTION, SHOP, oid)
            if due is None:
                if self.erp.documents_with_reference(reference) and (
                    self.transferred is None or self.transferred(oid)
                ):
                    self.waiting[oid] = now + self.rng.uniform(*BOOKING_DELAY)
                continue
            if now < due:
                continue
            del self.waiting[oid]
            try:
                self.erp.order_event(reference, OrderEvent.INVOICED)
            except ValueError as exc:  # e.g. booked already: say so, go on
                lines.append(f"ERP:  order {oid}: could not book its invoice: {exc}")
        return lines


def demo_connection(catalog_mode: bool, statuses: bool = True) -> dict[str, Any]:
    """The demo connection's settings: the default demo shows the orders and their statuses
    (``statuses``: where the pair can), ``--mode erp`` the catalog too; every register polled
    each second."""
    registers = ERP_CATALOG if catalog_mode else ORDERS_ONLY
    polled = [
        "orders",
        *(("status",) if statuses else ()),
        *(("products", "prices", "stock") if catalog_mode else ()),
    ]
    return {
        "mode": "erp",
        "registers": {**registers, **(STATUS_ON if statuses else {"status": "off"})},
        "poll": dict.fromkeys(polled, "1s"),
    }


def demo_sections(
    catalog_mode: bool, statuses: bool = True, rules: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The demo connection's ``[connection.<section>]`` tables; ``rules`` the status rules
    (Starweb's STATUS_RULES unless given)."""
    sections: dict[str, dict[str, Any]] = {
        "orders": {"overlap": "2m", "lookback": "10m", "workers": 2},
    }
    if statuses:
        sections["status"] = STATUS_RULES if rules is None else rules
    if catalog_mode:
        sections["catalog"] = {"overlap": "2m", "lookback": "10m", "workers": 2}
    return sections


def _kinds(host: PluginHost, role: Role) -> list[str]:
    """The installed adapter kinds of ``role`` that ship a simulator."""
    return sorted(k for k, s in host.adapters.items() if s.role == role and s.simulator)


def demo_pair(
    host: PluginHost, shop: str, erp: str, *, catalog_mode: bool
) -> tuple[AdapterSpec, AdapterSpec] | str:
    """The shop and ERP adapters ``--shop`` and ``--erp`` name, or the one line that says
    why the demo cannot run them."""
    specs = []
    for option, kind, role in (("--shop", shop, Role.SHOP), ("--erp", erp, Role.ERP)):
        spec = host.adapters.get(kind)
        if spec is None or spec.role != role or spec.simulator is None:
            available = ", ".join(_kinds(host, role)) or "none"
            return (
                f"{option} {kind}: no installed {role.value} adapter of that kind with a "
                f"simulator; available: {available}"
            )
        specs.append(spec)
    if catalog_mode and (shop, erp) != (DEFAULT_SHOP, DEFAULT_ERP):
        return (
            f"--mode erp runs only --shop {DEFAULT_SHOP} --erp {DEFAULT_ERP} (its price and "
            f"stock changes are made in those simulators); run --shop {shop} --erp {erp} "
            "with --mode orders"
        )
    return specs[0], specs[1]


def _lacking(simulator: object, needs: Sequence[str], what: str) -> str:
    """The line saying the demo cannot run ``what`` when its simulator lacks a method the
    demo needs ('' when it has them all)."""
    missing = [name for name in needs if not callable(getattr(simulator, name, None))]
    if not missing:
        return ""
    return f"the demo cannot run {what}: its simulator has no {', '.join(missing)}"


def _status_problems(
    shop_spec: AdapterSpec, shop: object, erp_spec: AdapterSpec, erp: object
) -> list[str]:
    """Why statuses cannot go back to the shop in this pair's demo (none: they can)."""
    problems = []
    if Register.STATUS not in registers_of(erp_spec.adapter).reads:
        problems.append(f"the {erp_spec.kind} adapter reports no order statuses")
    elif OrderEvent.INVOICED not in erp_spec.capabilities.status_events:
        problems.append(f"the {erp_spec.kind} adapter reports no booked invoice")
    elif not isinstance(erp, StatusErpSimulator):
        problems.append(f"the {erp_spec.kind} simulator cannot book an invoice (order_event)")
    if Register.STATUS not in registers_of(shop_spec.adapter).writes:
        problems.append(f"the {shop_spec.kind} adapter writes no order statuses")
    elif not isinstance(shop, StatusShop):
        problems.append(
            f"the {shop_spec.kind} simulator does not show its status changes (status_changes)"
        )
    elif shop_spec.kind not in DEMO_STATUSES:
        problems.append(f"the demo has no status rules for {shop_spec.kind} shops")
    return problems


def status_pair(shop_spec: AdapterSpec, shop: object, erp_spec: AdapterSpec, erp: object) -> bool:
    """Whether the demo runs the statuses too: the ERP adapter reports a booked invoice and
    its simulator books one (StatusErpSimulator); the shop adapter writes statuses, its
    simulator shows them with their side effects (StatusShop), and the demo has the shop
    kind's rules (DEMO_STATUSES)."""
    return not _status_problems(shop_spec, shop, erp_spec, erp)


def _no_status_reason(
    shop_spec: AdapterSpec, shop: object, erp_spec: AdapterSpec, erp: object
) -> str:
    return " and ".join(_status_problems(shop_spec, shop, erp_spec, erp))


def _place_random_order(
    shop: ShopSimulator,
    rng: random.Random,
    n: int,
    skus: list[str] | None = None,
    status: str | None = None,
) -> str:
    skus = skus or shop.catalog_skus()
    lines = [(rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 4))]
    freight = Decimal(rng.choice(["0", "39.20", "49.00", "79.00"]))
    discount = Decimal(rng.choice(["0", "0", "0", "10", "15"]))
    if status is None:  # the simulator's default status, as the protocol allows
        return shop.place_order(
            lines=lines,
            email=f"kund{rng.randint(1, 40)}@example.se",
            freight=freight,
            discount_percent=discount,
        )
    return shop.place_order(
        lines=lines,
        email=f"kund{rng.randint(1, 40)}@example.se",
        status=status,
        freight=freight,
        discount_percent=discount,
    )


async def _earlier_demo(state: Path) -> int:
    """How many records of an earlier demo the state file holds (0: none, or no file yet)."""
    if not await anyio.Path(state).exists() or (await anyio.Path(state).stat()).st_size == 0:
        return 0
    async with await Store.open(state) as store:
        return sum((await store.items.counts(CONNECTION)).values())


async def _demo(args: argparse.Namespace, workdir: Path, state: Path) -> int:
    if args.state and daemon_running(state):
        print(
            f"error: --state {args.state}: another demo (or a brygga daemon) is running on "
            "this state file now; give this demo its own --state, or none",
            file=sys.stderr,
        )
        return 2
    if args.state and (earlier := await _earlier_demo(state)):
        # the simulators start empty every run: the shop's order numbers would repeat ones
        # this file already records as transferred, into an ERP that no longer has them
        print(
            f"error: --state {args.state}: it holds {earlier} records of an earlier demo, "
            "whose simulated shop and ERP are gone (every demo starts them empty, so its "
            "orders would repeat numbers already transferred); name a new file, or look at "
            f"this one with `brygga status -c {workdir / 'brygga-demo.toml'}`",
            file=sys.stderr,
        )
        return 2
    catalog_mode = args.mode == "erp"
    pair = demo_pair(PluginHost(), args.shop, args.erp, catalog_mode=catalog_mode)
    if isinstance(pair, str):
        print(f"error: {pair}", file=sys.stderr)
        return 2
    shop_spec, erp_spec = pair
    assert shop_spec.simulator is not None and erp_spec.simulator is not None  # demo_pair's
    shop = cast(ShopSimulator, shop_spec.simulator(seed=args.seed))
    # the stock register reads e-conomic's inventory module (its sales documents are
    # invoices, which it takes; only its orders API is refused there)
    erp = cast(
        ErpSimulator,
        erp_spec.simulator(inventory_module=True) if catalog_mode else erp_spec.simulator(),
    )
    lacking = _lacking(shop, SHOP_NEEDS, f"shop kind {shop_spec.kind!r}") or _lacking(
        erp, ERP_NEEDS, f"ERP kind {erp_spec.kind!r}"
    )
    if lacking:
        print(f"error: {lacking}", file=sys.stderr)
        return 2
    shop.faults.in_process = False
    erp.faults.in_process = False
    if isinstance(shop, CatalogShopSimulator) and not catalog_mode:
        # the ERP holds the articles the shop sells, as a real installation's does
        for sku, name, price, vat_rate in shop.catalog_articles():
            erp.add_article(sku, name, price, vat_rate)
    with_status = status_pair(shop_spec, shop, erp_spec, erp)
    pushing = shop if isinstance(shop, PushingShopSimulator) else None

    rng = random.Random(args.seed)
    progress = Progress()
    statuses = cast(StatusShop, shop) if with_status else None
    flow = DEMO_STATUSES[shop_spec.kind] if with_status else None
    # the status the ``transferred`` rule gives (None: the shop kind's flow has no such rule)
    transferred_status = (
        str(flow.rules["transferred"]["shop_status"])
        if flow is not None and "transferred" in flow.rules
        else None
    )

    def transferred(oid: str) -> bool:
        """The daemon is done with the order: its document number written back, and the
        shop shows the ``transferred`` status (booked earlier, the invoice's status would
        come first and, never going backwards, the shop would skip that one)."""
        if shop.exported_document(oid) is None:
            return False
        return transferred_status is None or (
            statuses is not None and statuses.order_status(oid) == transferred_status
        )

    # its own random source: the orders placed stay the same whenever the invoices are booked
    bookkeeper = (
        Bookkeeper(
            cast(StatusErpSimulator, erp),
            random.Random(f"books-{args.seed}"),
            transferred=transferred,
        )
        if with_status
        else None
    )
    changes: CatalogChanges | None = None
    if catalog_mode:
        changes = CatalogChanges(shop, erp, random.Random(args.seed), anyio.current_time)
        for sku in changes.skus:
            cast(Any, erp).set_stock(sku, START_STOCK)
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    placed: list[str] = []
    #: the exit code once the demo itself decided (None: it was stopped from outside)
    result: dict[str, int | None] = {"code": None}
    sims_stop = anyio.Event()
    #: plain lines every PLAIN_EVERY seconds where the bar would be one endless line (a file)
    plain = None if is_terminal(sys.stderr) else PlainLines(sys.stderr)

    async with anyio.create_task_group() as tg:
        shop_port = await tg.start(_serve_sim, shop.app, sims_stop)
        erp_port = await tg.start(_serve_sim, erp.app, sims_stop)
        # the simulators' root, as the conformance kit gives it (a Starweb base URL's
        # /api/v2 the Starweb simulator takes too)
        shop_url = f"http://127.0.0.1:{shop_port}"
        erp_url = f"http://127.0.0.1:{erp_port}"
        shop_table = shop.adapter_config(shop_url, name=SHOP)
        if pushing is not None:
            shop_table["webhook_token"] = PUSH_TOKEN
        config_path = write_config(
            workdir / "brygga-demo.toml",
            state=str(state),
            listen=args.listen,
            name=CONNECTION,
            erp=erp.adapter_config(erp_url),
            shops=[shop_table],
            daemon={"shutdown_deadline": "5s", "log_level": "warning"},
            connection=demo_connection(catalog_mode, with_status),
            sections=demo_sections(catalog_mode, with_status, flow.rules if flow else None),
        )
        loaded, plugin_host = load(config_path)
        if changes is not None:
            # the shop gets the ERP's whole catalog first, as a new installation would
            print("Initial product sync (brygga sync products --from erp):", flush=True)
            await sync_products(
                loaded, SyncRequest(CONNECTION, "erp"), mappings=plugin_host.mappings
            )

        async def daemon(*, task_status: TaskStatus[ActorDeps]) -> None:
            try:
                await serve(
                    loaded,
                    plugin_host,
                    control=control,
                    observers=(progress,),
                    task_status=task_status,
                )
            finally:
                sims_stop.set()
                tg.cancel_scope.cancel()

        deps: ActorDeps = await tg.start(daemon)
        await control.wait_started()
        removed = "" if args.state or args.keep else " (removed at the end; --keep keeps it)"
        receiver = f"http://127.0.0.1:{control.port}/webhooks/{CONNECTION}/{PUSH_TOKEN}"
        if pushing is not None:
            pushing.configure_receiver(receiver)
        rows = [
            (f"shop ({shop_spec.kind} simulator)", shop_url),
            (f"ERP  ({erp_spec.kind} simulator)", erp_url),
            ("metrics", f"http://127.0.0.1:{control.port}/metrics"),
            ("config", str(config_path)),
            ("state", f"{state}{removed}"),
        ]
        width = max(len(label) for label, _ in rows) + 2
        print(
            "brygga demo\n"
            + "".join(f"  {label.ljust(width)}{value}\n" for label, value in rows)
            + f"  try: {brygga_command()} status -c {config_path}\n"
            + f"Placing an order every {args.interval:g}s"
            + (" and changing a price or stock level in the ERP with each" if changes else "")
            + (f", {args.orders} in all" if args.orders else "; Ctrl-C stops")
            + (
                f"; the shop sends each to the daemon's receiver ({receiver.rsplit('/', 1)[0]}/…)"
                if pushing is not None
                else ""
            )
            + (
                f".\n{flow.story}"
                if flow is not None
                else f".\nOrders only: {_no_status_reason(shop_spec, shop, erp_spec, erp)}, "
                "so no status goes back to the shop; the demo is done when every order is in "
                "the ERP exactly once."
            ),
            flush=True,
        )

        def say(line: str) -> None:
            """A line above the progress bar (tqdm clears and redraws it)."""
            if plain is not None:
                print(line, flush=True)
                return
            from tqdm import tqdm

            tqdm.write(line, file=sys.stdout)

        async def place_orders() -> None:
            n = 0
            while not args.orders or n < args.orders:
                skus = changes.skus if changes is not None else None
                status = flow.placed if flow is not None else None
                placed.append(_place_random_order(shop, rng, n, skus, status))
                if changes is not None:
                    say(changes.change())
                n += 1
                await anyio.sleep(args.interval)

        async def monitor() -> None:
            from tqdm import tqdm  # a dependency of brygga; run() checked it is there

            of = "/{total_fmt}" if args.orders else ""
            bar = (
                tqdm(
                    total=args.orders or None,
                    bar_format="in ERP {n_fmt}" + of + " orders{postfix}",
                    mininterval=0.5,
                    dynamic_ncols=True,  # the terminal's width, as it is now
                )
                if plain is None
                else None
            )
            line = ""

            def plain_line(elapsed: float) -> str:
                total = f"/{args.orders}" if args.orders else ""
                return f"in ERP {done}{total} orders, {line}"

            done = 0
            if plain is not None:
                plain.start()
            started = anyio.current_time()
            deadline = started + args.timeout
            try:
                while True:
                    await anyio.sleep(0.5)
                    counts = [
                        len(erp.documents_with_reference(document_reference(CONNECTION, SHOP, oid)))
                        for oid in placed
                    ]
                    done = sum(1 for c in counts if c == 1)
                    dupes = sum(1 for c in counts if c > 1)
                    failed = len(await deps.store.items.query(states=[ItemState.FAILED]))
                    shown = (
                        ShopStatuses.read(statuses, placed, flow.completed)
                        if statuses and flow
                        else None
                    )
                    if changes is not None:
                        await changes.note_stock_done(deps.store, CONNECTION, SHOP)
                    for change in changes.check() if changes is not None else ():
                        say(change)
                    line = progress_text(
                        placed=len(placed),
                        failed=failed,
                        duplicates=dupes,
                        done=done,
                        elapsed=anyio.current_time() - started,
                        latency=progress.latency_text(),
                        completed=shown.completed if shown else None,
                    )
                    if bar is not None:
                        bar.n = done
                        bar.set_postfix_str(line, refresh=True)
                    elif plain is not None:
                        plain.tick(plain_line)
                    if not args.exit_when_done:
                        continue
                    twice = []
                    if dupes:
                        twice.append(f"{dupes} order(s) in the ERP more than once")
                    if shown and shown.captured_twice:
                        twice.append(f"{shown.captured_twice} order(s) captured more than once")
                    if twice:
                        print("\nerror: " + "; ".join(twice))
                        result["code"] = 1
                        control.request_stop()
                        return
                    on_the_way = changes is not None and bool(changes.pending)
                    if (
                        args.orders
                        and done == args.orders == len(placed)
                        and (shown is None or shown.completed == done)
                        and not on_the_way
                    ):
                        result["code"] = 0
                        control.request_stop()
                        return
                    settled = done + failed >= args.orders == len(placed)
                    if args.orders and failed and settled:
                        # failed for good: nothing moves them on but `brygga errors retry`
                        print(
                            f"\nerror: {failed} record(s) failed for good (the warnings "
                            f"above say why), {done} of {args.orders} orders in the ERP"
                        )
                        result["code"] = 1
                        control.request_stop()
                        return
                    if anyio.current_time() > deadline:
                        missing = []
                        if done < args.orders:
                            missing.append(
                                f"only {done} of {args.orders} orders arrived in time "
                                f"({failed} failed)"
                            )
                        if shown is not None and shown.completed < args.orders:
                            missing.append(shown.missing(args.orders))
                        if changes is not None:
                            missing.append(changes.summary())
                        print("\nerror: " + "; ".join(missing))
                        result["code"] = 1
                        control.request_stop()
                        return
            finally:
                if bar is not None:
                    bar.close()
                elif plain is not None and line:
                    plain.line(plain_line)

        async def book_invoices() -> None:
            while bookkeeper is not None:
                for line in bookkeeper.tick(placed, anyio.current_time()):
                    say(line)
                await anyio.sleep(0.1)

        async def push_orders() -> None:
            """The shop sends its new orders to the daemon's receiver, retrying those not
            accepted (a pushing shop simulator)."""
            if pushing is None:
                return
            async with httpx.AsyncClient(timeout=10) as client:
                while True:
                    await pushing.push_pending(client)
                    await anyio.sleep(PUSH_EVERY)

        async def watch() -> None:
            """The monitor until the daemon begins to stop (a signal, or the monitor itself):
            the daemon closes the state file as it stops, so no query may be on its way."""
            with anyio.CancelScope() as watching:
                async with anyio.create_task_group() as inner:

                    async def until_stopping() -> None:
                        await control.wait_stop_requested()
                        watching.cancel()

                    inner.start_soon(until_stopping)
                    await monitor()
                    inner.cancel_scope.cancel()

        tg.start_soon(place_orders)
        tg.start_soon(book_invoices)
        tg.start_soon(push_orders)
        tg.start_soon(watch)

    counts = [
        len(erp.documents_with_reference(document_reference(CONNECTION, SHOP, oid)))
        for oid in placed
    ]
    shown = ShopStatuses.read(statuses, placed, flow.completed) if statuses and flow else None
    completed = (
        f"{shown.completed} completed in the shop ({flow.meaning})"
        if shown and flow
        else "statuses not shown (orders only)"
    )
    print(
        f"stopped: {len(placed)} order(s) placed, {sum(1 for c in counts if c == 1)} in the ERP "
        f"exactly once, {sum(1 for c in counts if c > 1)} duplicated, {completed}, latency "
        f"{progress.latency_text()}"
    )
    if changes is not None:
        print(changes.summary())
    return _exit_code(result["code"], counts, shown, stopped=control.stop_requested)


def _exit_code(
    decided: int | None, counts: Sequence[int], shown: ShopStatuses | None, *, stopped: bool
) -> int:
    """The demo's exit code as its help lists them, with a line saying why when it is not 0:
    what the demo decided itself (it printed why), else 1 for an order or a payment found
    twice, else 130 when it was stopped (Ctrl-C, SIGTERM), else 1 (the daemon ended by
    itself)."""
    if decided is not None:
        return decided
    twice = []
    if duplicated := sum(1 for c in counts if c > 1):
        twice.append(f"{duplicated} order(s) in the ERP more than once")
    if shown is not None and shown.captured_twice:
        twice.append(f"{shown.captured_twice} order(s) captured more than once")
    if twice:
        print("error: " + "; ".join(twice), file=sys.stderr)
        return 1
    if stopped:
        print(
            "interrupted (Ctrl-C or SIGTERM): exit 130; no order in the ERP twice and no "
            "payment captured twice",
            file=sys.stderr,
        )
        return 130
    print(
        "error: the daemon stopped before the demo was done (see the log lines above)",
        file=sys.stderr,
    )
    return 1


async def _serve_sim(app: Any, stop: anyio.Event, *, task_status: Any) -> None:
    await serve_http(app, "127.0.0.1:0", shutdown_trigger=stop.wait, task_status=task_status)


def _state_option(path: Path) -> str:
    return f"--state {path}"


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("tqdm") is None:
        print(
            "error: the demo's progress line needs tqdm, a dependency of brygga that is not "
            "installed here: reinstall brygga (pip install brygga; in a checkout: "
            "pip install -e .)",
            file=sys.stderr,
        )
        return 2
    try:
        parse_listen(args.listen)
    except ConfigError as exc:
        print(f"error: --listen: {exc}", file=sys.stderr)
        return 2
    if args.state:
        problem = state_path_problem(Path(args.state).resolve(), spell=_state_option)
        if problem:
            print(f"error: --state: {problem}", file=sys.stderr)
            return 2
    setup_logging("warning")
    temporary: Path | None = None
    if args.state:
        state = Path(args.state).resolve()
        workdir = state.parent
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        temporary = workdir = Path(tempfile.mkdtemp(prefix="brygga-demo-"))
        state = workdir / "state.db"
    forget: Callable[[], None] | None = None
    if temporary is not None and not args.keep:
        # a second Ctrl-C leaves at once (os._exit, no finally): the folder holds the
        # simulators' secrets, so it goes then too
        folder = temporary
        forget = before_forced_exit(lambda: shutil.rmtree(folder, ignore_errors=True))
    try:
        return anyio.run(_demo, args, workdir, state, backend="asyncio")
    except (BryggaError, BaseExceptionGroup) as raised:
        error = brygga_error(raised)
        if error is None:
            raise  # not ours: a state file that cannot be used is told by the cli, else a crash
        if isinstance(error, ListenError):
            print(f"error: --listen {args.listen}: {error.reason}", file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 2
    finally:  # also after Ctrl-C
        if forget is not None:
            forget()
        if temporary is not None:
            # a Ctrl-C now (the second of two) must not stop the removal half-way: the folder
            # holds the simulators' secrets; the demo is ending anyway
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _clean_up(temporary, keep=args.keep)


def _clean_up(folder: Path, *, keep: bool) -> None:
    """Remove the demo's temporary folder, or say where it was kept."""
    if keep:
        config = folder / "brygga-demo.toml"
        print(f"kept {folder} (look: {brygga_command()} status -c {config})")
        return
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        print(f"note: could not remove {folder}: {exc.strerror}", file=sys.stderr)
