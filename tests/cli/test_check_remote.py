"""`brygga check --remote`: read-only checks of every configured system against the simulators.

Assertions look at the structured findings (which check, ok or not) and exit codes, never at
wording. The in-process tests route to the simulators; the CLI tests serve them on loopback.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.adapters import RemoteNeeds
from brygga.cli import main
from brygga.clock import FakeClock
from brygga.commands.check import SystemReport, remote_needs, remote_reports
from brygga.config import LoadedConfig, load_config
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import LineKind
from brygga.plugins import PluginHost
from brygga.testing import RoutingTransport, serve_asgi, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

HELPERS = ("freight", "fee", "discount", "rounding")


@dataclasses.dataclass
class Systems:
    erp: EconomicSimulator
    shop: StarwebSimulator

    def writes(self) -> list[tuple[str, str]]:
        requests = [*self.erp.requests, *self.shop.requests]
        return [(m, p) for m, p in requests if m != "GET" and not p.endswith("/token")]


@pytest.fixture
def systems() -> Systems:
    erp = EconomicSimulator()
    erp.set_inventory_module(True)  # mode "erp" reads stock from e-conomic: it needs the module
    return Systems(erp, StarwebSimulator())


def configure(
    tmp_path: Path,
    systems: Systems,
    *,
    erp_url: str = "http://erp.test",
    shop_url: str = "http://shop.test/api/v2",
    erp: dict[str, Any] | None = None,
    shop: dict[str, Any] | None = None,
    orders: dict[str, Any] | None = None,
) -> Path:
    return write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp={**systems.erp.adapter_config(erp_url), **(erp or {})},
        shops=[{**systems.shop.adapter_config(shop_url, name="se"), **(shop or {})}],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": orders or {}},
    )


async def reports(path: Path, systems: Systems) -> list[SystemReport]:
    loaded = load_config(path, PluginHost())
    routes = RoutingTransport({"erp.test": systems.erp.app, "shop.test": systems.shop.app})
    return await remote_reports(loaded, context(routes))


def context(routes: RoutingTransport) -> HttpContext:
    """Routed to the simulators, on a fake clock (the rate limiters wait in no real time)."""
    clock = FakeClock()
    return HttpContext(transport=routes, clock=clock, limiters=RateLimiterRegistry(clock))


def findings(report: SystemReport) -> dict[str, bool]:
    assert report.findings is not None
    return {f.check: f.ok for f in report.findings}


def problems(found: list[SystemReport]) -> set[str]:
    return {f"{r.role.value}:{f.check}" for r in found for f in r.problems}


# --- in-process, structured results -----------------------------------------------------------


async def test_all_good(tmp_path: Path, systems: Systems) -> None:
    found = await reports(configure(tmp_path, systems), systems)
    erp, shop = found
    assert (erp.role.value, erp.kind, shop.role.value, shop.name) == (
        "erp",
        "economic",
        "shop",
        "se",
    )
    assert problems(found) == set()
    checks = findings(erp)
    assert {"credentials", "layout 19", "payment terms 1", "VAT zone 1", "customer group 1"} <= set(
        checks
    )
    helpers = [c for c in checks if " article " in c]
    assert len(helpers) == 3 * 3 + 1  # freight, handling, discount at 25/12/6; rounding at 0
    assert set(findings(shop)) == {"credentials", "order list"}
    assert systems.writes() == []


async def test_a_missing_helper_article_is_a_problem_per_rate(
    tmp_path: Path, systems: Systems
) -> None:
    systems.erp.remove_article("expavg-12")
    systems.erp.remove_article("expavg-6")
    found = await reports(configure(tmp_path, systems), systems)
    assert problems(found) == {
        "erp:handling article expavg at 12 % VAT",
        "erp:handling article expavg at 6 % VAT",
    }
    systems.erp.remove_article("avrundning")
    assert "erp:rounding article avrundning at 0 % VAT" in problems(
        await reports(configure(tmp_path, systems), systems)
    )


async def test_a_helper_article_with_the_wrong_vat_is_a_problem(
    tmp_path: Path, systems: Systems
) -> None:
    systems.erp.add_article("fraktavg-12", "Frakt", Decimal(0), Decimal(25))
    found = await reports(configure(tmp_path, systems), systems)
    assert problems(found) == {"erp:freight article fraktavg at 12 % VAT"}


async def test_the_configured_vat_rates_are_the_ones_checked(
    tmp_path: Path, systems: Systems
) -> None:
    systems.erp.remove_article("fraktavg-12")  # a merchant who sells at 25 % only
    found = await reports(configure(tmp_path, systems, orders={"vat_rates": [25]}), systems)
    assert problems(found) == set()
    checks = findings(found[0])
    assert "freight article fraktavg at 25 % VAT" in checks
    assert not any("12 %" in check for check in checks)


async def test_a_wrong_layout_is_a_problem(tmp_path: Path, systems: Systems) -> None:
    path = configure(tmp_path, systems, erp={"layout": 99, "customer_group": 42})
    found = await reports(path, systems)
    assert problems(found) == {"erp:layout 99", "erp:customer group 42"}


async def test_payment_terms_of_type_due_date_are_a_problem(
    tmp_path: Path, systems: Systems
) -> None:
    """Terms of paymentTermsType dueDate need a dueDate on every document (reference/
    erp-apis.md §1.6: "dueDate (only for paymentTermsType=dueDate)"), which brygga does not
    set: every order would be refused; check --remote says so before the first order."""
    path = configure(tmp_path, systems, erp={"payment_terms": 5})
    found = await reports(path, systems)
    assert problems(found) == {"erp:payment terms 5"}
    path = configure(tmp_path, systems, erp={"payment_terms": 2})
    assert not problems(await reports(path, systems))


async def test_a_shops_own_customer_group_is_checked_too(tmp_path: Path, systems: Systems) -> None:
    """README: check --remote verifies the "customer group the config names"; a shop's own
    group (first-hour QA: 99 passed, then every new customer of that shop was refused)."""
    path = configure(tmp_path, systems, orders={"shops": {"se": {"customer_group": 99}}})
    found = await reports(path, systems)
    assert problems(found) == {"erp:customer group 99 (shop se)"}
    [detail] = [f.detail for f in found[0].problems]
    assert "[connection.orders.shops.se] customer_group" in detail and "e-conomic has: " in detail
    good = configure(tmp_path, systems, orders={"shops": {"se": {"customer_group": 1}}})
    assert findings((await reports(good, systems))[0])["customer group 1 (shop se)"]
    assert systems.writes() == []


async def test_bad_credentials_are_one_problem_per_system(tmp_path: Path, systems: Systems) -> None:
    path = configure(
        tmp_path,
        systems,
        erp={"agreement_grant_token": "wrong-grant-token-123"},
        shop={"client_secret": "wrong-client-secret-456"},
    )
    found = await reports(path, systems)
    assert [(r.role.value, findings(r)) for r in found] == [
        ("erp", {"credentials": False}),
        ("shop", {"credentials": False}),
    ]
    for report in found:
        assert report.findings is not None
        for finding in report.findings:
            assert "wrong-grant-token-123" not in finding.detail
            assert "wrong-client-secret-456" not in finding.detail


async def test_an_unreachable_system_is_a_problem_not_a_crash(
    tmp_path: Path, systems: Systems
) -> None:
    found = await reports(configure(tmp_path, systems, erp_url="http://nowhere.test"), systems)
    erp, shop = found
    assert erp.findings is not None and erp.problems == list(erp.findings)
    assert shop.problems == []


async def test_an_erp_base_url_at_something_else_says_so_not_credentials(
    tmp_path: Path, systems: Systems
) -> None:
    # e-conomic answers GET /self with the agreement as JSON, or 401/403 for refused tokens
    # (reference/erp-apis.md §1.2, §1.6 "Reference data"); a 404 there, or a 2xx that is not
    # JSON, is another server at base_url: the fix is the URL, not the tokens
    found = await reports(configure(tmp_path, systems, erp_url="http://shop.test"), systems)
    erp = found[0]
    assert findings(erp) == {"credentials": False}
    assert erp.findings is not None
    detail = erp.findings[0].detail
    assert "base_url http://shop.test" in detail and "https://restapi.e-conomic.com" in detail
    assert "rejected" not in detail


async def test_an_adapter_without_remote_checks_says_so(tmp_path: Path, systems: Systems) -> None:
    class Plain:
        async def aclose(self) -> None:
            pass

    loaded = load_config(configure(tmp_path, systems), PluginHost())
    conn = loaded.connections[0]
    spec = dataclasses.replace(conn.shop_specs[0], factory=lambda cfg, ctx: Plain())
    plain = LoadedConfig(
        path=loaded.path,
        config=loaded.config,
        connections=(dataclasses.replace(conn, shop_specs=(spec,)),),
    )
    routes = RoutingTransport({"erp.test": systems.erp.app})
    erp, shop = await remote_reports(plain, context(routes))
    assert shop.findings is None and shop.problems == []
    assert erp.findings is not None


async def test_needs_follow_the_orders_config(tmp_path: Path, systems: Systems) -> None:
    path = configure(
        tmp_path,
        systems,
        orders={"vat_rates": [25, 12.5, 25], "fee_articles": {"freight": "frakt"}},
    )
    needs = remote_needs(load_config(path, PluginHost()).connections[0])
    kinds = {h.kind: h for h in needs.helper_articles}
    assert [k.value for k in kinds] == list(HELPERS)
    assert kinds[LineKind.FREIGHT].number == "frakt"
    assert kinds[LineKind.FREIGHT].rates == (Decimal(25), Decimal("12.5"))
    assert kinds[LineKind.ROUNDING].rates == (Decimal(0),)
    off = configure(tmp_path, systems, orders={})
    text = off.read_text(encoding="utf-8").replace(
        'registers = { price_lists = "off" }', 'registers = { price_lists = "off", orders = "off" }'
    )
    off.write_text(text, encoding="utf-8")
    needs = remote_needs(load_config(off, PluginHost()).connections[0])
    assert dataclasses.replace(needs, reads=(), writes=()) == RemoteNeeds()  # no orders needs


# --- the command line, simulators on loopback ---------------------------------------------------


@contextmanager
def served(*apps: Any) -> Iterator[list[int]]:
    """Serve ``apps`` on loopback ports from a thread (the CLI runs its own event loop)."""
    ports: list[int] = []
    ready, done = threading.Event(), threading.Event()

    async def serve() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            for app in apps:
                ports.append(await tg.start(serve_asgi, app, stop))
            ready.set()
            await anyio.to_thread.run_sync(done.wait)
            stop.set()

    thread = threading.Thread(target=anyio.run, args=(serve,), daemon=True)
    thread.start()
    assert ready.wait(30), "the simulators did not start"
    try:
        yield ports
    finally:
        done.set()
        thread.join(30)


def cli_check(
    tmp_path: Path, systems: Systems, capsys: pytest.CaptureFixture[str], **overrides: Any
) -> tuple[int, str]:
    with served(systems.erp.app, systems.shop.app) as (erp, shop):
        path = configure(
            tmp_path,
            systems,
            erp_url=f"http://127.0.0.1:{erp}",
            shop_url=f"http://127.0.0.1:{shop}/api/v2",
            **overrides,
        )
        code = main(["check", "--remote", "-c", str(path)])
    out, err = capsys.readouterr()
    return code, out + err


def test_cli_all_good_exits_0(
    tmp_path: Path, systems: Systems, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = cli_check(tmp_path, systems, capsys)
    assert code == 0, output
    assert "Traceback" not in output
    for secret in (systems.erp.agreement_grant_token, systems.shop.client_secret):
        assert secret not in output
    assert systems.writes() == []


def test_cli_a_problem_exits_1_without_a_traceback(
    tmp_path: Path, systems: Systems, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = cli_check(
        tmp_path, systems, capsys, erp={"app_secret_token": "a-wrong-app-secret"}
    )
    assert code == 1
    assert "Traceback" not in output and "a-wrong-app-secret" not in output


def test_cli_an_unreachable_system_exits_1(
    tmp_path: Path, systems: Systems, capsys: pytest.CaptureFixture[str]
) -> None:
    path = configure(tmp_path, systems, erp_url="http://127.0.0.1:9")  # discard port: refused
    code = main(["check", "--remote", "-c", str(path)])
    output = "".join(capsys.readouterr())
    assert code == 1 and "Traceback" not in output


def test_cli_config_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "brygga.toml"
    path.write_text("[[connection]]\nname = 'x'\n", encoding="utf-8")
    assert main(["check", "--remote", "-c", str(path)]) == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the state file's store needs asyncio
async def test_a_check_before_the_first_start_keeps_a_rotated_refresh_token(
    tmp_path: Path,
) -> None:
    """Fortnox refresh tokens are single-use (reference/erp-apis.md §2.1 [doc F2],
    https://www.fortnox.se/developer/authorization/get-refresh-token). First-hour QA: with no
    state file yet, `check --remote` spent the configured token and kept the new one in memory,
    so a second check (or the daemon) was refused and only a new consent helped. The first
    write of an adapter's state now creates the state file."""
    from brygga_fortnox.simulator import FortnoxSimulator

    fortnox, shop = FortnoxSimulator(), StarwebSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=fortnox.adapter_config("http://erp.test"),
        shops=[shop.adapter_config("http://shop.test/api/v2", name="se")],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
    )
    routes = RoutingTransport({"erp.test": fortnox.app, "shop.test": shop.app})
    for attempt in (1, 2):
        found = await remote_reports(load_config(path, PluginHost()), context(routes))
        assert findings(found[0]).get("credentials"), (attempt, found[0].findings)
        assert (tmp_path / "state.db").exists(), "the rotated token lives in the state file"
    assert fortnox.oauth.issued == {"refresh_token": 1}, "the second check used the kept token"


async def test_a_check_whose_adapters_only_read_creates_no_state_file(
    tmp_path: Path, systems: Systems
) -> None:
    assert problems(await reports(configure(tmp_path, systems), systems)) == set()
    assert not (tmp_path / "state.db").exists()
