"""contrib/plugin-template: its module, loaded by path, works through brygga's mapping runner;
a copy of it installs against a wheel of this checkout and passes its own tests and mypy."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import msgspec
import pytest
from packaging_support import ROOT, brygga_wheel, copy_tree, run

from brygga.errors import NothingToDo, PluginError
from brygga.mappings import MappingContext, apply_mappings
from brygga.models import Customer, LineKind, Order, OrderLine, Register
from brygga.plugins import PluginHost

TEMPLATE = ROOT / "contrib" / "plugin-template"
MODULE_NAME = "brygga_plugin_template_under_test"
CONTEXT = MappingContext(connection="butiken", shop="se", erp="economic", register=Register.ORDERS)


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The template's plugin module, imported from its file (the template is not installed)."""
    spec = importlib.util.spec_from_file_location(
        MODULE_NAME, TEMPLATE / "src" / "brygga_sku_prefix" / "plugin.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, MODULE_NAME, module)
    spec.loader.exec_module(module)
    yield module


def _order(tags: str = "") -> Order:
    now = datetime(2024, 5, 1, 10, tzinfo=UTC)
    return Order(
        shop_order_id="1001",
        created_at=now,
        modified_at=now,
        status="created",
        currency="SEK",
        customer=Customer(email="a@example.se"),
        lines=(
            OrderLine(sku="A1", quantity=Decimal(2), unit_price=Decimal(50), vat_rate=Decimal(25)),
            OrderLine(
                kind=LineKind.FREIGHT,
                sku="fraktavg",
                quantity=Decimal(1),
                unit_price=Decimal(49),
                vat_rate=Decimal(25),
            ),
        ),
        total=Decimal("186.25"),
        total_vat=Decimal("37.25"),
        extra={"custom_info1": tags} if tags else {},
    )


def _host(template: ModuleType, **options: object) -> PluginHost:
    host = PluginHost(entry_points=False, extra=[("sku_prefix", template)])
    host.startup({"sku_prefix": dict(options)})
    return host


def test_template_declares_its_entry_point() -> None:
    pyproject = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["brygga"]
    assert entry_points == {"sku_prefix": "brygga_sku_prefix.plugin"}
    module_path = entry_points["sku_prefix"].replace(".", "/") + ".py"
    assert (TEMPLATE / "src" / module_path).is_file()
    assert "brygga" in " ".join(pyproject["project"]["dependencies"])
    assert (TEMPLATE / "README.md").is_file()
    assert list((TEMPLATE / "tests").glob("test_*.py")), "the template ships its own tests"


def test_template_rewrites_skus_through_apply_mappings(template: ModuleType) -> None:
    host = _host(template, prefix="SE-", tag_field="custom_info1")
    assert host.plugins["sku_prefix"].mappings == [
        "skip-tagged-orders",
        "sku-prefix",
        "shop-product-names",
    ]
    order = apply_mappings(_order(), host.mappings, CONTEXT)
    assert [line.sku for line in order.lines] == ["SE-A1", "fraktavg"]
    assert order.lines[0].net_amount == Decimal(100), "only the SKU changes"
    assert msgspec.structs.replace(order, lines=_order().lines) == _order()


def test_template_skips_tagged_orders(template: ModuleType) -> None:
    host = _host(template, prefix="SE-", skip_tag="no-erp", tag_field="custom_info1")
    with pytest.raises(NothingToDo) as info:
        apply_mappings(_order(tags="Gift, NO-ERP"), host.mappings, CONTEXT)
    assert "skip-tagged-orders" in str(info.value)
    assert "order 1001" in str(info.value)
    assert apply_mappings(_order(tags="gift"), host.mappings, CONTEXT).lines[0].sku == "SE-A1"


def test_template_refuses_bad_options(template: ModuleType) -> None:
    with pytest.raises(PluginError, match="unknown option 'prefx'"):
        _host(template, prefx="SE-")


def test_a_copy_of_the_template_installs_against_a_brygga_wheel_and_passes_its_checks(
    tmp_path: Path,
) -> None:
    """The steps of the template's README ("Develop"): a wheel of brygga by one command, the
    wheel and the plugin into a fresh venv, then the plugin's own pytest and mypy --strict."""
    wheel = brygga_wheel(tmp_path)
    plugin = copy_tree(TEMPLATE, tmp_path / "my-plugin")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    constraints = ROOT / "constraints.txt"
    run(
        [python, "-m", "pip", "install", "--quiet", "-c", constraints, wheel, "-e", ".[dev]"],
        cwd=plugin,
    )
    run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=plugin)
    assert "Success" in run([python, "-m", "mypy"], cwd=plugin)
    listing = run([venv / "bin" / "brygga", "plugins"], cwd=plugin)
    assert any("sku_prefix" in line and "loaded" in line for line in listing.splitlines()), listing
    licences = run(
        [
            python,
            "-c",
            "import json, importlib.metadata as m; print(json.dumps("
            "{d: m.metadata(d)['License-Expression'] for d in ('brygga', 'brygga-sku-prefix')}))",
        ],
        cwd=tmp_path,  # not a source folder, whose *.egg-info would answer instead
    )
    assert json.loads(licences) == {"brygga": "Apache-2.0", "brygga-sku-prefix": "Apache-2.0"}
