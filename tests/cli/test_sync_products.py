"""`brygga sync products` on the Starweb and e-conomic simulators: ERP to shop and shop to ERP,
a second run that writes nothing, a run killed mid-way and resumed without duplicates, the dry
run, bad rows named by SKU, the usage errors, and the progress lines."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.cli import main
from brygga.clock import FakeClock
from brygga.commands.sync_products import (
    BarProgress,
    PlainProgress,
    SyncRequest,
    progress_for,
    progress_text,
    sync_products,
)
from brygga.http.server import serve_http
from brygga.plugins import PluginHost
from brygga.store import SavedWindow, Store
from brygga.sync.initial_sync import Tally
from brygga.testing import SimulatedConnection
from brygga.testing.connection import ERP_HOST, SHOP_HOST
from brygga.testing.process import write_config

pytestmark = pytest.mark.anyio

#: new e-conomic products need a group per VAT rate (reference/erp-apis.md §1.6: VAT comes
#: from the product group); product_group is where a rate without its own group goes
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
Asgi = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def opened(
    tmp_path: Path,
    *,
    mode: str = "erp",
    routes: Any = None,
    inventory: bool = False,
    **options: Any,
) -> AsyncIterator[SimulatedConnection]:
    """Both simulators on one fake clock (rate-limit waits move it, no sleeps). The ERP's
    seeded Tröja variants are removed: e-conomic names each variant SKU on its own ("Tröja
    S") where Starweb's product has one name for its variants, so copying them rewrites the
    product's name once per variant on every run (the Starweb adapter's mapping, not this
    command's; reported)."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    extra: dict[str, Any] = {"routes": routes} if routes else {}
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock, **({"inventory_module": True} if inventory else {})},
        erp_config=GROUPS,
        catalog=True,
        connection={"mode": mode},
        **extra,
        **options,
    ) as env:
        for sku in ("TROJA-S", "TROJA-M", "TROJA-L"):
            env.erp.remove_article(sku)
        yield env


