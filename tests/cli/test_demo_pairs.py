"""`brygga demo --shop KIND --erp KIND`: the demo runs any installed shop and ERP adapter pair
whose simulators have the kit's control surface (brygga.testing.simulators), not only Starweb
and e-conomic (first-hour QA: "there is no user path to try the other seven adapters").

Each run is the CLI's ``main`` in-process (as tests/cli/test_first_hour.py does) with the demo's
temporary folder under the test's; the simulators the demo builds are recorded so the test
reads the ERP's documents itself rather than trusting the demo's own summary."""

from __future__ import annotations

import dataclasses
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec
import pytest

from brygga.cli import main
from brygga.commands import demo
from brygga.plugins import PluginHost
from brygga.sync.orders import document_reference
from brygga.testing.simulators import CatalogShopSimulator

FAST = ["--interval", "0.1", "--exit-when-done", "--timeout", "60"]


@pytest.fixture
def demo_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's temporary folder goes under the test's."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp_path


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The simulators the demo builds, by role ("shop", "erp")."""
    made: dict[str, Any] = {}
    real = demo.demo_pair

    def recording(*args: Any, **kwargs: Any) -> Any:
        pair = real(*args, **kwargs)
        if isinstance(pair, str):
            return pair
        return tuple(
            dataclasses.replace(spec, simulator=_record(made, role, spec.simulator))
            for role, spec in zip(("shop", "erp"), pair, strict=True)
        )

    monkeypatch.setattr(demo, "demo_pair", recording)
    return made


def _record(made: dict[str, Any], role: str, factory: Any) -> Callable[..., Any]:
    def build(**options: Any) -> Any:
        made[role] = sim = factory(**options)
        if sim.kind == "vendure":
            # its catalog (WIDGET-1, COFFEE-500, ...) is in no ERP simulator's seed: the demo
            # adds its articles to the ERP because it tells them (CatalogShopSimulator)
            assert isinstance(sim, CatalogShopSimulator)
        return sim

    return build


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _each_once_in_the_erp(built: dict[str, Any], orders: int) -> None:
    shop, erp = built["shop"], built["erp"]
    placed = shop.order_ids()
    assert len(placed) == orders
    for oid in placed:
        found = erp.documents_with_reference(document_reference(demo.CONNECTION, demo.SHOP, oid))
        assert len(found) == 1, (oid, found)
    assert len(erp.documents()) == orders


def test_prestashop_into_fortnox_transfers_each_order_and_ships_it(
    demo_tmp: Path, built: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """PrestaShop's own default states, as its adapter names them (slugs): the order is
    paid at checkout (payment-accepted records its payment), 'processing-in-progress' once
    in the ERP, 'shipped' with the customer e-mailed (sendemail=1) once the invoice is booked.
    Read in the simulator, not from the demo's summary."""
    code, out, err = _run(
        capsys, "demo", "--shop", "prestashop", "--erp", "fortnox", "--orders", "3", *FAST
    )
    assert code == 0, (out, err)
    shop = built["shop"]
    assert (shop.kind, built["erp"].kind) == ("prestashop", "fortnox")
    _each_once_in_the_erp(built, 3)
    # the header names the kinds run and the shop's status flow
    assert re.search(r"^  shop \(prestashop simulator\)\s+http://127\.0\.0\.1:\d+$", out, re.M)
    assert re.search(r"^  ERP  \(fortnox simulator\)\s+http://127\.0\.0\.1:\d+$", out, re.M)
    assert "Orders only" not in out
    assert "'processing-in-progress' in the shop" in out and "shows it 'shipped'" in out
    assert "3 in the ERP exactly once, 0 duplicated, 3 completed in the shop ('shipped', " in out
    for oid in shop.order_ids():
        assert shop.order_status(oid) == "shipped"
        assert [
            (c.status, c.via, c.email_sent, c.payment_action) for c in shop.status_changes(oid)
        ] == [
            ("payment-accepted", "checkout", False, "captured"),
            ("processing-in-progress", "webservice", False, ""),
            ("shipped", "webservice", True, ""),
        ]
        assert len(shop.payments(oid)) == 1
        assert shop.exported_document(oid) is not None


