"""Plugin registration, config decoding, rate limit, and a money property over random orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starweb_support import open_starweb_adapter, starweb_config

from brygga.adapters import AdapterContext, Role, ShopAdapter
from brygga.clock import FakeClock
from brygga.documents import round_money
from brygga.models import Register
from brygga.plugins import PluginHost
from brygga_starweb.adapter import StarwebAdapter, StarwebConfig
from brygga_starweb.mapping import map_order
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.seed import SEED_CATALOG
from brygga_starweb.wire import decode_order


def test_registered_through_the_entry_point() -> None:
    host = PluginHost()
    assert host.plugins["starweb"].error == ""
    spec = host.adapters["starweb"]
    assert (spec.kind, spec.role, spec.plugin) == ("starweb", Role.SHOP, "starweb")
    assert spec.config_type is StarwebConfig
    caps = spec.capabilities
    catalog = {Register.PRODUCTS, Register.PRICES}
    assert spec.registers == (  # from its protocols
        {Register.ORDERS, *catalog},
        {Register.STATUS, *catalog, Register.STOCK, Register.PRICE_LISTS},
    )
    assert caps.variants and caps.price_lists and caps.campaign_price and caps.webhooks
    assert caps.rate_limit is None  # Starweb publishes none
    assert any("modified-since" in note for note in caps.notes)
    assert any("not signed" in note for note in caps.notes)


def test_factory_and_simulator_from_the_spec() -> None:
    spec = PluginHost().adapters["starweb"]
    assert spec.simulator is not None
    sim = spec.simulator(seed=3)
    assert isinstance(sim, StarwebSimulator) and callable(sim)
    adapter = spec.factory(starweb_config(sim), AdapterContext(connection="c", instance="se"))
    assert isinstance(adapter, StarwebAdapter)
    assert isinstance(adapter, ShopAdapter)


def test_config_defaults_and_secrets_stay_hidden() -> None:
    sim = StarwebSimulator()
    config = starweb_config(sim)
    assert (config.kind, config.service_name, config.page_limit) == ("starweb", "brygga", 200)
    assert config.rate_limit is None
    assert sim.client_secret not in repr(config)
    assert config.client_secret.reveal() == sim.client_secret


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"base_url": "butiken.se/api/v2"}, "base_url"),
        ({"service_name": "x" * 41}, "service_name"),
        ({"page_limit": 0}, "page_limit"),
        ({"rate_limit": {"requests": 5}}, "per_seconds"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_config_is_strict(override: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        starweb_config(StarwebSimulator(), **override)


@pytest.mark.anyio
async def test_default_rate_limit_is_ten_per_second() -> None:
    clock, limiter_clock = FakeClock(), FakeClock()
    sim = StarwebSimulator(clock=clock)
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")

    async def fetch(rate_limit: dict[str, Any] | None) -> float:
        start = limiter_clock.monotonic()
        overrides = {"rate_limit": rate_limit} if rate_limit else {}
        async with open_starweb_adapter(
            sim, clock, limiter_clock=limiter_clock, **overrides
        ) as adapter:
            for _ in range(20):
                await adapter.fetch_order(order_id)
        return limiter_clock.monotonic() - start

    # 21 requests at (just under) 10/s need at least two full windows of waiting
    assert await fetch(None) >= 2.0
    # a raised limit waits only for the new limiter's conservative first window
    assert await fetch({"requests": 1000, "per_seconds": 1}) == 1.0


@pytest.mark.anyio
async def test_concurrent_walks_on_one_adapter() -> None:
    clock = FakeClock()
    sim = StarwebSimulator(clock=clock, page_size=3)
    for n in range(10):
        sim.place_order(lines=[("BOK-01", 1)], email=f"{n}@example.se")
        clock.advance(30)
    results: list[int] = []
    async with open_starweb_adapter(sim, clock) as adapter:

        async def walk() -> None:
            since = clock.now().replace(year=2025)
            changes = [c async for c in adapter.changed_orders(since, clock.now())]
            results.append(len(changes))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(walk)
    assert results == [10, 10, 10, 10]
    assert sim.tokens_issued == 1


_ENCODE = msgspec.json.Encoder(decimal_format="number")
_SKUS = [a.sku for a in SEED_CATALOG]
_MONEY = st.decimals(min_value=0, max_value=500, places=2)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(_SKUS), st.integers(min_value=1, max_value=9)),
        min_size=1,
        max_size=6,
    ),
    percent=st.decimals(min_value=0, max_value=60, places=1),
    freight=_MONEY,
    fee=_MONEY,
    order_discount=_MONEY,
)
def test_mapped_orders_keep_the_shops_money(
    lines: list[tuple[str, int]],
    percent: Decimal,
    freight: Decimal,
    fee: Decimal,
    order_discount: Decimal,
) -> None:
    sim = StarwebSimulator()
    order_id = sim.place_order(
        lines=lines,
        email="p@example.se",
        discount_percent=percent,
        freight=freight,
        payment_fee=fee,
        order_discount=order_discount,
    )
    wire = sim.order(order_id).wire(sim.state, frozenset({"items", "status"}))
    order = map_order(decode_order(_ENCODE.encode({"data": wire}), order_id), "created")
    nets = [round_money(line.net_amount) for line in order.lines]
    vat = sum(
        (round_money(n * line.vat_rate / 100) for n, line in zip(nets, order.lines, strict=True)),
        Decimal(0),
    )
    assert (sum(nets, Decimal(0)) + vat, vat) == sim.order_total(order_id)
    assert (order.total, order.total_vat) == sim.order_total(order_id)
    assert all(line.discount >= 0 for line in order.lines)
