"""`brygga demo`: a simulated shop and ERP on loopback, the daemon between them, orders flowing,
their statuses coming back (and with ``--mode erp`` the ERP's prices and stock too)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast

import anyio
from anyio.abc import TaskStatus

from brygga.commands.common import brygga_command, brygga_error, load, setup_logging
from brygga.commands.demo_catalog import CatalogChanges
from brygga.commands.sync_products import PlainLines, SyncRequest, is_terminal, sync_products
from brygga.config import ResolvedConnection, state_path_problem
from brygga.errors import BryggaError, ConfigError
from brygga.http.server import ListenError, parse_listen, serve_http
from brygga.models import OrderEvent
from brygga.plugins import PluginHost
from brygga.runtime.actor import ActorDeps
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.store import ItemState, Store
from brygga.sync.orders import document_reference
from brygga.testing.process import write_config
from brygga.testing.simulators import ErpSimulator, ShopSimulator, StatusErpSimulator

log = logging.getLogger(__name__)

CONNECTION = "demo"
SHOP = "webbshop"
#: the orders-only demo: the catalog registers off
ORDERS_ONLY = {"price_lists": "off", "products": "off", "prices": "off", "stock": "off"}
#: --mode erp: products, prices and stock from the ERP (e-conomic has no price lists)
ERP_CATALOG = {"price_lists": "off"}
#: both demos: order statuses back from the ERP (its rules are STATUS_RULES)
STATUS_ON = {"status": "erp"}
#: ``[connection.status]``: "picking" once the order is in the ERP; "completed" when the
#: bookkeeper books its invoice, which e-mails the customer and captures the payment
STATUS_RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
}
#: the shop status the demo waits for on every order (the ``invoiced`` rule's)
COMPLETED = "completed"
#: how long after an order is in the ERP the bookkeeper books its invoice (seconds, random)
BOOKING_DELAY = (0.5, 2.0)
#: what --mode erp's ERP holds of each shop SKU at the start
START_STOCK = Decimal(50)


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
    completed: int = 0,
) -> str:
    """The progress line after the count, the essentials first (a narrow terminal cuts the
    end): what was placed, failed and duplicated, how many the shop shows completed; then
    time, rate and latency."""
    minutes, seconds = divmod(int(elapsed), 60)
    rate = f"{done / elapsed:.1f}" if elapsed > 0 else "?"
    return (
        f"placed {placed}, failed {failed}, duplicates {duplicates}, "
        f"{completed} completed in the shop "
        f"[{minutes:02d}:{seconds:02d}, {rate} orders/s, latency {latency}]"
    )


class StatusShop(Protocol):
    """What the demo reads of the simulated shop's order statuses (the Starweb simulator)."""

    def order_status(self, shop_order_id: str) -> str: ...

    def status_changes(self, shop_order_id: str) -> Sequence[Any]:
        """Each change has ``payment_action`` ("captured" when the payment was captured)."""
        ...


@dataclass(frozen=True)
class ShopStatuses:
    """What the shop shows of the placed orders' statuses."""

    #: orders in the shop status COMPLETED with their payment captured exactly once
    completed: int
    #: orders whose payment was captured more than once (never expected)
    captured_twice: int
    #: the other orders' shop statuses, counted ("completed without a capture" for one in
    #: COMPLETED whose payment was not captured)
    others: Counter[str]

    @classmethod
    def read(cls, shop: StatusShop, orders: Sequence[str]) -> ShopStatuses:
        completed = captured_twice = 0
        others: Counter[str] = Counter()
        for oid in orders:
            status = shop.order_status(oid)
            captures = sum(1 for c in shop.status_changes(oid) if c.payment_action == "captured")
            captured_twice += captures > 1
            if status == COMPLETED and captures == 1:
                completed += 1
            elif status == COMPLETED and not captures:
                others[f"{COMPLETED} without a capture"] += 1
            elif captures < 2:
                others[status] += 1
        return cls(completed, captured_twice, others)

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

    def tick(self, placed: Sequence[str], now: float) -> list[str]:
        """Book the invoices that are due; give the orders that reached the ERP a time to
        be booked at. Lines to show (a booking the ERP refused)."""
        self.waiting.update(dict.fromkeys(placed[self.seen :]))
        self.seen = len(placed)
        lines = []
        for oid, due in list(self.waiting.items()):
            reference = document_reference(CONNECTION, SHOP, oid)
            if due is None:
                if self.erp.documents_with_reference(reference):
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


def demo_connection(catalog_mode: bool) -> dict[str, Any]:
    """The demo connection's settings: the default demo shows the orders and their statuses,
    ``--mode erp`` the catalog too; every register polled each second."""
    registers = ERP_CATALOG if catalog_mode else ORDERS_ONLY
    polled = ["orders", "status", *(("products", "prices", "stock") if catalog_mode else ())]
    return {
        "mode": "erp",
        "registers": {**registers, **STATUS_ON},
        "poll": dict.fromkeys(polled, "1s"),
    }


def demo_sections(catalog_mode: bool) -> dict[str, dict[str, Any]]:
    """The demo connection's ``[connection.<section>]`` tables."""
    sections: dict[str, dict[str, Any]] = {
        "orders": {"overlap": "2m", "lookback": "10m", "workers": 2},
        "status": STATUS_RULES,
    }
    if catalog_mode:
        sections["catalog"] = {"overlap": "2m", "lookback": "10m", "workers": 2}
    return sections