def test_vendure_orders_are_settled_once_and_shipped(
    demo_tmp: Path, built: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Vendure's default order process: placed PaymentAuthorized, the booked invoice settles
    the payment (the capture: Vendure ships only settled orders) and ships the whole order
    through a fulfilment. Read in the simulator's orders."""
    code, out, err = _run(
        capsys, "demo", "--shop", "vendure", "--erp", "economic", "--orders", "3", *FAST
    )
    assert code == 0, (out, err)
    shop = built["shop"]
    _each_once_in_the_erp(built, 3)
    assert "payment authorized ('PaymentAuthorized')" in out and "'Shipped'" in out
    assert "3 completed in the shop ('Shipped', payment settled once)" in out
    for oid in shop.order_ids():
        order = shop.orders[int(oid)]
        assert order.state == shop.order_status(oid) == "Shipped"
        assert [p["state"] for p in order.payments] == ["Settled"]
        assert [f.state for f in order.fulfilments] == ["Shipped"]
        steps = [(c.status, c.via, c.payment_action) for c in shop.status_changes(oid)]
        assert steps == [
            ("PaymentAuthorized", "checkout", ""),
            ("PaymentAuthorized", "payment", "captured"),
            ("PaymentSettled", "state", ""),
            ("Shipped", "state", ""),
        ]


@pytest.mark.parametrize(
    ("shop", "erp", "statuses"),
    [
        ("vendure", "tryton", True),  # its sale is made in steps: booked only once done
        ("norce", "economic", False),  # pushes its orders to the daemon's receiver
        ("prestashop", "hogia", True),
        ("starweb", "fortnox", True),  # booked invoices complete the orders in the shop
        ("starweb", "tryton", True),
    ],
)
def test_other_pairs_run_their_orders_through(
    demo_tmp: Path,
    built: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    shop: str,
    erp: str,
    statuses: bool,
) -> None:
    code, out, err = _run(capsys, "demo", "--shop", shop, "--erp", erp, "--orders", "2", *FAST)
    assert code == 0, (out, err)
    assert (built["shop"].kind, built["erp"].kind) == (shop, erp)
    _each_once_in_the_erp(built, 2)
    assert f"shop ({shop} simulator)" in out and f"ERP  ({erp} simulator)" in out
    if statuses:
        flow = demo.DEMO_STATUSES[shop]
        assert f"2 completed in the shop ({flow.meaning})" in out
        assert "Orders only" not in out
        placed = built["shop"].order_ids()
        assert all(built["shop"].order_status(o) == flow.completed for o in placed)
        for oid in placed:
            changes = built["shop"].status_changes(oid)
            assert sum(c.payment_action == "captured" for c in changes) == 1
    else:
        assert "Orders only: " in out and "statuses not shown (orders only)" in out


@pytest.mark.parametrize(
    ("option", "kind", "role"),
    [("--shop", "shopify", "shop"), ("--erp", "visma", "ERP"), ("--shop", "economic", "shop")],
)
def test_an_unknown_kind_is_one_line_listing_the_available_ones(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str], option: str, kind: str, role: str
) -> None:
    code, out, err = _run(capsys, "demo", option, kind, "--orders", "1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {option} {kind}: "), err
    host = PluginHost()
    available = sorted(
        k for k, s in host.adapters.items() if s.role.value.lower() == role.lower() and s.simulator
    )
    assert len(available) > 1
    assert err.rstrip().endswith("available: " + ", ".join(available)), err


def test_mode_erp_with_another_pair_is_one_line(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "demo", "--mode", "erp", "--erp", "fortnox", "--orders", "1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: --mode erp runs only --shop starweb --erp economic"), err


class _Without:
    """A simulator without one of its methods (``missing``)."""

    def __init__(self, inner: Any, missing: str) -> None:
        self._inner, self._missing = inner, missing

    def __getattr__(self, name: str) -> Any:
        if name == self._missing:
            raise AttributeError(name)
        return getattr(self._inner, name)


