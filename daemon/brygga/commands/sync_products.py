"""`brygga sync products`: the initial product sync, with progress and a summary."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import anyio

from brygga.adapters import ConfigNeeds, ErpAdapter, ShopAdapter
from brygga.commands.common import (
    brygga_error,
    format_table,
    load,
    open_state,
    setup_logging,
    unknown_connection,
)
from brygga.commands.state_on_write import StateOnWrite
from brygga.config import LoadedConfig, ResolvedConnection
from brygga.errors import BryggaError, ConfigError, SchemaTooNewError
from brygga.http.client import HttpContext
from brygga.mappings import Mapping, of_register
from brygga.models import Register
from brygga.registers import ProductSink, ProductSource, StockSink, StockSource
from brygga.runtime.limiterstate import visiting_limiters
from brygga.store import Store
from brygga.store.db import SchemaTooOld
from brygga.store.lock import DaemonLock
from brygga.store.sync_checkpoint import SyncCheckpoint
from brygga.sync.article_wait import CreatedHere
from brygga.sync.catalog_items import OrderOnly
from brygga.sync.flows import masters
from brygga.sync.initial_sync import Failure, InitialSync, PreviewsArticles, Tally
from brygga.sync.wiring import build_adapters

__all__ = [
    "PlainLines",
    "PlainProgress",
    "SyncRequest",
    "is_terminal",
    "run",
    "summary_lines",
    "sync_products",
]

Side = Literal["shop", "erp"]
#: seconds between two plain progress lines (a pipe, a log file)
PLAIN_EVERY = 10.0


@dataclass(frozen=True)
class SyncRequest:
    connection: str
    side: Side
    shop: str | None = None
    dry_run: bool = False


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _counts(tally: Tally) -> str:
    text = (
        f"created {tally.created}, updated {tally.updated}, unchanged {tally.unchanged}, "
        f"failed {tally.failed}"
    )
    if tally.skipped:
        text += f", skipped {tally.skipped}"
    if tally.fee_articles:
        text += f", fee articles skipped {tally.fee_articles}"
    if tally.earlier:
        text += f", done before {tally.earlier}"
    return text


def progress_text(tally: Tally, elapsed: float) -> str:
    """``1200/50000 articles (2.4%), 35.1/s, ETA 22m10s; created …``: count, rate and ETA
    (when the total is known), then the counts. The total is an estimate (the source's count,
    or the last whole run's): a count passed shows as "more than counted", with no ETA."""
    n, total = tally.articles, tally.total
    rate = n / elapsed if elapsed > 0 else 0.0
    head = f"{n}/{total} articles ({100 * n / total:.1f}%)" if total else f"{n} articles"
    if total and n > total:
        head = f"{n} articles (more than the {total} counted)"
    eta = ""
    if total and rate > 0 and n < total:
        eta = f", ETA {_duration((total - n) / rate)}"
    return f"{head}, {rate:.1f}/s{eta}; {_counts(tally)}"


class PlainLines:
    """Progress as plain lines, for a pipe or a log file (where a redrawn bar would be one
    endless line): :meth:`tick` writes one when ``every`` seconds have passed since the last,
    :meth:`line` one now. What a line says is the caller's (``text(elapsed)``)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._every, self._clock = stream, every, clock
        self._started = self._last = clock()

    def start(self) -> None:
        self._started = self._last = self._clock()

    def tick(self, text: Callable[[float], str]) -> None:
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            self._write(text(now - self._started))

    def line(self, text: Callable[[float], str]) -> None:
        self._write(text(self._clock() - self._started))

    def _write(self, line: str) -> None:
        print(line, file=self._stream)
        self._stream.flush()


class PlainProgress:
    """The initial sync's :class:`PlainLines`: a line every ``every`` seconds and one at the
    end."""

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lines = PlainLines(stream, every=every, clock=clock)

    def started(self, tally: Tally) -> None:
        self._lines.start()

    def advanced(self, tally: Tally) -> None:
        self._lines.tick(lambda elapsed: self._text(tally, elapsed))

    def failed(self, tally: Tally, failure: Failure) -> None:
        return None

    def close(self, tally: Tally) -> None:
        self._lines.line(lambda elapsed: self._text(tally, elapsed))

    @staticmethod
    def _text(tally: Tally, elapsed: float) -> str:
        return f"{tally.source}: {progress_text(tally, elapsed)}"


class BarProgress:
    """tqdm's bar on a terminal: count, rate and (with a known total) ETA, then the counts."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bar: Any = None

    def started(self, tally: Tally) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=tally.total,
            initial=0,
            unit=" articles",
            desc=tally.source,
            file=self._stream,
            dynamic_ncols=True,
            mininterval=0.5,
        )

    def advanced(self, tally: Tally) -> None:
        bar = self._bar
        if bar is None:
            return
        if bar.total is not None and tally.articles > bar.total:
            bar.total = tally.articles  # the catalog grew since the last run
        bar.set_postfix_str(_counts(tally), refresh=False)
        bar.update(tally.articles - bar.n)

    def failed(self, tally: Tally, failure: Failure) -> None:
        return None

    def close(self, tally: Tally) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(_counts(tally), refresh=True)
            self._bar.close()


