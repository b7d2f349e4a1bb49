"""Variant names from a shop into an ERP without variants (QA finding: TROJA-S, -M and -L all
became "Tröja" in e-conomic, and three products all named "Tröja" in the next shop).

The rule (brygga.catalog): a variant that becomes its own ERP article is named with the
product's name and the variant's, "Tröja S" (:func:`variant_title`); a shop with variants gets
the product's name back with :func:`product_title`. Both are idempotent, so a round trip
(shop -> ERP -> shop -> ERP, or ``combo``'s products one way and prices the other) never
grows a name. e-conomic has no variants (reference/erp-apis.md §1.10; DESIGN §1: "no variant
structure"), so each variant is a product of its own there. Starweb names a variant by its
attribute values (reference/shop-apis.md §2, ``attributeValueLinks``); PrestaShop's attribute
values are not read by brygga, so a combination's variant name is what its reference adds to
the product's (``TROJA-S`` of ``TROJA``: "S"; the adapter's documented choice).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.catalog import product_title, variant_title
from brygga.clock import FakeClock
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

SIZES = {"TROJA-S": "Tröja S", "TROJA-M": "Tröja M", "TROJA-L": "Tröja L"}
#: new e-conomic products need a group per VAT rate (reference/erp-apis.md §1.6)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def opened(tmp_path: Path, shop_kind: str, mode: str) -> AsyncIterator[SimulatedConnection]:
    """The shop's seeded catalog (Tröja with sizes S/M/L) and an e-conomic without the sizes."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind=shop_kind,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock},
        erp_config=GROUPS,
        catalog=True,
        connection={"mode": mode},
    ) as env:
        for sku in SIZES:
            env.erp.remove_article(sku)
        yield env


async def sync(env: SimulatedConnection, side: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    request = SyncRequest("demo", side, None, False)  # type: ignore[arg-type]
    code = await sync_products(env.loaded, request, http=env.http, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def count(output: str, label: str) -> int:
    """The number after ``label`` in the summary (e.g. "updated")."""
    for line in output.splitlines():
        words = line.split()
        if words[:1] == [label] and len(words) > 1 and words[1].isdigit():
            return int(words[1])
    raise AssertionError(f"no {label!r} line in:\n{output}")


def erp_names(env: SimulatedConnection) -> dict[str, str]:
    names = {}
    for sku in SIZES:
        product = env.erp.product(sku)
        assert product is not None, f"{sku} is not in e-conomic"
        names[sku] = product["name"]
    return names


def shop_product_name(env: SimulatedConnection) -> str:
    """The name of the shop's product that holds the sizes."""
    shop: Any = env.shop
    if hasattr(shop, "catalog"):  # Starweb
        names = {
            p.name for p in shop.catalog.products.values() for v in p.variants if v.sku in SIZES
        }
    else:  # PrestaShop
        products = shop.state.table("products")
        ids = {
            c["id_product"]
            for c in shop.state.table("combinations").values()
            if c["reference"] in SIZES
        }
        names = set()
        for pid in ids:
            name = products[int(pid)]["name"]
            names.add(str(next(iter(name.values())) if isinstance(name, dict) else name))
    assert len(names) == 1, names
    return names.pop()


async def _run(env: SimulatedConnection, flow: Flow, register: str) -> list[ItemState]:
    clock = env.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    for discoverer in flow.discoverers:
        if discoverer.register == register:
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    return await env.drain(flow, register)


def test_the_rule_names_a_variant_once_and_gives_the_product_back() -> None:
    assert variant_title("Tröja", "S") == "Tröja S"
    assert variant_title("Tröja S", "S") == "Tröja S"  # applied twice: no "Tröja S S"
    assert variant_title("Tröja s", "S") == "Tröja s"
    assert variant_title("Tröja", "Blå / M") == "Tröja Blå / M"
    assert variant_title("Tröja", "") == "Tröja"
    assert variant_title("", "S") == "S"
    assert variant_title("Mössa", "S") == "Mössa S"  # "S" inside a word is no variant name
    assert product_title("Tröja S", "S") == "Tröja"
    assert product_title("Tröja", "S") == "Tröja"
    assert product_title("Tröja Blå / M", "Blå / M") == "Tröja"
    assert product_title("S", "S") == "S"
    for product, variant in (("Tröja", "S"), ("Byxa", "Storlek: M"), ("Keps", "")):
        flat = variant_title(product, variant)
        assert product_title(flat, variant) == product
        assert variant_title(product_title(flat, variant), variant) == flat


@pytest.mark.parametrize("shop_kind", ["starweb", "prestashop"])
async def test_sync_from_shop_names_each_variant_with_its_size(
    tmp_path: Path, shop_kind: str
) -> None:
    async with opened(tmp_path, shop_kind, "ecom") as env:
        code, output = await sync(env, "shop")
        assert code == 0, output
        assert erp_names(env) == SIZES
        code, output = await sync(env, "shop")  # again: nothing to change, nothing grows
        assert code == 0, output
        assert erp_names(env) == SIZES
        assert count(output, "updated") == 0, output


@pytest.mark.parametrize("shop_kind", ["starweb", "prestashop"])
async def test_a_round_trip_through_the_erp_does_not_grow_the_names(
    tmp_path: Path, shop_kind: str
) -> None:
    """combo: products shop -> ERP by the daemon, prices ERP -> shop (which moves the shop's
    products, so they are read again), then the ERP's catalog copied back to the shop and the
    shop's to the ERP once more: the ERP keeps "Tröja S", the shop's product stays "Tröja"."""
    async with opened(tmp_path, shop_kind, "combo") as env:
        product = shop_product_name(env)
        assert product == "Tröja"
        flow = env.flow()
        assert await _run(env, flow, "products")
        failed = await env.store.items.query(states=[ItemState.FAILED])
        assert [i.last_error for i in failed if i.external_id in SIZES] == []
        assert erp_names(env) == SIZES
        env.erp.set_price("TROJA-M", Decimal("309.00"))  # a price from the ERP moves the shop
        await _run(env, flow, "prices")
        await _run(env, flow, "products")
        assert erp_names(env) == SIZES
        code, output = await sync(env, "erp")  # the names come back to the shop
        assert (code, count(output, "updated"), count(output, "failed")) == (0, 0, 0), output
        assert shop_product_name(env) == "Tröja"
        code, output = await sync(env, "shop")
        assert (code, count(output, "updated"), count(output, "failed")) == (0, 0, 0), output
        assert erp_names(env) == SIZES
        await _run(env, flow, "products")
        assert erp_names(env) == SIZES
        assert shop_product_name(env) == "Tröja"
