"""The initial product sync's logic with small fake adapters: a copy, a second run that writes
nothing, a killed run resumed without duplicates, the dry run, bad rows named by SKU, and a
catalog of 50,000 articles streamed in flat memory."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from brygga.catalog import Article, ArticleChange
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.registers import Written
from brygga.store import Store
from brygga.store.sync_checkpoint import SyncCheckpoint
from brygga.sync.initial_sync import STREAK, InitialSync

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def art(sku: str, **fields: object) -> Article:
    values: dict[str, object] = {
        "name": f"Artikel {sku}",
        "currency": "SEK",
        "price": Decimal("100.00"),
        "vat_rate": Decimal(25),
        "modified_at": NOW,
    }
    values.update(fields)
    return Article(sku=sku, **values)  # type: ignore[arg-type]


@dataclass
class Source:
    """A ProductSource over a function that makes the articles afresh on every read (so a
    test of 50,000 articles holds none of them), optionally breaking after some."""

    make: Callable[[], Iterable[Article]]
    #: after this many articles the stream raises ``breaks_with``
    breaks_after: int | None = None
    breaks_with: Exception = field(default_factory=lambda: PermanentError("broken"))
    skipped: list[str] = field(default_factory=list)

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        for _ in ():
            yield _

    async def fetch_article(self, sku: str) -> Article | None:
        return next((a for a in self.make() if a.sku == sku), None)

    async def all_articles(self) -> AsyncIterator[Article]:
        for n, article in enumerate(self.make()):
            if n == self.breaks_after:
                raise self.breaks_with
            await anyio.lowlevel.checkpoint()
            yield article


@dataclass
class SkippingSource(Source):
    """A source that skips records it cannot map and names them (as Starweb's does)."""

    @property
    def skipped_records(self) -> list[str]:
        return list(self.skipped)


@dataclass
class Sink:
    """A ProductSink (and ProductSource) keeping articles by SKU; counts every write."""

    held: dict[str, Article] = field(default_factory=dict)
    creates: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    #: SKU → the sentence the target refuses it with
    refuse: dict[str, str] = field(default_factory=dict)
    transient: bool = False
    #: called after each write with the number of writes so far
    on_write: Callable[[int], None] = lambda n: None
    keep: bool = True

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        await anyio.lowlevel.checkpoint()
        if self.transient:
            raise TransientError("the shop answered 503")
        if article.sku in self.refuse:
            raise PermanentError(self.refuse[article.sku])
        current = self.held.get(article.sku)
        if (
            current is not None
            and current.name == article.name
            and current.price == (article.price)
        ):
            return "unchanged"
        if current is None:
            if not create:
                return "skipped"
            self.creates[article.sku] += 1
        self.writes += 1
        if self.keep:
            self.held[article.sku] = article
        self.on_write(self.writes)
        return "created" if current is None else "updated"

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        for _ in ():
            yield _

    async def fetch_article(self, sku: str) -> Article | None:
        return self.held.get(sku)

    async def all_articles(self) -> AsyncIterator[Article]:
        for article in list(self.held.values()):
            yield article


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.db")
    try:
        yield opened
    finally:
        await opened.close()


def sync(
    store: Store | None, source: Source, targets: dict[str, Sink], **options: object
) -> InitialSync:
    checkpoint = None if store is None else SyncCheckpoint(store.db, "demo", "erp")
    return InitialSync(
        source_name="erp",
        source=source,
        targets=targets,  # type: ignore[arg-type]
        clock=FakeClock(NOW),
        checkpoint=checkpoint,
        **options,  # type: ignore[arg-type]
    )


def catalog(n: int) -> Callable[[], Iterable[Article]]:
    return lambda: (art(f"A{i:05d}") for i in range(n))


async def marks(store: Store) -> int:
    row = await store.db.fetchone(
        "SELECT COUNT(*) AS n FROM adapter_state WHERE account = 'initial-sync/demo/erp'"
        " AND key != ''"
    )
    assert row is not None
    return int(row["n"])


async def test_every_article_reaches_every_target_then_a_second_run_writes_nothing(
    store: Store,
) -> None:
    se, no = Sink(), Sink(held={"A00001": art("A00001")})
    first = await sync(store, Source(catalog(12)), {"se": se, "no": no}, batch_size=5).run()
    assert (first.articles, first.created, first.unchanged, first.failed) == (12, 23, 1, 0)
    assert set(se.held) == set(no.held) == {f"A{i:05d}" for i in range(12)}
    assert first.ok and await marks(store) == 0  # a whole pass forgets its marks
    second = await sync(store, Source(catalog(12)), {"se": se, "no": no}).run()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 24)
    assert second.total == 12  # the last whole pass's count: the progress total
    assert se.writes == 12 and no.writes == 11