async def sync(
    env: SimulatedConnection, side: str, *, shop: str | None = None, dry_run: bool = False
) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    request = SyncRequest("demo", side, shop, dry_run)  # type: ignore[arg-type]
    code = await sync_products(env.loaded, request, http=env.http, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def count_line(output: str, label: str) -> int:
    """The number after ``label`` in the summary (e.g. "created")."""
    for line in output.splitlines():
        words = line.split()
        if words[: len(label.split())] == label.split() and words[len(label.split())].isdigit():
            return int(words[len(label.split())])
    raise AssertionError(f"no {label!r} line in:\n{output}")


def copies(shop: Any, sku: str) -> int:
    """How many variants of the simulated Starweb shop carry ``sku``."""
    return sum(v.sku == sku for p in shop.catalog.products.values() for v in p.variants)


async def checkpoint_rows(env: SimulatedConnection, *, run_rows: bool = False) -> int:
    """The SKU marks of the checkpoint (with ``run_rows``: its run rows too)."""
    async with await Store.open(env.loaded.state_path) as store:
        row = await store.db.fetchone(
            "SELECT COUNT(*) AS n FROM adapter_state WHERE account LIKE 'initial-sync/%'"
            + ("" if run_rows else " AND key != ''")
        )
    assert row is not None
    return int(row["n"])


async def test_the_erp_catalog_reaches_the_shop_and_a_second_run_writes_nothing(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path) as env:
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        env.erp.add_article("NY-2", "Ny kaka", Decimal("24.50"), Decimal(12))
        code, output = await sync(env, "erp")
        assert code == 0, output
        assert env.shop.price("NY-1") == (Decimal("79.00"), None)
        assert env.shop.catalog_product("NY-2").default_vat_rate == Decimal(12)
        assert count_line(output, "created") >= 2 and count_line(output, "failed") == 0
        assert "economic -> se:" in output
        code, again = await sync(env, "erp")
        assert code == 0, again
        assert (count_line(again, "created"), count_line(again, "updated")) == (0, 0)
        assert count_line(again, "unchanged") == count_line(output, "created") + count_line(
            output, "updated"
        ) + count_line(output, "unchanged")


async def test_the_shop_catalog_reaches_the_erp_with_the_same_article_numbers(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, mode="ecom") as env:
        env.shop.add_product("SKO-41", "Sko", price=Decimal("499.00"), vat_rate=Decimal(25))
        code, output = await sync(env, "shop")
        assert code == 0, output
        product = env.erp.product("SKO-41")
        assert product is not None and Decimal(str(product["salesPrice"])) == Decimal("499.00")
        assert env.erp.product("TROJA-M") is not None  # each variant its own product
        code, again = await sync(env, "shop", shop="se")
        assert code == 0 and count_line(again, "created") == 0, again
        assert count_line(again, "updated") == 0


async def test_prices_mastered_by_the_erp_stay_out_of_a_copy_from_the_shop(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path) as env:
        env.shop.add_product("SKO-42", "Sko", price=Decimal("499.00"), vat_rate=Decimal(25))
        code, output = await sync(env, "shop")
        assert code == 0, output
        assert "prices are mastered by the erp: articles go without prices" in output
        product = env.erp.product("SKO-42")
        assert product is not None and not Decimal(str(product.get("salesPrice") or 0))


async def test_a_killed_run_resumes_where_it_stopped_with_no_duplicates(tmp_path: Path) -> None:
    created: list[int] = []
    scope = anyio.CancelScope()

    def counting(shop: Any, erp: Any) -> dict[str, Any]:
        async def app(scope_: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            await shop.app(scope_, receive, send)
            if scope_["method"] == "POST" and scope_["path"].endswith("/products"):
                created.append(1)
                if len(created) == 5:
                    scope.cancel()  # the kill: mid-run, after five articles were created

        return {SHOP_HOST: app, ERP_HOST: erp.app}

    async with opened(tmp_path, routes=counting) as env:
        new = [f"NY-{n:02d}" for n in range(30)]
        for sku in new:
            env.erp.add_article(sku, f"Artikel {sku}", Decimal("10.00"), Decimal(25))
        with scope:
            await sync(env, "erp")
        assert scope.cancelled_caught and 5 <= len(created) < 30
        assert await checkpoint_rows(env) >= 5
        code, output = await sync(env, "erp")
        assert code == 0, output
        assert "resumed from an earlier run that stopped" in output
        assert count_line(output, "done before") >= 5
        assert all(copies(env.shop, sku) == 1 for sku in new)
        assert await checkpoint_rows(env) == 0  # a whole pass with no failure forgets them


async def test_the_dry_run_writes_nothing(tmp_path: Path) -> None:
    async with opened(tmp_path) as env:
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        env.erp.set_price("KAFFE-500", Decimal("95.00"))
        code, output = await sync(env, "erp", dry_run=True)
        assert code == 0, output
        assert "dry run: nothing is written" in output
        assert count_line(output, "would be created") >= 1
        assert count_line(output, "would be updated") >= 1
        assert copies(env.shop, "NY-1") == 0
        assert env.shop.price("KAFFE-500") == (Decimal("89.00"), None)
        assert await checkpoint_rows(env, run_rows=True) == 0  # not even a run was recorded


async def test_bad_rows_are_failure_lines_naming_the_sku_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, mode="ecom") as env:
        shop = env.shop
        shop.set_price("BOK-01", Decimal("-5"))  # a negative price
        shop.add_product("MOMS-14", "Udda moms", price=Decimal("10"), vat_rate=Decimal(14))
        shop.add_product("DUBBEL", "Annat kaffe", price=Decimal("10"))
        shop.variant("DUBBEL").sku = "KAFFE-500"  # two products with one SKU
        shop.variant("TE-100").sku = ""  # a product without SKU
        shop.add_product("BRA-1", "Bra vara", price=Decimal("20"))
        code, output = await sync(env, "shop")
        assert code == 1, output
        failures = output[output.index("failures (SKU, what to fix):") :]
        assert "has no SKU" in failures
        line = next(x for x in failures.splitlines() if x.strip().startswith("BOK-01"))
        assert "priceExVat -5" in line
        assert "two articles with SKU KAFFE-500" in failures and "'Annat kaffe'" in failures
        line = next(x for x in failures.splitlines() if x.strip().startswith("MOMS-14"))
        assert "14 % VAT" in line
        assert count_line(output, "failed") == 4
        assert env.erp.product("BRA-1") is not None  # the others were copied
        assert env.erp.product("MOMS-14") is None


def test_an_unknown_connection_or_shop_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def write() -> Path:
        async with opened(tmp_path) as env:
            return env.config_path

    config = anyio.run(write, backend="asyncio")
    args = ["sync", "products", "-c", str(config), "--from", "erp"]
    assert main([*args, "--connection", "nope"]) == 2
    assert "no connection named 'nope' (connections: demo)" in capsys.readouterr().err
    assert main([*args, "--connection", "demo", "--shop", "dk"]) == 2
    assert "has no shop named 'dk' (shops: se)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["sync", "products", "-c", str(config), "--connection", "demo", "--from", "x"])
    assert exited.value.code == 2


def test_progress_gives_count_rate_and_eta() -> None:
    tally = Tally("economic", ("se",), articles=250, created=200, unchanged=50, total=1000)
    text = progress_text(tally, elapsed=10.0)
    assert text.startswith("250/1000 articles (25.0%), 25.0/s, ETA 0m30s; created 200")
    assert progress_text(Tally("se", ("economic",), articles=30), 10.0).startswith(
        "30 articles, 3.0/s; "
    )
    # the total is an estimate (Starweb counts products, not variants): passed, it says so
    passed = Tally("se", ("economic",), articles=12, total=10)
    assert progress_text(passed, 4.0).startswith("12 articles (more than the 10 counted), 3.0/s;")


def test_plain_lines_come_at_intervals_and_at_the_end() -> None:
    now = [0.0]
    stream = io.StringIO()
    shown = PlainProgress(stream, every=10.0, clock=lambda: now[0])
    tally = Tally("economic", ("se",), total=100)
    shown.started(tally)
    for step in range(1, 26):
        now[0] = step  # one second per article
        tally.articles, tally.created = step, step
        shown.advanced(tally)
    shown.close(tally)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("economic: 10/100 articles (10.0%), 1.0/s")
    assert lines[-1].startswith("economic: 25/100 articles (25.0%), 1.0/s, ETA 1m15s")


def test_a_terminal_gets_the_bar_and_a_pipe_the_lines() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(progress_for(Terminal()), BarProgress)
    assert isinstance(progress_for(io.StringIO()), PlainProgress)
    shown = BarProgress(Terminal())
    tally = Tally("economic", ("se",), total=10)
    shown.started(tally)
    tally.articles = tally.created = 4
    shown.advanced(tally)
    shown.close(tally)
    assert "4/10" in shown._stream.getvalue()  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_the_command_stopped_by_sigterm_goes_on_where_it_stopped(tmp_path: Path) -> None:
    """As a user runs it: both simulators on loopback, `brygga sync products` in a process of
    its own, SIGTERM once 20 articles are in the shop, then the same command again."""
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop: Any = shop_spec.simulator(seed=1)
    erp: Any = erp_spec.simulator()
    for sku in ("TROJA-S", "TROJA-M", "TROJA-L"):  # see opened()
        erp.remove_article(sku)
    new = [f"NY-{n:04d}" for n in range(300)]
    for sku in new:
        erp.add_article(sku, f"Artikel {sku}", Decimal("10.00"), Decimal(25))
    shop.faults.in_process = erp.faults.in_process = False
    stop = anyio.Event()
    fast = {"rate_limit": {"requests": 100, "per_seconds": 1}}

    async def serve(app: Any, *, task_status: Any) -> None:
        await serve_http(app, "127.0.0.1:0", shutdown_trigger=stop.wait, task_status=task_status)

    enough = anyio.Event()

    async def shop_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await shop.app(scope, receive, send)
        if sum(copies(shop, sku) for sku in new) >= 20:
            enough.set()

    async with anyio.create_task_group() as tg:
        shop_port = await tg.start(serve, shop_app)
        erp_port = await tg.start(serve, erp.app)
        config = write_config(
            tmp_path / "brygga.toml",
            state=str(tmp_path / "state.db"),
            name="demo",
            erp={**erp.adapter_config(f"http://127.0.0.1:{erp_port}"), **fast},
            shops=[
                {
                    **shop.adapter_config(f"http://127.0.0.1:{shop_port}/api/v2", name="se"),
                    **fast,
                }
            ],
            connection={"mode": "erp", "registers": {"price_lists": "off"}},
        )
        command = [sys.executable, "-m", "brygga", "sync", "products", "-c", str(config)]
        command += ["--connection", "demo", "--from", "erp"]
        process = await anyio.open_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        await enough.wait()
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 130
        assert process.stderr is not None
        said = b"".join([chunk async for chunk in process.stderr]).decode()
        assert "run the same command again to go on where it stopped" in said
        again = await anyio.run_process(command, check=False)
        output = again.stdout.decode()
        assert again.returncode == 0, output + again.stderr.decode()
        assert count_line(output, "done before") >= 20
        assert all(copies(shop, sku) == 1 for sku in new)
        stop.set()


async def test_a_first_run_has_a_total_from_the_sources_count(tmp_path: Path) -> None:
    """No earlier run is known, yet the progress has a total (so an ETA): e-conomic's
    ``pagination.results`` from ``GET /products?pagesize=1``; Starweb's number of products."""
    totals: list[tuple[str, int | None]] = []

    class Recording(PlainProgress):
        def started(self, tally: Tally) -> None:
            totals.append((tally.source, tally.total))
            super().started(tally)

    async def run(env: SimulatedConnection, side: str) -> str:
        out = io.StringIO()
        request = SyncRequest("demo", side)  # type: ignore[arg-type]
        code = await sync_products(
            env.loaded, request, http=env.http, out=out, err=out, progress=Recording
        )
        assert code == 0, out.getvalue()
        return out.getvalue()

    async with opened(tmp_path) as env:
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        output = await run(env, "erp")
        read = int(output.split("articles read")[0].split()[-1])
        assert totals == [("economic", read)]
        assert f"{read}/{read} articles (100.0%)" in output
    (tmp_path / "ecom").mkdir()
    async with opened(tmp_path / "ecom", mode="ecom") as env:
        await run(env, "shop")
        products = len(env.shop.catalog.products)
        assert totals[-1] == ("se", products)


async def test_a_nok_shop_gets_the_erps_own_nok_prices(tmp_path: Path) -> None:
    """[connection.catalog.shops.se] currency = "NOK": e-conomic's currency-specific sales
    price (reference/erp-apis.md §1.6), never a converted one; a product without one is a
    failure line naming the SKU, the currency and the fix."""
    nok = {"shops": {"se": {"currency": "NOK"}}}
    async with opened(tmp_path, catalog_config=nok) as env:
        env.shop.catalog.pricelists[1].currency = "NOK"  # a Norwegian shop: its master in NOK
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        env.erp.add_article("NY-2", "Ny kaka", Decimal("24.50"), Decimal(12))
        env.erp.set_currency_price("NY-1", "NOK", Decimal("109.00"))
        code, output = await sync(env, "erp")
        assert code == 1, output
        assert env.shop.price("NY-1") == (Decimal("109.00"), None)
        assert copies(env.shop, "NY-2") == 0
        [line] = [line for line in output.splitlines() if line.strip().startswith("NY-2 ")]
        assert "no NOK price for article NY-2" in line and "Set a NOK sales price" in line


async def test_its_requests_count_in_the_windows_a_daemon_starts_from(tmp_path: Path) -> None:
    # a daemon started right after a big sync reads the accounts' windows from the state
    # file: the sync's requests must be in them, added to what a daemon left, never replacing it
    async with opened(tmp_path) as env:
        daemon = SavedWindow(
            account="left-by-a-daemon",
            sends=(env.clock.now().timestamp() - 0.5,),
            paused_until=None,
            allowed=10.0,
            slow_start=False,
            limit_requests=10,
            limit_seconds=1.0,
        )
        await env.store.limiters.save([daemon], env.clock.now(), stopped=True)
        code, output = await sync(env, "erp")
        assert code == 0, output
        windows = (await env.store.limiters.load()).windows
        assert windows["left-by-a-daemon"] == daemon
        requests = len(env.erp.requests) + len(env.shop.requests)
        recorded = sum(len(w.sends) for a, w in windows.items() if a != "left-by-a-daemon")
        # every request of the last window of each account, at least one per account used
        assert 0 < recorded <= requests
        assert len(windows) >= 3, sorted(windows)  # the e-conomic and Starweb accounts too


async def test_the_level_of_each_created_article_is_queued_and_the_daemon_writes_it(
    tmp_path: Path,
) -> None:
    """An initial copy from the ERP used to leave every new shop article without stock until
    its level next changed in the ERP; each created article's level is now queued with the
    batch's checkpoint (one transaction) and the stock flow writes it."""
    async with opened(tmp_path, inventory=True) as env:
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        env.erp.set_stock("NY-1", Decimal(7))
        code, output = await sync(env, "erp")
        assert code == 0, output
        assert count_line(output, "stock levels queued") == count_line(output, "created")
        queued = await env.store.db.fetchall(
            "SELECT instance, external_id FROM work_items WHERE register = 'stock'"
        )
        assert ("se", "NY-1") in {(r["instance"], r["external_id"]) for r in queued}
        assert env.shop.stock("NY-1") in (None, Decimal(0))
        states = await env.drain(env.flow(), "stock")
        assert states and all(s == "done" for s in states), states
        assert env.shop.stock("NY-1") == Decimal(7)
        code, again = await sync(env, "erp")  # nothing created: nothing queued again
        assert code == 0 and "stock levels queued" not in again, again