def _place_random_order(
    shop: ShopSimulator, rng: random.Random, n: int, skus: list[str] | None = None
) -> str:
    skus = skus or shop.catalog_skus()
    lines = [(rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 4))]
    freight = Decimal(rng.choice(["0", "39.20", "49.00", "79.00"]))
    discount = Decimal(rng.choice(["0", "0", "0", "10", "15"]))
    return shop.place_order(
        lines=lines,
        email=f"kund{rng.randint(1, 40)}@example.se",
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
    host = PluginHost()
    shop_spec, erp_spec = host.adapters.get("starweb"), host.adapters.get("economic")
    if shop_spec is None or erp_spec is None or not shop_spec.simulator or not erp_spec.simulator:
        print("error: the demo needs the starweb and economic plugins", file=sys.stderr)
        return 2
    catalog_mode = args.mode == "erp"
    shop = cast(ShopSimulator, shop_spec.simulator(seed=args.seed))
    # the stock register reads e-conomic's inventory module (its sales documents are
    # invoices, which it takes; only its orders API is refused there)
    erp = cast(
        ErpSimulator,
        erp_spec.simulator(inventory_module=True) if catalog_mode else erp_spec.simulator(),
    )
    shop.faults.in_process = False
    erp.faults.in_process = False

    rng = random.Random(args.seed)
    progress = Progress()
    # its own random source: the orders placed stay the same whenever the invoices are booked
    bookkeeper = Bookkeeper(cast(StatusErpSimulator, erp), random.Random(f"books-{args.seed}"))
    statuses = cast(StatusShop, shop)
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
        shop_url = f"http://127.0.0.1:{shop_port}/api/v2"
        erp_url = f"http://127.0.0.1:{erp_port}"
        config_path = write_config(
            workdir / "brygga-demo.toml",
            state=str(state),
            listen=args.listen,
            name=CONNECTION,
            erp=erp.adapter_config(erp_url),
            shops=[shop.adapter_config(shop_url, name=SHOP)],
            daemon={"shutdown_deadline": "5s", "log_level": "warning"},
            connection=demo_connection(catalog_mode),
            sections=demo_sections(catalog_mode),
        )
        loaded, plugin_host = load(config_path)
        if changes is not None:
            # the shop gets the ERP's whole catalog first, as a new installation would
            print("Initial product sync (brygga sync products --from erp):", flush=True)
            await sync_products(loaded, SyncRequest(CONNECTION, "erp"))

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
        print(
            f"brygga demo\n"
            f"  shop (Starweb simulator)    {shop_url}\n"
            f"  ERP  (e-conomic simulator)  {erp_url}\n"
            f"  metrics                     http://127.0.0.1:{control.port}/metrics\n"
            f"  config                      {config_path}\n"
            f"  state                       {state}{removed}\n"
            f"  try: {brygga_command()} status -c {config_path}\n"
            f"Placing an order every {args.interval:g}s"
            + (" and changing a price or stock level in the ERP with each" if changes else "")
            + (f", {args.orders} in all" if args.orders else "; Ctrl-C stops")
            + f".\nIn the ERP an order shows {STATUS_RULES['transferred']['shop_status']!r} "
            + "in the shop; a bookkeeper books its invoice there a moment later, and the shop "
            + f"shows it {COMPLETED!r} (customer e-mailed, payment captured).",
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
                placed.append(_place_random_order(shop, rng, n, skus))
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
                    shown = ShopStatuses.read(statuses, placed)
                    for change in changes.check() if changes is not None else ():
                        say(change)
                    line = progress_text(
                        placed=len(placed),
                        failed=failed,
                        duplicates=dupes,
                        done=done,
                        elapsed=anyio.current_time() - started,
                        latency=progress.latency_text(),
                        completed=shown.completed,
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
                    if shown.captured_twice:
                        twice.append(f"{shown.captured_twice} order(s) captured more than once")
                    if twice:
                        print("\nerror: " + "; ".join(twice))
                        result["code"] = 1
                        control.request_stop()
                        return
                    on_the_way = changes is not None and bool(changes.pending)
                    if (
                        args.orders
                        and done == args.orders == len(placed) == shown.completed
                        and not on_the_way
                    ):
                        result["code"] = 0
                        control.request_stop()
                        return
                    if anyio.current_time() > deadline:
                        missing = []
                        if done < args.orders:
                            missing.append(
                                f"only {done} of {args.orders} orders arrived in time "
                                f"({failed} failed)"
                            )
                        if shown.completed < args.orders:
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
            while True:
                for line in bookkeeper.tick(placed, anyio.current_time()):
                    say(line)
                await anyio.sleep(0.1)

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
        tg.start_soon(watch)

    counts = [
        len(erp.documents_with_reference(document_reference(CONNECTION, SHOP, oid)))
        for oid in placed
    ]
    shown = ShopStatuses.read(statuses, placed)
    print(
        f"stopped: {len(placed)} order(s) placed, {sum(1 for c in counts if c == 1)} in the ERP "
        f"exactly once, {sum(1 for c in counts if c > 1)} duplicated, {shown.completed} "
        f"completed in the shop (payment captured once), latency "
        f"{progress.latency_text()}"
    )
    if changes is not None:
        print(changes.summary())
    return _exit_code(result["code"], counts, shown, stopped=control.stop_requested)


def _exit_code(
    decided: int | None, counts: Sequence[int], shown: ShopStatuses, *, stopped: bool
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
    if shown.captured_twice:
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
        if temporary is not None:
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
