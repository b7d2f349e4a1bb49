"""The adapter relies on no list order it did not ask for, and on no case-sensitive match.

What PrestaShop documents (devdocs.prestashop-project.org, Webservice > cheat sheet, "List
options"; reference/shop-apis.md §3.4):

- ``sort=[field_ASC,field2_DESC]`` orders a list; without it "the order is whatever the
  database returns" (§3.4), so the simulator shuffles such a list (seeded per simulator).
- ``filter[field]=[John]`` is a "Literal value (not case sensitive)": PrestaShop turns it
  into SQL ``=`` on a MySQL ``_ci`` column (PAD SPACE: trailing spaces are ignored too), so
  ``filter[reference]=[ab-1]`` also finds ``AB-1`` and ``AB-1 ``.
- ``stock_availables`` carry ``id_shop`` and ``id_shop_group`` (§3.6 [PS7]): in multishop a
  product has a row per shop, or one per shop group that shares its stock (``id_shop`` 0).

Each adapter test runs over several simulator seeds (several list orders); on the old adapter
some seed picked the wrong row.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from prestashop_support import open_adapter, raw_client

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import DocumentRef, DocumentType
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio

SEEDS = range(8)


def _writes(sim: PrestashopSimulator) -> list[tuple[str, str]]:
    return [r for r in sim.requests if r[0] != "GET"]


# -- the simulator --------------------------------------------------------------------------


async def test_a_list_without_sort_comes_in_no_fixed_order(clock: FakeClock) -> None:
    sim = PrestashopSimulator(clock=clock, seed=3)
    async with raw_client(sim) as client:
        orders = []
        for _ in range(6):
            body = (await client.get("products", params={"display": "[id]"})).json()
            orders.append([int(p["id"]) for p in body["products"]])
        ids = sorted(orders[0])
        assert all(sorted(o) == ids for o in orders)
        assert any(o != ids for o in orders) and len({tuple(o) for o in orders}) > 1
        sorted_body = (
            await client.get("products", params={"display": "[id]", "sort": "[id_ASC]"})
        ).json()
        assert [int(p["id"]) for p in sorted_body["products"]] == ids
    again = PrestashopSimulator(clock=clock, seed=3)  # the same seed: the same orders
    async with raw_client(again) as client:
        body = (await client.get("products", params={"display": "[id]"})).json()
    assert [int(p["id"]) for p in body["products"]] == orders[0]


@pytest.mark.parametrize("asked", ["kaffe-500", "Kaffe-500", "KAFFE-500   "])
async def test_a_literal_filter_is_not_case_sensitive_and_pads_spaces(
    sim: PrestashopSimulator, asked: str
) -> None:
    async with raw_client(sim) as client:
        body = (
            await client.get(
                "products", params={"display": "[id,reference]", "filter[reference]": f"[{asked}]"}
            )
        ).json()
    assert [p["reference"] for p in body["products"]] == ["KAFFE-500"]


async def test_trailing_spaces_in_the_row_match_too(sim: PrestashopSimulator) -> None:
    sim.state.add_product("AB-1 ", "Padded", Decimal(10), Decimal(25))
    async with raw_client(sim) as client:
        body = (
            await client.get(
                "products", params={"display": "[reference]", "filter[reference]": "[ab-1]"}
            )
        ).json()
    assert [p["reference"] for p in body["products"]] == ["AB-1 "]


# -- export mark: the latest message by id --------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
async def test_the_export_mark_read_is_the_latest_message(clock: FakeClock, seed: int) -> None:
    sim = PrestashopSimulator(clock=clock, seed=seed)
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        for number in ("501", "502", "503"):
            document = DocumentRef(document_type=DocumentType.INVOICE, number=number, reference="r")
            await adapter.mark_exported(order_id, document)
        order = await adapter.fetch_order(order_id)
    assert order.exported_as == "503"
    query = next(q for m, p, q in sim.ws.log if p == "/api/messages" and m == "GET")
    assert "sort=%5Bid_ASC%5D" in query


# -- the tracking number: the order's current carrier's row --------------------------------


@pytest.mark.parametrize("seed", SEEDS)
async def test_the_tracking_number_goes_to_the_current_carriers_row(
    clock: FakeClock, seed: int
) -> None:
    """The merchant changed the carrier: a second ``order_carriers`` row for carrier 1, and the
    order's ``id_carrier`` is 1 now. The tracking number belongs on that row."""
    sim = PrestashopSimulator(clock=clock, seed=seed)
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    new_row = sim.add_order_carrier(order_id, 1)
    sim.order(order_id)["id_carrier"] = "1"
    async with open_adapter(sim) as adapter:
        assert await adapter.set_status(
            order_id, "shipped", email=False, capture=False, tracking_number="JJSE123"
        )
        again = await adapter.set_status(
            order_id, "shipped", email=False, capture=False, tracking_number="JJSE123"
        )
    assert again is False
    tracking = {int(c["id"]): c["tracking_number"] for c in sim.order_carriers(order_id)}
    assert tracking[new_row] == "JJSE123"
    assert [t for row, t in tracking.items() if row != new_row] == [""]


