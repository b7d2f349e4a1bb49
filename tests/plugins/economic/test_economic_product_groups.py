"""e-conomic's product group for new products: a config error before anything runs, when
products flow into e-conomic and the config names none.

e-conomic requires ``productGroup`` to create a product (e-conomic/slate
``source/includes/_products.md``, POST ``/products``: ``productNumber``, ``name`` and
``productGroup`` required; reference/erp-apis.md §1.6), and the product group decides the VAT
rate (``_product-groups.md``: the group's sales account per VAT zone). brygga cannot guess a
group, so README ("e-conomic: catalog") says: neither ``product_groups`` nor ``product_group``
set is a configuration error naming the key. QA found `brygga check` and the dry run passing
such a config and the real run then failing every article. Now: `brygga check`, the daemon's
start and `brygga sync products` (also ``--from shop`` in a connection whose products come
from the ERP, and its dry run) refuse it with exit 2 and a sentence naming the key and the fix;
a connection whose products do not flow into e-conomic (mode ``erp``, orders only) needs none.
A VAT rate ``product_groups`` does not list is named with the key to add.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.cli import main
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.errors import ConfigError
from brygga.plugins import PluginHost
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection, toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

ERP_URL = "https://restapi.e-conomic.com"
SHOP_URL = "https://butiken.starwebserver.se/api/v2"
AT = datetime(2026, 1, 1, tzinfo=UTC)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


def write(tmp_path: Path, erp: dict[str, Any] | None = None, **connection: Any) -> Path:
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            name="butiken",
            erp={**EconomicSimulator(seed_catalog=False).adapter_config(ERP_URL), **(erp or {})},
            shops=[StarwebSimulator(seed_catalog=False).adapter_config(SHOP_URL, name="se")],
            connection={"registers": {"price_lists": "off"}, **connection},
        ),
        encoding="utf-8",
    )
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_names_the_key(sentence: str) -> None:
    assert "[connection.erp] product_groups" in sentence, sentence
    assert "product_group = <group number>" in sentence, sentence
    assert 'product_groups = { "25" = <group number>' in sentence, sentence


@pytest.mark.parametrize(
    "connection",
    [
        {"mode": "ecom"},
        {"mode": "combo"},
        # erp mode with the products register turned round: products go into e-conomic
        {"mode": "erp", "registers": {"price_lists": "off", "products": "shop"}},
    ],
    ids=["ecom", "combo", "erp-products-from-shop"],
)
def test_check_refuses_products_into_economic_without_a_product_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], connection: dict[str, Any]
) -> None:
    code, out, err = check(write(tmp_path, **connection), capsys)
    assert code == 2, (out, err)
    assert "config OK" not in out
    assert err.startswith("error: ") and "connection 'butiken'" in err
    assert_names_the_key(err)


@pytest.mark.parametrize(
    ("erp", "connection"),
    [
        ({}, {"mode": "erp"}),  # products come from e-conomic: no group needed
        ({}, {"mode": "erp", "registers": {"price_lists": "off", "products": "off"}}),
        ({"product_group": 1}, {"mode": "ecom"}),
        ({"product_groups": {"25": 1, "12": 2}}, {"mode": "combo"}),
    ],
    ids=["erp", "orders-only", "ecom-one-group", "combo-groups-per-rate"],
)
def test_check_passes_when_products_do_not_need_a_group_or_have_one(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    erp: dict[str, Any],
    connection: dict[str, Any],
) -> None:
    code, out, err = check(write(tmp_path, erp, **connection), capsys)
    assert code == 0, (out, err)
    assert out.rstrip().endswith("config OK")


def test_check_refuses_a_product_groups_key_that_is_no_vat_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"product_groups": {"25": 1, "moms": 2}}, mode="ecom")
    code, out, err = check(path, capsys)
    assert code == 2, (out, err)
    assert "product_groups: 'moms' is not a VAT rate" in err


def test_the_daemon_start_refuses_it_too(tmp_path: Path) -> None:
    """`brygga run` (and a reload, and `sync products`) load the config with load_checked."""
    with pytest.raises(ConfigError) as refused:
        load_checked(write(tmp_path, mode="ecom"), PluginHost())
    assert_names_the_key(str(refused.value))
    loaded = load_checked(write(tmp_path, mode="erp"), PluginHost())
    assert loaded.connections[0].erp.kind == "economic"


def test_sync_products_from_the_shop_is_refused_at_its_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, mode="ecom")
    for dry in ([], ["--dry-run"]):
        args = ["sync", "products", "-c", str(path), "--connection", "butiken", "--from", "shop"]
        assert main([*args, *dry]) == 2
        err = capsys.readouterr().err
        assert_names_the_key(err)
        assert "Traceback" not in err


async def test_sync_products_from_the_shop_in_erp_mode_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    """Mode ``erp`` needs no product group, but ``sync products --from shop`` copies the shop's
    catalog into e-conomic: refused with exit 2, the dry run as well, before e-conomic is
    asked anything (the real run used to fail every article)."""
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, catalog=True, connection={"mode": "erp"}
    ) as env:
        for dry_run in (True, False):
            out, err = io.StringIO(), io.StringIO()
            request = SyncRequest("demo", "shop", None, dry_run)
            code = await sync_products(env.loaded, request, http=env.http, out=out, err=err)
            assert code == 2, out.getvalue() + err.getvalue()
            assert_names_the_key(err.getvalue())
        assert env.erp.requests == []
        # the other way needs no group: e-conomic is read, the shop written
        out, err = io.StringIO(), io.StringIO()
        request = SyncRequest("demo", "erp", None, True)
        code = await sync_products(env.loaded, request, http=env.http, out=out, err=err)
        assert code == 0, out.getvalue() + err.getvalue()


def article(sku: str, rate: str | None) -> Article:
    return Article(
        sku=sku,
        name=f"Artikel {sku}",
        currency="SEK",
        price=Decimal("10.00"),
        vat_rate=None if rate is None else Decimal(rate),
        modified_at=AT,
    )


async def test_a_rate_product_groups_does_not_list_is_named_with_the_key_to_add(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    before = len(sim.requests)
    async with open_adapter(product_groups={"25": 1, "12": 2}) as adapter:
        for call in (adapter.put_article, adapter.preview_article):
            with pytest.raises(ConfigError) as refused:
                await call(article("MOMS-14", "14"), create=True, update=True)
            sentence = str(refused.value)
            assert "'MOMS-14'" in sentence and "14 % VAT" in sentence
            assert "[connection.erp] product_groups has no entry for 14 %" in sentence
            assert 'add "14" = <group number> to product_groups' in sentence
            assert "names none" not in sentence
        # an article without a VAT rate: product_groups cannot choose, product_group would
        with pytest.raises(ConfigError, match=r"no VAT rate.*product_group = <group number>"):
            await adapter.put_article(article("UTAN-MOMS", None), create=True, update=True)
        # a listed rate goes through (the rate is what decides)
        assert await adapter.put_article(article("MOMS-25", "25"), create=True, update=True) == (
            "created"
        )
    writes = [r for r in sim.requests[before:] if r[0] in WRITES]
    assert writes == [("POST", "/products")]  # MOMS-25 only
    assert sim.product("MOMS-14") is None and sim.product("MOMS-25") is not None


async def test_a_product_group_catches_the_rates_product_groups_does_not_list(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_groups={"12": 2}, product_group=1) as adapter:
        assert await adapter.preview_article(article("A-25", "25"), create=True, update=True) == (
            "created"
        )
        assert await adapter.put_article(article("A-25", "25"), create=True, update=True) == (
            "created"
        )
    product = sim.product("A-25")
    assert product is not None and product["productGroup"]["productGroupNumber"] == 1