def _shop_without(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    real = demo.demo_pair

    def stripped(*args: Any, **kwargs: Any) -> Any:
        shop, erp = real(*args, **kwargs)
        build = shop.simulator
        return dataclasses.replace(shop, simulator=lambda **o: _Without(build(**o), missing)), erp

    monkeypatch.setattr(demo, "demo_pair", stripped)


def test_a_simulator_without_place_order_is_one_line_naming_its_kind(
    demo_tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _shop_without(monkeypatch, "place_order")
    code, out, err = _run(capsys, "demo", "--shop", "prestashop", "--orders", "1")
    assert code == 2 and out == ""
    assert err == (
        "error: the demo cannot run shop kind 'prestashop': its simulator has no place_order\n"
    )


def test_orders_that_fail_for_good_end_the_demo_at_once_saying_so(
    demo_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Vendure's catalog is in no ERP simulator's seed: without its articles (no
    ``catalog_articles``) Fortnox refuses each order for good. The demo says so and exits 1
    then, not after --timeout (60 s here)."""
    _shop_without(monkeypatch, "catalog_articles")
    started = time.monotonic()
    code, out, err = _run(
        capsys, "demo", "--shop", "vendure", "--erp", "fortnox", "--orders", "2", *FAST
    )
    assert code == 1, (out, err)
    assert time.monotonic() - started < 30
    assert "error: 2 record(s) failed for good (the warnings above say why), 0 of 2 orders" in out
    assert re.search(r"article \S+ does not exist in Fortnox", caplog.text)  # the why


def test_the_help_names_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "--shop KIND" in text and "--erp KIND" in text
    assert "unknown --shop/--erp kind" in " ".join(text.split())


class _Erp:
    """A StatusErpSimulator stand-in: documents by reference, the invoices booked."""

    def __init__(self) -> None:
        self.docs: dict[str, list[str]] = {}
        self.booked: list[str] = []

    def documents_with_reference(self, reference: str) -> list[str]:
        return self.docs.get(reference, [])

    def order_event(self, reference: str, event: Any) -> None:
        self.booked.append(reference)


def test_the_bookkeeper_waits_until_the_daemon_is_done_with_the_order() -> None:
    """Tryton's sale is created, quoted and confirmed in steps: booked between them, the
    adapter's confirm failed ("Only quoted sales can be confirmed") in a starweb + tryton run.
    The demo's bookkeeper waits for the shop's export mark (the adapter's write-back)."""
    erp, done = _Erp(), set[str]()
    bookkeeper = demo.Bookkeeper(cast(Any, erp), random.Random(1), transferred=done.__contains__)
    reference = document_reference(demo.CONNECTION, demo.SHOP, "7")
    erp.docs[reference] = ["draft sale"]
    bookkeeper.tick(["7"], now=0.0)
    bookkeeper.tick(["7"], now=100.0)
    assert erp.booked == [] and bookkeeper.waiting["7"] is None  # in the ERP, not done yet
    done.add("7")
    bookkeeper.tick(["7"], now=200.0)
    bookkeeper.tick(["7"], now=300.0)
    assert erp.booked == [reference]


#: which pairs run the status flow too (README "Which pairs do what"): every ERP books
#: invoices in its simulator; Starweb, PrestaShop and Vendure show their status changes,
#: Norce's simulator does not
STATUS_SHOPS = {"starweb": True, "prestashop": True, "vendure": True, "norce": False}


def test_the_pair_table() -> None:
    host = PluginHost()
    shops = sorted(k for k, s in host.adapters.items() if s.role.value == "shop" and s.simulator)
    erps = sorted(k for k, s in host.adapters.items() if s.role.value == "erp" and s.simulator)
    assert set(shops) == set(STATUS_SHOPS) and len(erps) >= 5
    for shop_kind in shops:
        shop_spec = host.adapters[shop_kind]
        assert shop_spec.simulator is not None
        shop = shop_spec.simulator(seed=0)
        for erp_kind in erps:
            erp_spec = host.adapters[erp_kind]
            assert erp_spec.simulator is not None
            erp = erp_spec.simulator()
            runs = demo.status_pair(shop_spec, shop, erp_spec, erp)
            assert runs is STATUS_SHOPS[shop_kind], (shop_kind, erp_kind)
        if STATUS_SHOPS[shop_kind]:
            flow = demo.DEMO_STATUSES[shop_kind]
            assert flow.rules["invoiced"]["shop_status"] == flow.completed
        else:
            problems = demo._status_problems(shop_spec, shop, erp_spec, erp)
            assert problems == [
                f"the {shop_kind} simulator does not show its status changes (status_changes)"
            ]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("shop_kind", ["prestashop", "vendure"])
async def test_the_rules_name_statuses_the_real_adapter_can_set(
    anyio_backend: str, shop_kind: str
) -> None:
    """Each rule's shop status is one the shop adapter lists (``order_statuses``, what
    `check --remote` checks), read from the simulator through the adapter."""
    from brygga.adapters import AdapterContext
    from brygga.config import dec_hook
    from brygga.http.client import HttpContext

    host = PluginHost()
    spec = host.adapters[shop_kind]
    assert spec.simulator is not None
    sim = spec.simulator(seed=0)
    raw = sim.adapter_config("http://shop.test", name=demo.SHOP)
    config = msgspec.convert(raw, spec.config_type, dec_hook=dec_hook(Path.cwd()))
    http = HttpContext(transport=httpx.ASGITransport(app=sim.app))
    context = AdapterContext(connection=demo.CONNECTION, instance=demo.SHOP, http=http)
    adapter = cast(Any, spec.factory(config, context))
    try:
        have = await adapter.order_statuses()
    finally:
        await adapter.aclose()
    rules = demo.DEMO_STATUSES[shop_kind].rules
    assert {r["shop_status"] for r in rules.values()} <= set(have), have