async def test_a_killed_run_is_resumed_with_no_duplicates(store: Store) -> None:
    shop = Sink()
    with anyio.CancelScope() as scope:

        def kill(writes: int) -> None:
            if writes == 7:
                scope.cancel()

        shop.on_write = kill
        await sync(store, Source(catalog(20)), {"se": shop}, batch_size=5, workers=3).run()
    assert scope.cancelled_caught
    done = len(shop.held)
    assert 7 <= done < 20 and await marks(store) >= 7  # what was written is checkpointed
    shop.on_write = lambda n: None
    resumed = await sync(store, Source(catalog(20)), {"se": shop}, batch_size=5).run()
    assert resumed.resumed_from >= 7
    assert resumed.earlier >= 7
    assert resumed.created + resumed.unchanged + resumed.earlier == 20
    assert set(shop.held) == {f"A{i:05d}" for i in range(20)}
    assert max(shop.creates.values()) == 1  # no article was created twice
    assert resumed.ok and await marks(store) == 0


async def test_a_resumed_run_skips_only_what_each_target_got(store: Store) -> None:
    se, no = Sink(), Sink(transient=True)
    first = await sync(store, Source(catalog(3)), {"se": se, "no": no}).run()
    assert first.failed == 3 and first.created == 3 and not first.ok
    assert await marks(store) == 3  # failures keep the checkpoint for the next run
    no.transient = False
    second = await sync(store, Source(catalog(3)), {"se": se, "no": no}).run()
    assert (second.earlier, second.created, second.failed) == (3, 3, 0)
    assert se.writes == 3 and set(no.held) == set(se.held)


async def test_the_dry_run_writes_nothing(store: Store) -> None:
    shop = Sink(held={"A00000": art("A00000"), "A00001": art("A00001", price=Decimal(5))})
    tally = await sync(None, Source(catalog(4)), {"se": shop}).run()
    assert (tally.created, tally.updated, tally.unchanged) == (2, 1, 1)
    assert shop.writes == 0 and set(shop.held) == {"A00000", "A00001"}
    assert await marks(store) == 0


async def test_bad_rows_are_failures_naming_the_sku_and_the_run_goes_on(store: Store) -> None:
    rows = [
        art("A1"),
        art("", name="Utan nummer"),
        art("A2", name="Blå mugg"),
        art("A2", name="Röd mugg"),
        art("A3", vat_rate=Decimal(14)),
        art("A4"),
    ]
    source = SkippingSource(lambda: rows, skipped=["old"])
    shop = Sink(refuse={"A3": "SKU A3 has 14 % VAT, which the shop has no tax class for"})

    async def stream() -> AsyncIterator[Article]:
        async for article in Source.all_articles(source):
            yield article
        source.skipped.append("product 7 (SKU A9): priceExVat -5 is below zero")

    source.all_articles = stream  # type: ignore[method-assign]
    tally = await sync(store, source, {"se": shop}).run()
    assert set(shop.held) == {"A1", "A2", "A4"} and shop.held["A2"].name == "Blå mugg"
    failures = {(f.sku, f.sentence) for f in tally.failures}
    assert tally.failed == 4 and not tally.ok
    assert ("A9", "erp: product 7 (SKU A9): priceExVat -5 is below zero") in failures
    by_sku = {sku: sentence for sku, sentence in failures}
    assert "has no SKU" in by_sku["-"]
    assert "two articles with SKU A2" in by_sku["A2"] and "'Röd mugg'" in by_sku["A2"]
    assert by_sku["A3"] == "se: SKU A3 has 14 % VAT, which the shop has no tax class for"
    assert tally.articles == 6 and not tally.stopped


async def test_a_source_whose_stream_breaks_stops_the_pass_with_its_sentence(
    store: Store,
) -> None:
    broken = PermanentError(
        "Article 'A00004' in e-conomic cannot be read: price must not be negative"
    )
    source = Source(catalog(8), breaks_after=4, breaks_with=broken)
    shop = Sink()
    tally = await sync(store, source, {"se": shop}, batch_size=3).run()
    assert set(shop.held) == {f"A{i:05d}" for i in range(4)}
    assert "stopped after 4 articles" in tally.stopped and "A00004" in tally.stopped
    assert await marks(store) == 4  # kept: the next run goes on from here
    fixed = await sync(store, Source(catalog(8)), {"se": shop}).run()
    assert (fixed.earlier, fixed.created) == (4, 4) and fixed.ok


async def test_a_target_that_keeps_failing_stops_the_pass(store: Store) -> None:
    shop = Sink(transient=True)
    tally = await sync(store, Source(catalog(100)), {"se": shop}, batch_size=10).run()
    assert tally.failed == STREAK and "failed 20 times in a row" in tally.stopped


async def test_prices_stay_behind_when_the_other_side_masters_them(store: Store) -> None:
    shop = Sink()
    await sync(store, Source(catalog(2)), {"se": shop}, with_prices=False).run()
    assert {a.price for a in shop.held.values()} == {None}


