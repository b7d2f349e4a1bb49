"""The plugin's mappings, run the way brygga runs them: registered through a PluginHost."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from brygga.catalog import Article
from brygga.errors import NothingToDo, PluginError
from brygga.mappings import MappingContext, apply_mappings
from brygga.models import Customer, LineKind, Order, OrderLine, Register
from brygga.plugins import PluginHost

from brygga_sku_prefix import plugin

SE = MappingContext(connection="butiken", shop="se", erp="economic", register=Register.ORDERS)
NO = MappingContext(connection="butiken", shop="no", erp="economic", register=Register.ORDERS)
#: a product on its way from the ERP to shop "se", and one from shop "se" to the ERP
TO_SE = MappingContext.between(
    "butiken", Register.PRODUCTS, source="economic", target="se", erp="economic"
)
FROM_SE = MappingContext.between(
    "butiken", Register.PRODUCTS, source="se", target="economic", erp="economic"
)


def _article(name: str) -> Article:
    return Article(
        sku="KAFFE-500",
        name=name,
        currency="SEK",
        price=Decimal("89.00"),
        modified_at=datetime(2024, 5, 1, 10, tzinfo=UTC),
    )


def _order(tags: str = "") -> Order:
    now = datetime(2024, 5, 1, 10, tzinfo=UTC)
    line = OrderLine(sku="A1", quantity=Decimal(1), unit_price=Decimal(100), vat_rate=Decimal(25))
    freight = OrderLine(
        kind=LineKind.FREIGHT,
        sku="fraktavg",
        quantity=Decimal(1),
        unit_price=Decimal(49),
        vat_rate=Decimal(25),
    )
    return Order(
        shop_order_id="1001",
        created_at=now,
        modified_at=now,
        status="created",
        currency="SEK",
        customer=Customer(email="a@example.se"),
        lines=(line, freight),
        total=Decimal("186.25"),
        total_vat=Decimal("37.25"),
        extra={"tags": tags} if tags else {},
    )


@pytest.fixture
def host() -> Iterator[PluginHost]:
    host = PluginHost(entry_points=False, extra=[(plugin.PLUGIN_NAME, plugin)])
    yield host
    plugin.brygga_startup({})  # back to the defaults for the next test


def _configure(host: PluginHost, **options: Any) -> None:
    host.startup({plugin.PLUGIN_NAME: options})


def test_registers_two_order_mappings_and_a_products_mapping(host: PluginHost) -> None:
    assert host.plugins["sku_prefix"].mappings == [
        "skip-tagged-orders",
        "sku-prefix",
        "shop-product-names",
    ]
    registers = {m.name: m.register for m in host.mappings}
    assert registers["shop-product-names"] is Register.PRODUCTS
    assert {registers["skip-tagged-orders"], registers["sku-prefix"]} == {Register.ORDERS}


def test_products_to_a_shop_lose_the_name_prefix(host: PluginHost) -> None:
    _configure(host, name_prefix="WEB ")
    article = apply_mappings(_article("web Kaffe mörkrost"), host.mappings, TO_SE)
    assert article == _article("Kaffe mörkrost")  # only the name changes
    assert apply_mappings(_article("Kaffe"), host.mappings, TO_SE) == _article("Kaffe")
    # the way from a shop to the ERP is left alone
    assert apply_mappings(_article("WEB Kaffe"), host.mappings, FROM_SE).name == "WEB Kaffe"


def test_internal_articles_never_reach_a_shop(host: PluginHost) -> None:
    _configure(host, internal_mark="(intern)")
    with pytest.raises(NothingToDo, match="'shop-product-names': article KAFFE-500 is marked"):
        apply_mappings(_article("Hyllplan (INTERN)"), host.mappings, TO_SE)
    assert apply_mappings(_article("Hyllplan (intern)"), host.mappings, FROM_SE).name == (
        "Hyllplan (intern)"
    )


def test_prefixes_item_skus_only(host: PluginHost) -> None:
    _configure(host, prefix="SE-")
    order = apply_mappings(_order(), host.mappings, SE)
    assert [line.sku for line in order.lines] == ["SE-A1", "fraktavg"]


def test_prefix_is_not_applied_twice(host: PluginHost) -> None:
    _configure(host, prefix="SE-")
    once = apply_mappings(_order(), host.mappings, SE)
    assert apply_mappings(once, host.mappings, SE) == once


def test_skips_tagged_orders(host: PluginHost) -> None:
    _configure(host, prefix="SE-", skip_tag="No-ERP")
    with pytest.raises(NothingToDo, match="tagged 'No-ERP'"):
        apply_mappings(_order(tags="gift, no-erp "), host.mappings, SE)
    assert apply_mappings(_order(tags="gift"), host.mappings, SE).lines[0].sku == "SE-A1"


def test_only_the_configured_shops(host: PluginHost) -> None:
    _configure(host, prefix="SE-", shops=["se"])
    assert apply_mappings(_order(tags="no-erp"), host.mappings, NO).lines[0].sku == "A1"
    with pytest.raises(NothingToDo):
        apply_mappings(_order(tags="no-erp"), host.mappings, SE)


def test_tags_from_another_field(host: PluginHost) -> None:
    _configure(host, tag_field="custom_info1")
    tagged = msgspec.structs.replace(_order(), extra={"custom_info1": "no-erp"})
    with pytest.raises(NothingToDo):
        apply_mappings(tagged, host.mappings, SE)
    assert apply_mappings(_order(tags="no-erp"), host.mappings, SE) == _order(tags="no-erp")


def test_without_options_nothing_is_rewritten(host: PluginHost) -> None:
    _configure(host)
    assert apply_mappings(_order(), host.mappings, SE) == _order()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefx": "SE-"}, "unknown option 'prefx'"),
        ({"prefix": 5}, "prefix: expected a string"),
        ({"shops": "se"}, "shops: expected a list"),
    ],
)
def test_bad_options_are_refused(host: PluginHost, options: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        _configure(host, **options)


def test_entry_point_is_declared() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert pyproject["project"]["entry-points"]["brygga"] == {
        plugin.PLUGIN_NAME: "brygga_sku_prefix.plugin"
    }