def progress_for(stream: TextIO) -> PlainProgress | BarProgress:
    """The bar on a terminal, plain lines otherwise."""
    return BarProgress(stream) if is_terminal(stream) else PlainProgress(stream)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a bar may redraw itself there; not in a file)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def summary_lines(tally: Tally, elapsed: float, *, dry_run: bool) -> list[str]:
    """The end of one source's pass: counts, why it stopped, and every failure with its SKU."""
    targets = ", ".join(tally.targets)
    rate = f" ({tally.articles / elapsed:.1f}/s)" if elapsed > 0 else ""
    verb = "would be " if dry_run else ""
    counts: list[tuple[str, object]] = [
        (f"{verb}created", tally.created),
        (f"{verb}updated", tally.updated),
        ("unchanged", tally.unchanged),
    ]
    if tally.skipped:
        counts.append((f"{verb}skipped", f"{tally.skipped} (SKU and why below)"))
    if tally.fee_articles:
        counts.append(
            (
                "skipped: fee articles",
                f"{tally.fee_articles} (order rows only, [connection.orders] fee_articles; "
                "not offered in the shop)",
            )
        )
    counts.append(("failed", tally.failed))
    if tally.levels_queued:
        counts.append(
            (
                "stock levels queued",
                f"{tally.levels_queued} (of the articles created; the daemon's stock flow "
                "writes them: start `brygga run` if it is not running)",
            )
        )
    lines = [
        f"{tally.source} -> {targets}: {tally.articles} articles read in "
        f"{_duration(elapsed)}{rate}",
        *format_table(counts, indent="  "),
    ]
    if tally.resumed_from:
        lines.append(
            f"  done before {tally.earlier} (resumed from an earlier run that stopped or had "
            "failures: what it had done was not written again)"
        )
    if tally.stopped:
        lines.append(f"  STOPPED: {tally.stopped}")
    if tally.skips:
        lines.append(f"{verb}skipped (SKU, why):")
        lines.extend(format_table([(f.sku, f.sentence) for f in tally.skips], indent="  "))
        if tally.skips_not_kept:
            lines.append(f"  … and {tally.skips_not_kept} more skipped")
    if tally.failures:
        lines.append("failures (SKU, what to fix):")
        rows = [(f.sku, f.sentence) for f in tally.failures]
        lines.extend(format_table(rows, indent="  "))
        if tally.failures_not_kept:
            lines.append(f"  … and {tally.failures_not_kept} more failures")
    return lines


def _pick(conn: ResolvedConnection, request: SyncRequest) -> str | None:
    """Why the request cannot run on ``conn`` (an unknown shop), or None."""
    names = [cfg.name for cfg in conn.shops]
    if request.shop is not None and request.shop not in names:
        return (
            f"connection {conn.name!r} has no shop named {request.shop!r} (shops: "
            f"{', '.join(names)})"
        )
    return None


def _with_prices(conn: ResolvedConnection, side: Side) -> tuple[bool, str]:
    """Whether the articles carry their prices, and a note when they do not."""
    if conn.config.registers.prices == "off":
        return False, "prices are off in [connection.registers]: articles go without prices"
    prices = masters(conn).get(Register.PRICES, "off")
    if prices not in ("off", side):
        return False, f"prices are mastered by the {prices}: articles go without prices"
    return True, ""


