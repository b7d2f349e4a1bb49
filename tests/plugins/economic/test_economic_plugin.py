"""The e-conomic plugin registers through entry points; config, wire helpers and filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from economic_support import BASE_URL, economic_config

from brygga.adapters import AdapterContext, ErpAdapter, LazySimulator, Role
from brygga.http.client import HttpContext
from brygga.models import DocumentType, OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.secrets import Secret
from brygga_economic.adapter import EconomicAdapter, EconomicConfig
from brygga_economic.api import describe_errors
from brygga_economic.simulator import EconomicSimulator, seed
from brygga_economic.simulator.filter import FilterError, parse_filter
from brygga_economic.wire import (
    decode_product_number,
    encode_product_number,
    escape_filter_value,
)


def test_plugin_registers_the_economic_adapter() -> None:
    host = PluginHost()
    spec = host.adapters["economic"]
    assert spec.role is Role.ERP
    assert spec.plugin == "economic"
    assert spec.config_type is EconomicConfig
    assert isinstance(spec.simulator, LazySimulator)
    assert spec.simulator.load() is EconomicSimulator
    caps = spec.capabilities
    assert caps.document_types == {DocumentType.INVOICE, DocumentType.ORDER}
    # from its protocols: catalog read and written, stock read only (brygga_economic.catalog),
    # order status read (brygga_economic.status)
    assert spec.registers == (
        {Register.PRODUCTS, Register.PRICES, Register.STOCK, Register.STATUS},
        {Register.ORDERS, Register.PRODUCTS, Register.PRICES},
    )
    # e-conomic has no delivered or partial-delivery state
    assert caps.status_events == {OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED}
    assert not caps.campaign_price  # e-conomic products have no campaign price
    assert not caps.variants and not caps.price_lists and caps.lookup_by_reference
    assert caps.rate_limit is not None
    assert any("inventory module" in note for note in caps.notes)
    assert host.adapter("economic", Role.ERP, where="test") is spec


@pytest.mark.anyio
async def test_factory_builds_an_erp_adapter_from_the_simulator_config() -> None:
    spec = PluginHost().adapters["economic"]
    assert spec.simulator is not None
    sim = spec.simulator()
    config = economic_config(sim)
    context = AdapterContext(
        connection="c", instance="economic", http=HttpContext(transport=httpx.ASGITransport(sim))
    )
    adapter = spec.factory(config, context)
    try:
        assert isinstance(adapter, EconomicAdapter)
        assert isinstance(adapter, ErpAdapter)
        assert await adapter.find_document("none", DocumentType.INVOICE) is None
    finally:
        await adapter.aclose()


def test_config_defaults_match_the_simulator_seed() -> None:
    config = economic_config(EconomicSimulator(seed_catalog=False))
    assert config.base_url == BASE_URL
    assert isinstance(config.app_secret_token, Secret)
    assert config.layout in dict(seed.LAYOUTS)
    assert config.payment_terms in {t[0] for t in seed.PAYMENT_TERMS}
    assert config.vat_zone == 1 and config.customer_group == 1
    assert config.page_size == 1000 and config.vat_articles
    default = msgspec.convert(
        {"app_secret_token": "a", "agreement_grant_token": "b"},
        EconomicConfig,
        dec_hook=lambda t, v: Secret(v),
    )
    assert default.base_url == "https://restapi.e-conomic.com"
    assert default.kind == "economic"


def test_config_never_shows_tokens() -> None:
    sim = EconomicSimulator(seed_catalog=False)
    config = economic_config(sim, rate_limit={"requests": 5, "per_seconds": 1})
    assert sim.agreement_grant_token not in repr(config)
    assert sim.app_secret_token not in repr(config)
    assert config.rate_limit is not None and config.rate_limit.requests == 5


@pytest.mark.parametrize("bad", [{"page_size": 5000}, {"layuot": 19}])
def test_config_is_strict(bad: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        economic_config(EconomicSimulator(seed_catalog=False), **bad)


# --- wire helpers --------------------------------------------------------------------------


def test_self_link_encoding_matches_the_documented_example() -> None:
    encoded = encode_product_number("My Awesome Product_Discount5%")
    assert encoded == "My_9_Awesome_9_Product_8_Discount5_3_"
    assert decode_product_number(encoded) == "My Awesome Product_Discount5%"


@pytest.mark.parametrize(
    "number", ["KAFFE-500", "a<b>c*d%e:f&g/h\\i_j k?l.m#n+o", "A_1_", "Tröja", "_8_"]
)
def test_self_link_encoding_round_trips(number: str) -> None:
    from urllib.parse import unquote

    assert decode_product_number(unquote(encode_product_number(number))) == number


def test_filter_escaping_round_trips_through_the_parser() -> None:
    value = "a$b(c)d*e,f[g]h"
    escaped = escape_filter_value(value)
    assert escaped == "a$$b$(c$)d$*e$,f$[g$]h"
    predicate = parse_filter(f"name$eq:{escaped}", {"name"})
    assert predicate({"name": value.upper()})
    assert not predicate({"name": "a$b(c)d*e,f[g]"})


def test_filter_like_wildcards_and_escaped_star() -> None:
    starts = parse_filter("name$like:kaf*", {"name"})
    assert starts({"name": "Kaffe"}) and not starts({"name": "Mokaffe"})
    literal = parse_filter("name$like:5$*", {"name"})
    assert literal({"name": "x5*y"}) and not literal({"name": "x5y"})


def test_filter_numbers_and_precedence() -> None:
    predicate = parse_filter("a$eq:1$or:a$eq:2$and:b$eq:3", {"a", "b"})
    assert predicate({"a": 1, "b": 0})
    assert not predicate({"a": 2, "b": 0})
    assert predicate({"a": Decimal("2.0"), "b": 3})


def test_filter_rejects_unfilterable_and_broken_input() -> None:
    with pytest.raises(FilterError, match="not filterable"):
        parse_filter("secret$eq:x", {"name"})
    for broken in ("", "name", "name$eq:a$b", "name$eq:(a"):
        with pytest.raises(FilterError):
            parse_filter(broken, {"name"})


def test_describe_errors_names_rows_and_fields() -> None:
    errors = {
        "currency": {"errors": [{"errorCode": "E06000", "message": "x.", "value": "ZUL"}]},
        "lines": [
            {
                "arrayIndex": 1,
                "product": {"errors": [{"errorCode": "E04500", "message": "y."}]},
            }
        ],
        "recipient": {"vatZone": {"errors": [{"message": "z."}]}},
    }
    assert describe_errors(errors) == [
        "currency: x. (E06000, value 'ZUL')",
        "row 2 product: y. (E04500)",
        "recipient.vatZone: z.",
    ]