async def test_fifty_thousand_articles_stream_in_flat_memory(store: Store) -> None:
    """The catalog is never collected: 50,000 generated articles through a sink that keeps
    none, with the checkpoint in SQLite, allocate at peak a small fraction of what the
    articles alone would take in a list (about 50 MB)."""
    sink = Sink(keep=False)
    tracemalloc.start()
    try:
        tally = await sync(store, Source(catalog(50_000)), {"se": sink}).run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tally.articles == 50_000 and tally.created == 50_000 and tally.ok
    assert peak < 8_000_000, f"peak {peak} bytes: the catalog was held in memory"


@dataclass
class PricedSource(Source):
    """A source in SEK that keeps prices in other currencies besides (as e-conomic keeps
    currency-specific sales prices; the same fake as tests/sync/test_catalog_currency.py)."""

    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def price_in(self, sku: str, currency: str) -> Decimal | None:
        self.asked.append((sku, currency))
        return self.prices.get((sku, currency))


async def test_a_nok_shop_gets_the_sources_nok_price_and_a_sek_shop_asks_nothing(
    store: Store,
) -> None:
    rows = [art("A1", campaign_price=Decimal(80)), art("A2")]
    source = PricedSource(lambda: rows, prices={("A1", "NOK"): Decimal("139.00")})
    se, no, sek = Sink(), Sink(), Sink()
    targets = {"se": se, "no": no, "sek": sek}
    currencies = {"no": "NOK", "sek": "SEK"}
    tally = await sync(store, source, targets, currencies=currencies).run()
    nok = no.held["A1"]
    assert (nok.currency, nok.price, nok.campaign_price) == ("NOK", Decimal(139), None)
    assert (se.held["A1"].currency, se.held["A1"].price) == ("SEK", Decimal(100))
    assert sek.held["A1"] == se.held["A1"]  # a shop in the source's currency: as it is
    assert source.asked == [("A1", "NOK"), ("A2", "NOK")]  # SEK shops ask nothing
    # no NOK price for A2: a failure naming the SKU, the currency and the fix; never converted
    assert "A2" not in no.held and set(se.held) == {"A1", "A2"}
    [failure] = tally.failures
    assert failure.sku == "A2"
    assert failure.sentence.startswith("no: ") and "no NOK price for article A2" in failure.sentence
    assert "[connection.catalog.shops.no] currency" in failure.sentence
    assert "Set a NOK sales price on product A2" in failure.sentence
    assert "run `brygga sync products` again" in failure.sentence
    source.prices[("A2", "NOK")] = Decimal("129.00")
    again = await sync(store, source, targets, currencies=currencies).run()
    assert again.ok and no.held["A2"].price == Decimal(129) and again.earlier == 5


async def test_a_foreign_currency_shop_from_a_source_without_prices_per_currency(
    store: Store,
) -> None:
    shop = Sink()
    tally = await sync(store, Source(catalog(1)), {"no": shop}, currencies={"no": "NOK"}).run()
    assert shop.held == {} and tally.failed == 1
    assert "gives prices in SEK only" in tally.failures[0].sentence


async def test_the_dry_run_compares_the_nok_price(store: Store) -> None:
    source = PricedSource(catalog(2), prices={("A00000", "NOK"): Decimal(139)})
    shop = Sink(held={"A00000": art("A00000", currency="NOK", price=Decimal(139))})
    tally = await sync(None, source, {"no": shop}, currencies={"no": "NOK"}).run()
    assert (tally.unchanged, tally.updated, tally.failed) == (1, 0, 1) and shop.writes == 0


async def test_an_article_already_in_the_shops_currency_costs_no_request(store: Store) -> None:
    source = PricedSource(lambda: [art("A1", currency="NOK", price=Decimal(139))])
    shop = Sink()
    tally = await sync(store, source, {"no": shop}, currencies={"no": "NOK"}).run()
    assert tally.ok and shop.held["A1"].price == Decimal(139) and source.asked == []


@dataclass
class CountingSource(Source):
    """A source that says how many articles it has (``CountsArticles``), or fails to."""

    count: int | None = None
    count_fails: bool = False

    async def article_count(self) -> int | None:
        if self.count_fails:
            raise TransientError("the ERP answered 503")
        return self.count


async def test_the_first_run_takes_the_sources_count_as_its_total(store: Store) -> None:
    first = await sync(store, CountingSource(catalog(3), count=2), {"se": Sink()}).run()
    assert first.total == 2 and first.ok  # a count passed is only an estimate missed
    # later: the larger of the last whole run's count (3) and the source's
    again = await sync(store, CountingSource(catalog(3), count=1), {"se": Sink()}).run()
    assert again.total == 3
    # a count that cannot be read costs the ETA, never the pass
    failing = CountingSource(catalog(3), count_fails=True)
    third = await sync(store, failing, {"se": Sink()}).run()
    assert third.total == 3 and third.ok