def _currencies(conn: ResolvedConnection, side: Side) -> dict[str, str]:
    """Target shop → its catalog price currency (``[connection.catalog.shops.<shop>]
    currency``) when copying from the ERP; empty from the shops (the ERP keeps its own)."""
    if side != "erp":
        return {}
    catalog = conn.config.catalog
    return {
        cfg.name: currency
        for cfg in conn.shops
        if (currency := catalog.shop(cfg.name).currency) is not None
    }


@dataclass(frozen=True)
class _Pair:
    source_name: str
    source: Any
    targets: dict[str, Any]


def _pairs(
    conn: ResolvedConnection,
    request: SyncRequest,
    erp: ErpAdapter,
    shops: dict[str, ShopAdapter],
) -> list[_Pair]:
    chosen = {n: s for n, s in shops.items() if request.shop in (None, n)}
    if request.side == "erp":
        return [_Pair(conn.erp.name, erp, dict(chosen))]
    return [_Pair(name, shop, {conn.erp.name: erp}) for name, shop in chosen.items()]


_PRODUCTS = frozenset({Register.PRODUCTS})


def _refuse(pair: _Pair, conn: ResolvedConnection, dry_run: bool) -> str | None:
    kinds = {conn.erp.name: conn.erp.kind, **{cfg.name: cfg.kind for cfg in conn.shops}}
    if not isinstance(pair.source, ProductSource):
        kind = kinds.get(pair.source_name, "?")
        return f"{pair.source_name} ({kind}) cannot read products, so it cannot be the source"
    for name, target in pair.targets.items():
        if not isinstance(target, ProductSink):
            return f"{name} ({kinds.get(name, '?')}) cannot take products, so it cannot be a target"
        # what the target's config lacks to take products (e-conomic: a product group)
        needs = target.write_problems(_PRODUCTS) if isinstance(target, ConfigNeeds) else []
        if needs:
            return f"connection {conn.name!r}: " + "; ".join(needs)
        # the dry run reads the target: its own preview, else the article by SKU
        if dry_run and not isinstance(target, (ProductSource, PreviewsArticles)):
            return (
                f"{name} ({kinds.get(name, '?')}) cannot be read, so --dry-run cannot compare; "
                "run without --dry-run"
            )
    return None


def _levels(conn: ResolvedConnection, request: SyncRequest, pair: _Pair) -> CreatedHere | None:
    """Where the levels of the articles this run creates are queued for the daemon: copying
    from the ERP (creating on) into shops its stock flow writes to, as the daemon's products
    flow queues them; None when stock does not go from the ERP to these shops."""
    if request.side != "erp" or not conn.config.catalog.create:
        return None
    source = pair.source
    if masters(conn).get(Register.STOCK) != "erp" or not isinstance(source, StockSource):
        return None
    return CreatedHere(
        source_name=pair.source_name,
        source=pair.source if isinstance(pair.source, ProductSource) else None,
        targets=frozenset(pair.targets),
        order_only=OrderOnly.of_orders(conn.config.orders),
        stock_targets=frozenset(n for n, t in pair.targets.items() if isinstance(t, StockSink)),
    )