async def test_two_rows_for_the_current_carrier_are_refused_naming_them(
    sim: PrestashopSimulator,
) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    first = sim.order_carriers(order_id)[0]["id"]
    second = sim.add_order_carrier(order_id, 2)  # the order's carrier is 2 as well
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.set_status(
                order_id, "shipped", email=False, capture=False, tracking_number="JJSE123"
            )
    assert f"{first}, {second}" in str(raised.value) and "carrier 2" in str(raised.value)
    assert _writes(sim) == []


# -- stock: the configured shop's one row ---------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
async def test_stock_goes_to_the_configured_shops_row(clock: FakeClock, seed: int) -> None:
    sim = PrestashopSimulator(clock=clock, seed=seed, shops=(1, 2))
    own = sim.add_stock_row("KAFFE-500", id_shop=2, quantity=5)
    sim.add_stock_row("KAFFE-500", id_shop=0, id_shop_group=1, quantity=7)  # another group's
    async with open_adapter(sim, id_shop=2) as adapter:
        assert await adapter.put_stock("KAFFE-500", Decimal(12)) == "updated"
        assert await adapter.put_stock("KAFFE-500", Decimal(12)) == "unchanged"
    quantities = {int(r["id"]): r["quantity"] for r in sim.stock_rows("KAFFE-500")}
    assert quantities[own] == "12"
    assert sorted(q for row, q in quantities.items() if row != own) == ["100", "7"]


@pytest.mark.parametrize("seed", SEEDS)
async def test_stock_of_a_group_sharing_its_stock_goes_to_the_group_row(
    clock: FakeClock, seed: int
) -> None:
    sim = PrestashopSimulator(clock=clock, seed=seed, shops=(1, 2))
    sim.add_stock_row("KAFFE-500", id_shop=2, quantity=5)
    shared = sim.add_stock_row("KAFFE-500", id_shop=0, id_shop_group=3, quantity=7)
    async with open_adapter(sim, id_shop=2, id_shop_group=3) as adapter:
        assert await adapter.put_stock("KAFFE-500", Decimal(4)) == "updated"
    quantities = {int(r["id"]): r["quantity"] for r in sim.stock_rows("KAFFE-500")}
    assert quantities[shared] == "4"
    assert sorted(q for row, q in quantities.items() if row != shared) == ["100", "5"]


@pytest.mark.parametrize("seed", SEEDS)
async def test_several_stock_rows_without_a_shop_are_refused_naming_the_sku(
    clock: FakeClock, seed: int
) -> None:
    sim = PrestashopSimulator(clock=clock, seed=seed, shops=(1, 2))
    sim.add_stock_row("KAFFE-500", id_shop=2, quantity=5)
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=r"'KAFFE-500'.*2 stock rows.*id_shop"):
            await adapter.put_stock("KAFFE-500", Decimal(12))
    assert _writes(sim) == []
    assert sorted(r["quantity"] for r in sim.stock_rows("KAFFE-500")) == ["100", "5"]


# -- references compared exactly on our side -----------------------------------------------


@pytest.mark.parametrize("sku", ["kaffe-500", "KAFFE-500 ", "Kaffe-500"])
async def test_stock_for_a_reference_differing_in_case_or_spaces_finds_nothing(
    sim: PrestashopSimulator, sku: str
) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match="no product or combination with this reference"):
            await adapter.put_stock(sku, Decimal(3))
    assert _writes(sim) == [] and sim.stock("KAFFE-500") == 100


async def test_the_reference_that_matches_exactly_is_the_one_written(
    sim: PrestashopSimulator,
) -> None:
    """Two products whose references differ only in case: each SKU is its own product."""
    sim.state.add_product("kaffe-500", "Kaffe, liten bokstav", Decimal(80), Decimal(25))
    async with open_adapter(sim) as adapter:
        assert await adapter.put_stock("kaffe-500", Decimal(3)) == "updated"
        upper = await adapter.fetch_article("KAFFE-500")
        lower = await adapter.fetch_article("kaffe-500")
    assert sim.stock("kaffe-500") == 3 and sim.stock("KAFFE-500") == 100
    assert upper is not None and upper.price == Decimal("89.00")
    assert lower is not None and lower.price == Decimal("80.00")


@pytest.mark.parametrize("sku", ["troja-s", "TROJA-S "])
async def test_an_article_differing_in_case_is_not_found(
    sim: PrestashopSimulator, sku: str
) -> None:
    async with open_adapter(sim) as adapter:
        assert await adapter.fetch_article(sku) is None
        assert await adapter.fetch_article("TROJA-S") is not None


# -- order states: the same names whatever order they come in -------------------------------


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_repeated_state_name_is_suffixed_by_the_later_id(
    clock: FakeClock, seed: int
) -> None:
    sim = PrestashopSimulator(clock=clock, seed=seed)
    sim.state.table("order_states")[20] = dict(sim.state.get("order_states", 4), id="20")
    async with open_adapter(sim) as adapter:
        statuses = await adapter.order_statuses()
    assert statuses[:3] == ["awaiting-check-payment", "payment-accepted", "processing-in-progress"]
    assert "shipped" in statuses and statuses[-1] == "shipped-20"
