"""`brygga sync products --from shop --dry-run` into e-conomic reads what the real run reads.

QA found the dry run making one ``GET /products/{number}`` per article (209 articles: 218
e-conomic requests in 24 s, where the real run made 19), because it compared each article with
``fetch_article`` while ``put_article`` knows which products exist from the product list.
What the documented API allows (reference/erp-apis.md §1.3, e-conomic/slate
``source/includes/_introduction.md``, https://restapi.e-conomic.com/): collections are read with
``?skippages=N&pagesize=M``, at most 1000 a page, and §1.6 (``_products.md``) products are keyed
by ``productNumber``; so knowing which of N products exist costs ``ceil(N / 1000)`` list reads,
for the dry run as for the real run. The dry run must read no more than the real run (the real
run's reads: its requests less its writes), write nothing, and say what the real run then does.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.sync.initial_sync import InitialSync, PreviewsArticles
from brygga.testing import SimulatedConnection
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.product_index import COUNT_AFTER
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

#: new e-conomic products need a group per VAT rate (reference/erp-apis.md §1.6)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
AT = datetime(2026, 1, 1, tzinfo=UTC)
#: new articles in the shop: well past the index's rent-then-buy point, so one GET per article
#: costs far more than the product list
NEW = 60
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: the adapter's limiter lifted (as in test_economic_catalog_requests.py): at 10 requests/s the
#: fake clock would pass the index's TTL during a long run
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def opened(directory: Path) -> AsyncIterator[SimulatedConnection]:
    """A Starweb shop whose catalog goes to e-conomic (mode ``ecom``); the shop has ``NEW``
    articles e-conomic lacks and one changed price.

    On the system clock with the limits lifted: `sync products` saves its limiter windows
    every 2 s on the connection's clock, and on a FakeClock that loop moves time as fast as it
    runs (a day in a 2 s run), so the product list's 60 s and the reference data's 10 minutes
    would run out between two articles and every run would read them again and again."""
    await anyio.Path(directory).mkdir()
    async with SimulatedConnection.open(
        directory,
        shop_options={"seed": 3},
        erp_config={**GROUPS, "rate_limit": UNLIMITED},
        shop_config={"rate_limit": UNLIMITED},
        catalog=True,
        connection={"mode": "ecom"},
    ) as env:
        for n in range(NEW):
            rate = Decimal(12) if n % 3 else Decimal(25)
            env.shop.add_product(f"DRY-{n:03d}", f"Vara {n}", price=Decimal("10.00"), vat_rate=rate)
        env.shop.set_price("KAFFE-500", Decimal("91.00"))
        yield env


async def sync(env: SimulatedConnection, *, dry_run: bool) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    request = SyncRequest("demo", "shop", None, dry_run)
    code = await sync_products(env.loaded, request, http=env.http, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def count_line(output: str, label: str) -> int:
    """The number after ``label`` in the summary (e.g. "would be created")."""
    for line in output.splitlines():
        words = line.split()
        size = len(label.split())
        if words[:size] == label.split() and len(words) > size and words[size].isdigit():
            return int(words[size])
    raise AssertionError(f"no {label!r} line in:\n{output}")


def reads(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(method, path) for method, path in requests if method not in WRITES]


def single_reads(requests: list[tuple[str, str]]) -> int:
    return sum(m == "GET" and p.startswith("/products/") for m, p in requests)


async def test_the_dry_run_reads_no_more_than_the_real_run_and_writes_nothing(
    tmp_path: Path,
) -> None:
    # two identical setups: the dry run on one, the real run on the other (the agreement's
    # reference data is shared per process, so a run after the other would read less)
    async with opened(tmp_path / "dry") as dry_env, opened(tmp_path / "real") as real_env:
        assert dry_env.erp.requests == [] and real_env.erp.requests == []
        code, dry = await sync(dry_env, dry_run=True)
        assert code == 0, dry
        code, real = await sync(real_env, dry_run=False)
        assert code == 0, real
        dry_requests, real_requests = list(dry_env.erp.requests), list(real_env.erp.requests)

    # nothing written, not even one write tried
    assert [r for r in dry_requests if r[0] in WRITES] == []
    # the real run wrote: the comparison is between two runs that had work to do
    assert sum(m == "POST" and p == "/products" for m, p in real_requests) >= NEW
    # the dry run reads what the real run reads (the product list), never more
    assert len(dry_requests) <= len(reads(real_requests)), (dry_requests, real_requests)
    assert single_reads(dry_requests) <= COUNT_AFTER
    # and says what the real run then did
    for label in ("created", "updated"):
        assert count_line(dry, f"would be {label}") == count_line(real, label), (dry, real)
    assert count_line(dry, "unchanged") == count_line(real, "unchanged")
    assert count_line(dry, "would be created") >= NEW
    assert count_line(dry, "would be updated") >= 1


class _Articles:
    """A source of ``articles`` (the initial sync's ProductSource, in memory)."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles

    async def changed_articles(self, since: datetime, until: datetime) -> AsyncIterator[Any]:
        for _ in ():
            yield _

    async def fetch_article(self, sku: str) -> Article | None:
        return next((a for a in self.articles if a.sku == sku), None)

    async def all_articles(self) -> AsyncIterator[Article]:
        for article in self.articles:
            yield article


def article(sku: str, price: str = "100.00", rate: int = 25, name: str = "") -> Article:
    return Article(
        sku=sku,
        name=name or f"Artikel {sku}",
        currency="SEK",
        price=Decimal(price),
        vat_rate=Decimal(rate),
        modified_at=AT,
    )


def catalog(sim: EconomicSimulator, existing: int) -> list[Article]:
    """``existing`` products in e-conomic; the articles: each of them (every 10th with a new
    price, every 25th renamed) and as many new ones."""
    for i in range(existing):
        sim.add_article(f"E{i:05d}", f"Artikel E{i:05d}", Decimal("100.00"), Decimal(25))
    wanted = [
        article(
            f"E{i:05d}",
            price="120.00" if i % 10 == 0 else "100.00",
            name="Nytt namn" if i % 25 == 0 else "",
        )
        for i in range(existing)
    ]
    return wanted + [article(f"N{i:05d}") for i in range(existing)]


async def test_the_preview_reads_the_product_list_not_one_product_per_article(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    """The adapter alone, through the initial sync: the dry run over 1,200 existing and 1,200
    new articles reads the count and two list pages, not 2,400 products."""
    existing = 1200
    articles = catalog(sim, existing)
    changed = sum(1 for i in range(existing) if i % 10 == 0 or i % 25 == 0)
    before = len(sim.requests)
    async with open_adapter(product_group=1, rate_limit=UNLIMITED) as adapter:
        assert isinstance(adapter, EconomicAdapter) and isinstance(adapter, PreviewsArticles)
        sync = InitialSync(
            source_name="shop",
            source=_Articles(articles),
            targets={"economic": adapter},
            clock=clock,
            checkpoint=None,
        )
        tally = await sync.run()
    seen = sim.requests[before:]
    assert tally.ok, tally.failures[:3]
    assert (tally.created, tally.updated) == (existing, changed)
    assert tally.unchanged == existing - changed
    assert [r for r in seen if r[0] in WRITES] == []
    lists = sum(m == "GET" and p == "/products" for m, p in seen)
    # the count (pagesize=1) and ceil(1200 / 1000) = 2 pages of the list, nothing per article
    assert lists == 1 + 2, seen[:20]
    assert single_reads(seen) <= COUNT_AFTER
    assert len(seen) < 30, seen