def _shielded(close: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """``close`` run to its end also when the run was cancelled (Ctrl-C, SIGTERM)."""

    async def closing() -> None:
        with anyio.CancelScope(shield=True):
            await close()

    return closing


async def sync_products(
    loaded: LoadedConfig,
    request: SyncRequest,
    *,
    http: HttpContext | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    progress: Callable[[TextIO], PlainProgress | BarProgress] = progress_for,
    mappings: Sequence[Mapping] = (),
) -> int:
    """Copy the catalog as ``request`` says; 0 when everything was copied, 1 when something
    failed or the run stopped, 2 for a request the config cannot do. ``http``: the adapters'
    HTTP context (tests route it to simulators). ``mappings``: the plugins' field mappings
    (the products and prices ones run on each article, as in the daemon)."""
    out = out or sys.stdout
    err = err or sys.stderr
    conn = next((c for c in loaded.connections if c.name == request.connection), None)
    if conn is None:
        print(f"error: {unknown_connection(loaded, request.connection)}", file=err)
        return 2
    problem = _pick(conn, request)
    if problem:
        print(f"error: {problem}", file=err)
        return 2
    with_prices, price_note = _with_prices(conn, request.side)
    catalog = conn.config.catalog
    async with AsyncExitStack() as stack:
        state = loaded.state_path
        if not request.dry_run:
            lock = DaemonLock(state.with_name(f"{state.name}.sync-products-{conn.name}"))
            try:
                lock.acquire()
            except BryggaError:
                print(
                    f"error: another `brygga sync products` runs on connection {conn.name} "
                    f"({lock.path}); wait for it to end",
                    file=err,
                )
                return 1
            stack.callback(lock.release)
        store: Store | None = None
        # the dry run keeps no checkpoint and creates no state file unless an adapter writes
        # its state (a rotated refresh token: state_on_write); it reads an existing one
        on_write: StateOnWrite | None = None
        if not request.dry_run or await anyio.Path(state).exists():
            # a dry run never migrates; a copy does unless a daemon runs on the file
            store = await open_state(state, migrate=not request.dry_run)
            stack.push_async_callback(_shielded(store.close))
        else:
            on_write = StateOnWrite(state)
            stack.push_async_callback(_shielded(on_write.aclose))
        context = http or HttpContext()
        if store is not None:
            # its requests count in the accounts' windows a daemon reads (before any limiter
            # is built: the adapters build theirs)
            await stack.enter_async_context(
                visiting_limiters(store.limiters, context.limiters, context.clock)
            )
        erp, shops = build_adapters(conn, context, store.adapter_state if store else on_write)
        stack.push_async_callback(_shielded(erp.aclose))
        for shop in shops.values():
            stack.push_async_callback(_shielded(shop.aclose))
        pairs = _pairs(conn, request, erp, shops)
        for pair in pairs:
            refusal = _refuse(pair, conn, request.dry_run)
            if refusal:
                print(f"error: {refusal}", file=err)
                return 2
        if request.dry_run:
            print("dry run: nothing is written; 'would be' counts compare both sides", file=out)
        if price_note:
            print(f"note: {price_note}", file=out)
        products = masters(conn).get(Register.PRODUCTS, "off")
        if products not in ("off", request.side):
            print(
                f"note: products are mastered by the {products} in this connection; this copies "
                f"from the {request.side} once, and the daemon then keeps the {products}'s values",
                file=out,
            )
        code = 0
        for pair in pairs:
            shown = progress(err)
            sync = InitialSync(
                source_name=pair.source_name,
                source=pair.source,
                targets=pair.targets,
                clock=context.clock,
                checkpoint=None
                if store is None or request.dry_run
                else SyncCheckpoint(store.db, conn.name, pair.source_name),
                create=catalog.create,
                update=catalog.update,
                with_prices=with_prices,
                currencies=_currencies(conn, request.side),
                workers=catalog.workers,
                watcher=shown,
                mappings=of_register(mappings, Register.PRODUCTS, Register.PRICES),
                connection=conn.name,
                # the connection's own fee articles stay out of the shops (order rows only)
                order_only=OrderOnly.of_orders(conn.config.orders)
                if request.side == "erp"
                else OrderOnly(),
                levels=_levels(conn, request, pair),
            )
            started = time.monotonic()
            tally = await sync.run()
            shown.close(tally)
            for line in summary_lines(tally, time.monotonic() - started, dry_run=request.dry_run):
                print(line, file=out)
            out.flush()
            if not tally.ok:
                code = 1
    return code


async def _until_signal(scope: anyio.CancelScope, stopped: dict[str, bool]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stopped["yes"] = True
            scope.cancel()
            return


def run(args: argparse.Namespace) -> int:
    setup_logging("warning")
    try:
        loaded, host = load(Path(args.config))
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    request = SyncRequest(
        connection=args.connection,
        side=args.side,
        shop=args.shop,
        dry_run=args.dry_run,
    )
    stopped = {"yes": False}

    async def main() -> int:
        result = 1
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until_signal, tg.cancel_scope, stopped)
            result = await sync_products(loaded, request, mappings=host.mappings)
            tg.cancel_scope.cancel()
        return result

    try:
        code = anyio.run(main, backend="asyncio")
    except (BryggaError, BaseExceptionGroup) as raised:
        # the task group wraps what stopped it: ours is one line, anything else a crash
        error = brygga_error(raised)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        # a config or a state file this brygga cannot use: exit 2, as for a config error
        return 2 if isinstance(error, ConfigError | SchemaTooNewError | SchemaTooOld) else 1
    if stopped["yes"]:
        print(
            "stopped: the articles done so far are checkpointed; run the same command again "
            "to go on where it stopped",
            file=sys.stderr,
        )
        return 130
    return code
