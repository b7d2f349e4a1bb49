"""The initial product sync: a source's whole catalog to its targets, streamed and checkpointed.

``brygga sync products`` runs one :class:`InitialSync` per source. The source's articles are
read with :meth:`~brygga.registers.ProductSource.all_articles` (one page in memory) and handled
a batch at a time: each batch's SKUs are looked up in the checkpoint, put to every target
(``ProductSink.put_article``, matched on SKU, so a repeated write is ``unchanged``, never a
duplicate), and the batch's outcome is saved in one transaction. A run that is stopped (killed,
Ctrl-C, the source stops answering) leaves the checkpoint; the next run skips the SKUs each
target already got and says how many. So does a run in which something failed: the next one
retries only what failed. A run that reads the whole catalog with no failure forgets the marks
(the next run is a whole pass again). With ``levels`` (copying from the ERP into shops its stock
flow writes to), the level of each article created in such a shop is queued as a stock work item
in the same transaction as the batch's marks, as the daemon's products flow queues it: the
daemon writes it (an article created without a level would otherwise wait for its next change).
Every whole pass keeps the number of articles it read: the next run's progress total, for the ETA.

Bad data is a failure naming the SKU and the fix, never a stopped run: an article without SKU,
two articles with one SKU (the second is not copied), a negative price, anything a target
refuses (e.g. a VAT rate it lacks). A source that cannot map one of its records may skip it
and list it in ``skipped_records`` (Starweb does); those are failures too. A source whose
stream itself breaks (e-conomic raises on an unreadable product) ends the pass with that
sentence: fix the record and run again, the checkpoint makes that cheap.

A skip says why, with its SKU (``Tally.skips``): the ``[connection.catalog]`` switch that was
off for the case (``put_article``'s ``skipped``), or the sentence of a NothingToDo the target
or a mapping raised (Vendure's for an ERP parent item, which is no variant to sell there).

A target shop with its own catalog currency (``currencies``, from ``[connection.catalog.shops.
<shop>] currency`` when copying from the ERP) gets the source's own price in that currency, by
the products handler's rule (:func:`brygga.sync.products.priced_for`): never converted, the
campaign price left out; an article the source has no price for in that currency is a failure
naming the SKU, the currency and the fix; a shop in the article's own currency costs no extra
request. Two shops in one foreign currency each ask the source (one request per article and
shop).

The connection's fee articles (freight, handling fee, discount and rounding, in every VAT form
the ERP adapters use, e.g. ``fraktavg-12``: :class:`~brygga.sync.catalog_items.OrderOnly`) are
for ERP order rows and never offered in a shop: copying from the ERP they are not written to
any target nor read from one (also in the dry run), and are counted apart
(``Tally.fee_articles``, with one sentence each in ``Tally.fee_skips``); they take no
checkpoint mark, so a resumed run decides the same again. Copying from a shop to the ERP skips
nothing. ``order_only`` None (the default) means the default ``[connection.orders]`` fee
articles when the source is the ERP (a ``DocumentSink``) and none when it is a shop; the
command passes the connection's own.

The progress total (for the ETA) is the larger of the last whole run's count and the source's
own (:class:`CountsArticles`: e-conomic's ``pagination.results``, Starweb's number of products,
a lower bound for a shop with variants), so a first run has an ETA too. Both are estimates:
the count shown can be passed, and the progress says so. The dry run keeps no checkpoint, so it
finds a second article with one SKU with a set of the SKUs seen, kept on disk
(:class:`brygga.scratch.ScratchSet`), not in memory. The dry run reads what the real run
reads and writes nothing: a target that implements
:class:`PreviewsArticles` answers from what its writes would read (e-conomic: its product list,
1,000 a page), any other is read with ``fetch_article`` per article. Sources
are copied one after another (``--from shop`` with two shops that share an SKU writes it twice).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

import anyio
import msgspec

from brygga.catalog import Article
from brygga.clock import Clock
from brygga.errors import BryggaError, ConfigError, NothingToDo, TransientError
from brygga.mappings import Mapping as FieldMapping
from brygga.models import Register
from brygga.registers import DocumentSink, ProductSink, ProductSource
from brygga.scratch import ScratchSet
from brygga.store.outcomes import FollowUp
from brygga.store.sync_checkpoint import Mark, SyncCheckpoint
from brygga.sync.article_wait import CreatedHere
from brygga.sync.catalog_items import DEFAULT_ORDER_ONLY, OrderOnly
from brygga.sync.products import catalog_context, map_article, priced_for

__all__ = [
    "DONE",
    "CountsArticles",
    "Failure",
    "InitialSync",
    "PreviewsArticles",
    "SkipsRecords",
    "Tally",
    "Watcher",
    "would_write",
]

#: what a target got that a resumed run need not redo
DONE = frozenset({"created", "updated", "unchanged", "skipped"})
#: failures kept for the summary; more are counted (memory stays flat on a very bad catalog)
FAILURES_KEPT = 1000
#: temporary or config errors in a row after which the pass stops (the target is down or the
#: config wrong for every article, not one record's problem)
STREAK = 20
CENT = Decimal("0.01")
log = logging.getLogger(__name__)
#: "(SKU X)" in a sentence of a record the source skipped: the SKU column of its failure
_NAMED_SKU = re.compile(r"\(SKU ([^\s)]+)\)")


@runtime_checkable
class CountsArticles(Protocol):
    """A source that can say cheaply how many articles :meth:`all_articles` will yield (for
    the first run's ETA; without it the last whole run's count is used)."""

    async def article_count(self) -> int | None: ...


@runtime_checkable
class PreviewsArticles(Protocol):
    """A target that can say what :meth:`~brygga.registers.ProductSink.put_article` would
    answer without writing anything, reading only what ``put_article`` itself reads (e.g. a
    product list it keeps, instead of one read per article). The dry run asks it; a target
    without it is read article by article with ``fetch_article`` and compared here."""

    async def preview_article(self, article: Article, *, create: bool, update: bool) -> str:
        """``created``/``updated``/``unchanged``/``skipped`` as ``put_article`` would answer;
        raises what ``put_article`` would raise before its write (a ConfigError for a missing
        config key, a PermanentError for an article the target refuses)."""
        ...


@runtime_checkable
class SkipsRecords(Protocol):
    """A source whose article stream skips records it cannot map, naming each in a sentence."""

    @property
    def skipped_records(self) -> list[str]: ...


@dataclass(frozen=True)
class Failure:
    """One article (or record) not copied: its SKU ("-" when it has none) and why, with the fix."""

    sku: str
    sentence: str


@dataclass
class Tally:
    """What a pass did. Results count (article, target) pairs; ``articles`` counts articles
    read from the source (the progress count)."""

    source: str
    targets: tuple[str, ...]
    articles: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    #: why, one sentence per skipped (article, target) pair (SKU, sentence: a switch in
    #: ``[connection.catalog]``, the target's own reason, a mapping's Skip); at most
    #: ``FAILURES_KEPT``
    skips: list[Failure] = field(default_factory=list)
    skips_not_kept: int = 0
    failed: int = 0
    #: articles not copied because they are the connection's fee articles (order rows only)
    fee_articles: int = 0
    #: why, one sentence per such article (SKU, sentence); at most ``FAILURES_KEPT``
    fee_skips: list[Failure] = field(default_factory=list)
    #: pairs an earlier, stopped run had already done (not written again)
    earlier: int = 0
    #: articles the source is expected to yield (None: unknown), for the ETA
    total: int | None = None
    #: SKUs marked by a stopped run when this pass began (0: a fresh start)
    resumed_from: int = 0
    failures: list[Failure] = field(default_factory=list)
    failures_not_kept: int = 0
    #: stock levels of created articles queued for the daemon (its stock flow writes them)
    levels_queued: int = 0
    #: why the pass did not read the whole catalog ("" when it did)
    stopped: str = ""

    def count(self, result: str) -> None:
        if result == "created":
            self.created += 1
        elif result == "updated":
            self.updated += 1
        elif result == "unchanged":
            self.unchanged += 1
        else:
            self.skipped += 1

    def skip(self, sku: str, sentence: str) -> None:
        """Why one skipped (article, target) pair was skipped (counted by :meth:`count`)."""
        if len(self.skips) < FAILURES_KEPT:
            self.skips.append(Failure(sku or "-", sentence))
        else:
            self.skips_not_kept += 1

    def not_offered(self, sku: str, sentence: str) -> None:
        """One fee article read from the source and not copied (not a failure)."""
        self.fee_articles += 1
        if len(self.fee_skips) < FAILURES_KEPT:
            self.fee_skips.append(Failure(sku, sentence))

    def fail(self, sku: str, sentence: str) -> Failure:
        failure = Failure(sku or "-", sentence)
        self.failed += 1
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append(failure)
        else:
            self.failures_not_kept += 1
        return failure

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped


class Watcher(Protocol):
    """Shown progress: called as the pass goes (synchronous, no I/O but printing)."""

    def started(self, tally: Tally) -> None: ...

    def advanced(self, tally: Tally) -> None: ...

    def failed(self, tally: Tally, failure: Failure) -> None: ...


class _Quiet:
    def started(self, tally: Tally) -> None:
        return None

    def advanced(self, tally: Tally) -> None:
        return None

    def failed(self, tally: Tally, failure: Failure) -> None:
        return None


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def _differs(wanted: Article, current: Article) -> bool:
    """Whether a write would change ``current``, judged on the fields both sides give."""
    if wanted.name.strip() != current.name.strip() or wanted.active != current.active:
        return True
    pairs = (
        (wanted.price, current.price),
        (wanted.campaign_price, current.campaign_price),
        (wanted.weight, current.weight),
    )
    if any(a is not None and b is not None and _money(a) != _money(b) for a, b in pairs):
        return True
    if wanted.price is not None and current.price is None:
        return True
    rates = (wanted.vat_rate, current.vat_rate)
    if rates[0] is not None and rates[1] is not None and rates[0] != rates[1]:
        return True
    return bool(wanted.ean.strip()) and wanted.ean.strip() != current.ean.strip()


def would_write(wanted: Article, current: Article | None, *, create: bool, update: bool) -> str:
    """What ``put_article`` would answer (the dry run's estimate)."""
    if current is None:
        return "created" if create else "skipped"
    if not _differs(wanted, current):
        return "unchanged"
    return "updated" if update else "skipped"


@dataclass
class _Batch:
    """One batch's work: the marks to save and the articles still being written."""

    marks: dict[str, Mark] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    #: the work items to queue with the marks (the levels of the articles created)
    follow_ups: list[FollowUp] = field(default_factory=list)


@dataclass
class InitialSync:
    """One source's whole catalog to ``targets``; ``checkpoint`` None is the dry run (targets
    are read and compared, nothing is written, not even the checkpoint)."""

    source_name: str
    source: ProductSource
    targets: Mapping[str, ProductSink]
    clock: Clock
    checkpoint: SyncCheckpoint | None
    create: bool = True
    update: bool = True
    #: False when prices are mastered on the other side: articles go without them
    with_prices: bool = True
    #: target → the currency its catalog prices are in (targets not named: the source's)
    currencies: Mapping[str, str] = field(default_factory=dict)
    #: SKUs never copied to the targets (the connection's fee articles, from the ERP); None:
    #: the default fee articles when the source is the ERP, none when it is a shop
    order_only: OrderOnly | None = None
    #: the plugins' products (and, with prices, prices) mappings: run on each article before
    #: it is written or compared, as the daemon's products flow runs them
    mappings: Sequence[FieldMapping] = ()
    #: the connection's name (the mappings' context)
    connection: str = ""
    #: where the daemon's stock flow writes the source's levels: the level of each article
    #: created in one of its ``stock_targets`` is queued for the daemon with the batch's marks
    #: (None: nothing is queued)
    levels: CreatedHere | None = None
    workers: int = 1
    batch_size: int = 200
    watcher: Watcher = field(default_factory=_Quiet)
    _pass: int = 0
    _halt: str = ""
    _streak: int = 0
    #: the dry run's SKUs seen (it keeps no checkpoint to find a second article with one);
    #: on disk, not in memory (:class:`brygga.scratch.ScratchSet`), made on first use
    _seen: ScratchSet | None = None

    @property
    def dry_run(self) -> bool:
        return self.checkpoint is None

    @property
    def skips(self) -> OrderOnly:
        """The SKUs not copied (see ``order_only``)."""
        if self.order_only is not None:
            return self.order_only
        return DEFAULT_ORDER_ONLY if isinstance(self.source, DocumentSink) else OrderOnly()

    async def run(self) -> Tally:
        tally = Tally(self.source_name, tuple(self.targets))
        if self.checkpoint is not None:
            now = self.clock.now()
            self._pass, tally.resumed_from, tally.total = await self.checkpoint.begin(now)
        if isinstance(self.source, CountsArticles):
            tally.total = _larger(tally.total, await self._count(self.source))
        before = self._skipped_so_far()
        self.watcher.started(tally)
        stream = self.source.all_articles()
        batches = _batches(stream, self.batch_size)
        try:
            async for batch, broken in batches:
                await self._handle(batch, tally)
                if self._halt:
                    tally.stopped = self._halt
                    break
                if broken is not None:
                    tally.stopped = (
                        f"reading the catalog from {self.source_name} stopped after "
                        f"{tally.articles} articles: {broken}; fix that and run again (the "
                        "articles done so far are checkpointed and not written again)"
                    )
                    break
        finally:
            with anyio.CancelScope(shield=True):
                await batches.aclose()
                closing = getattr(stream, "aclose", None)
                if closing is not None:
                    await closing()
        for sentence in self._skipped_since(before):
            named = _NAMED_SKU.search(sentence)
            sku = named.group(1) if named else "-"
            self.watcher.failed(tally, tally.fail(sku, f"{self.source_name}: {sentence}"))
        if not tally.stopped and self.checkpoint is not None:
            await self.checkpoint.finish(tally.articles, self.clock.now(), forget=tally.ok)
        return tally

    async def _count(self, source: CountsArticles) -> int | None:
        """The source's own count, or None when it cannot say (the count is only for the ETA:
        a failure to read it does not stop the pass)."""
        try:
            return await source.article_count()
        except (BryggaError, ValueError, msgspec.ValidationError) as exc:
            log.warning("%s: the number of articles could not be read: %s", self.source_name, exc)
            return None

    # -- one batch ------------------------------------------------------------------------

    async def _handle(self, batch: list[Article], tally: Tally) -> None:
        marks = (
            await self.checkpoint.lookup([a.sku.strip() for a in batch])
            if self.checkpoint is not None
            else {}
        )
        work = _Batch()
        jobs: list[tuple[Article, str]] = []
        skips = self.skips
        for article in batch:
            sku = article.sku.strip()
            if sku in skips:
                shops = ", ".join(self.targets) or "-"
                tally.not_offered(sku, str(skips.reason(sku, shops)))
                tally.articles += 1
                self.watcher.advanced(tally)
                continue
            refusal = self._refusal(article, sku, marks, work)
            if refusal:
                self.watcher.failed(tally, tally.fail(sku, refusal))
                tally.articles += 1
                self.watcher.advanced(tally)
                continue
            earlier = marks.get(sku)
            mark = Mark(self._pass, dict(earlier.targets) if earlier else {})
            work.marks[sku] = mark
            todo = [t for t in self.targets if mark.targets.get(t) not in DONE]
            tally.earlier += len(self.targets) - len(todo)
            if not todo:
                tally.articles += 1
                self.watcher.advanced(tally)
                continue
            work.pending[sku] = len(todo)
            jobs.extend((article, target) for target in todo)
        queue = iter(jobs)

        async def worker() -> None:
            for article, target in queue:  # the workers share one iterator: each job once
                await self._job(article, target, work, tally)

        try:
            if self.workers <= 1 or len(jobs) <= 1:
                await worker()
            else:
                async with anyio.create_task_group() as tg:
                    for _ in range(min(self.workers, len(jobs))):
                        tg.start_soon(worker)
        finally:
            if self.checkpoint is not None:  # also when cancelled: what was written is kept
                with anyio.CancelScope(shield=True):
                    await self.checkpoint.save(work.marks, self.clock.now(), work.follow_ups)
                tally.levels_queued += len(work.follow_ups)

    def _refusal(
        self, article: Article, sku: str, marks: Mapping[str, Mark], work: _Batch
    ) -> str | None:
        """Why the article is not copied at all (bad source data), or None."""
        where = self.source_name
        if not sku:
            return (
                f"{where}: the article {article.name.strip()!r} has no SKU, so it cannot be "
                f"matched with anything; give it an SKU (article number) in {where}"
            )
        earlier = marks.get(sku)
        again = sku in work.marks or (earlier is not None and earlier.seen_in == self._pass)
        if self.dry_run:
            if self._seen is None:
                self._seen = ScratchSet()
            again = not self._seen.add(sku) or again
        if again:
            return (
                f"{where} has two articles with SKU {sku}; the second ({article.name.strip()!r}) "
                f"was not copied; give each article its own SKU in {where} and run again"
            )
        for label, amount in (("price", article.price), ("campaign price", article.campaign_price)):
            if amount is not None and amount < 0:
                return (
                    f"{where}: article {sku} has the {label} {amount}, below zero; correct it "
                    f"in {where} and run again"
                )
        return None

    async def _job(self, article: Article, target: str, work: _Batch, tally: Tally) -> None:
        sku = article.sku.strip()
        result = "failed" if self._halt else await self._put(article, target, tally)
        work.marks[sku].targets[target] = result
        if result != "failed":
            tally.count(result)
        if result == "created" and self.levels is not None and not self.dry_run:
            work.follow_ups.extend(self.levels.follow_ups(target, sku, self.source_name))
        work.pending[sku] -= 1
        if not work.pending[sku]:
            tally.articles += 1
            self.watcher.advanced(tally)

    async def _put(self, article: Article, target: str, tally: Tally) -> str:
        sku = article.sku.strip()
        if not self.with_prices:
            article = msgspec.structs.replace(article, price=None, campaign_price=None)
        if article.sku != sku:
            article = msgspec.structs.replace(article, sku=sku)
        try:
            article = await priced_for(
                self.source,
                article,
                self.currencies.get(target),
                name=self.source_name,
                target=target,
                register="product",
                again="run `brygga sync products` again",
            )
            # the plugins' mappings, as the daemon's products handler runs them
            article = map_article(
                article,
                self.mappings,
                catalog_context(
                    self.connection,
                    Register.PRODUCTS,
                    source_name=self.source_name,
                    source=self.source,
                    target=target,
                ),
                with_prices=self.with_prices,
            )
            if self.dry_run:
                result = await self._compare(article, target)
            else:
                sink = self.targets[target]
                result = await sink.put_article(article, create=self.create, update=self.update)
        except NothingToDo as exc:
            # a mapping's Skip, or a target that does not take this article (a parent item
            # into Vendure): done for this target, as in the daemon, with its reason
            self._streak = 0
            log.info("%s %s: %s", target, sku, exc)
            tally.skip(sku, f"{target}: {exc}")
            return "skipped"
        except (TransientError, ConfigError) as exc:
            # one record's problem, or the target's or the config's: a streak stops the pass
            self._streak += 1
            if self._streak >= STREAK:
                self._halt = (
                    f"{target} failed {self._streak} times in a row ({exc}); fix that and run "
                    "again: the run goes on where it stopped"
                )
            again = " (run again to retry)" if isinstance(exc, TransientError) else ""
            self.watcher.failed(tally, tally.fail(sku, f"{target}: {exc}{again}"))
            return "failed"
        except (BryggaError, ValueError, msgspec.ValidationError) as exc:
            self._streak = 0
            self.watcher.failed(tally, tally.fail(sku, f"{target}: {exc}"))
            return "failed"
        self._streak = 0
        if result == "skipped":
            tally.skip(sku, self._switched_off(target))
        return result

    def _switched_off(self, target: str) -> str:
        """Why ``put_article`` (or its estimate) answered ``skipped``: its contract says a
        switch of ``[connection.catalog]`` was off for the case (a target with a reason of
        its own raises NothingToDo with it)."""
        if not self.create and not self.update:
            return f"{target}: create and update are both off in [connection.catalog]"
        if not self.create:
            return f"{target}: not there, and create = false in [connection.catalog]"
        if not self.update:
            return f"{target}: differs there, and update = false in [connection.catalog]"
        return f"{target}: skipped by the target, which gave no reason"

    async def _compare(self, article: Article, target: str) -> str:
        sink = self.targets[target]
        if isinstance(sink, PreviewsArticles):
            # the target reads what its write would read (a product list, paged), no more
            return await sink.preview_article(article, create=self.create, update=self.update)
        if not isinstance(sink, ProductSource):  # sync products refuses such a dry run first
            raise BryggaError(
                f"{target} cannot be read, so the dry run cannot tell what would change; "
                "run without --dry-run"
            )
        current = await sink.fetch_article(article.sku)
        return would_write(article, current, create=self.create, update=self.update)

    # -- records the source skipped ---------------------------------------------------------

    def _skipped_so_far(self) -> list[str]:
        return list(self.source.skipped_records) if isinstance(self.source, SkipsRecords) else []

    def _skipped_since(self, before: list[str]) -> list[str]:
        after = self._skipped_so_far()
        if after[: len(before)] == before:
            return after[len(before) :]
        known = set(before)
        return [sentence for sentence in after if sentence not in known]


def _larger(last: int | None, counted: int | None) -> int | None:
    """The progress total: the larger of the last whole run's count and the source's (both
    estimates; a source may count less than it yields, e.g. Starweb counts products, not
    variants); None when neither is known."""
    known = [n for n in (last, counted) if n]
    return max(known) if known else None


async def _batches(
    stream: AsyncIterator[Article], size: int
) -> AsyncGenerator[tuple[list[Article], BaseException | None], None]:
    """``stream`` in lists of up to ``size``; a stream that breaks with a data or remote error
    yields what it had with the error, and ends (a ConfigError goes up: nothing would work)."""
    batch: list[Article] = []
    broken: BaseException | None = None
    try:
        async for article in stream:
            batch.append(article)
            if len(batch) >= size:
                yield batch, None
                batch = []
    except ConfigError:
        raise
    except (BryggaError, ValueError, msgspec.ValidationError) as exc:
        broken = exc
    if batch or broken is not None:
        yield batch, broken
