"""The adapter on the Query and Connect fields as Norce documents them: orders keyed by
``QuotationId``, the ERP number as ``OrderNo``, ``ErpOrderNo`` never null, ``ApplicationId`` on
every Query page, ids in SKU rows, and the channel checked on brygga's side."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from norce_support import START, norce_config, open_adapter

from brygga.accountstate import MemoryAdapterState
from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.models import DocumentRef, DocumentType
from brygga.testing.simulators import Fault
from brygga_norce.adapter import NorceAdapter
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

FAR = (START.replace(year=2000), START.replace(year=2100))
SEND = ("POST", "/commerce/connect/4.0/Order/SendOrderStatus")


async def _ids(adapter: NorceAdapter) -> list[str]:
    return [c.shop_order_id async for c in adapter.changed_orders(*FAR)]


def _doc(number: str) -> DocumentRef:
    return DocumentRef(document_type=DocumentType.ORDER, number=number, reference="r")


async def _push(adapter: NorceAdapter, sim: NorceSimulator, ref: str) -> None:
    body = msgspec.json.encode(sim.order_request(ref))
    await adapter.accept_push(body, {"Content-Type": "application/json"})


def _camel(row: dict[str, Any]) -> None:
    """The row as the Query 3.0 reference spells it (camelCase)."""
    for key in list(row):
        value = row.pop(key)
        if isinstance(value, list):
            value = [{k[:1].lower() + k[1:]: v for k, v in item.items()} for item in value]
        elif isinstance(value, dict):
            value = {k[:1].lower() + k[1:]: v for k, v in value.items()}
        row[key[:1].lower() + key[1:]] = value


async def test_an_order_never_pushed_is_found_by_its_quotation_id(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """docs.norce.io/api-reference/query/queryorders/openapi/orders/orders.md lists
    "`QuotationId` (integer) QuotationId. Nullable." and no basket id field; …/query/openapi/
    order: "quotationId … The quotation identifier" (the basket id a push carries as
    ClientOrderRef). The catch-up finds the order and reads it by QuotationId."""
    ref = sim.place_order(lines=[("KAFFE-500", 2)], email="q@example.se")
    async with open_adapter(sim, clock) as adapter:
        assert await _ids(adapter) == [ref]
        order = await adapter.fetch_order(ref)
    assert (order.shop_order_id, order.lines[0].quantity, order.exported_as) == (ref, 2, "")


async def test_camel_case_query_rows_are_read(sim: NorceSimulator, clock: FakeClock) -> None:
    """The Query 2.0 reference shows PascalCase (``QuotationId``, …/queryorders/openapi/orders/
    orders.md), the 3.0 reference camelCase (``quotationId``, …/query/openapi/order): both
    are read."""
    ref = sim.place_order(lines=[("TE-100", 3)], email="c@example.se")
    sim.mangle_order(ref, _camel)
    async with open_adapter(sim, clock) as adapter:
        assert await _ids(adapter) == [ref]
        assert (await adapter.fetch_order(ref)).lines[0].quantity == 3
        await adapter.mark_exported(ref, _doc("ERP-5"))
        await adapter.mark_exported(ref, _doc("ERP-5"))
        assert (await adapter.fetch_order(ref)).exported_as == "ERP-5"
    assert sim.requests.count(SEND) == 1


async def test_the_erp_number_is_read_back_from_order_no(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """…/query/openapi/order: "orderNo … The order number, commonly same as quotation id
    unless overriden from the ERP confirmation response". An ERP number set elsewhere (no
    record in brygga's state) is read from OrderNo, so the mark is not sent again."""
    ref = sim.place_order(lines=[("TE-100", 1)], email="o@example.se")
    sim.state.orders[int(ref)].erp_order_no = "ERP-9"
    async with open_adapter(sim, clock) as adapter:
        assert (await adapter.fetch_order(ref)).exported_as == "ERP-9"
        await adapter.mark_exported(ref, _doc("ERP-9"))
    assert sim.requests.count(SEND) == 0


async def test_status_writes_carry_the_erp_number_never_null(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """docs.norce.io/api-reference/connect/orderservice/nc-latest/operation/SendOrderStatus:
    "ErpOrderNo required string, ERP order number. Used for order matching." The number
    brygga wrote back is kept in the account state, so a later status write (another adapter
    instance, after a restart) carries it; an order brygga never marked carries Norce's own
    OrderNo, never null."""
    state = MemoryAdapterState()
    ref = sim.place_order(lines=[("TE-100", 1)], email="s@example.se")
    other = sim.place_order(lines=[("TE-100", 1)], email="t@example.se")
    async with open_adapter(sim, clock, state) as adapter:
        await adapter.mark_exported(ref, _doc("ERP-42"))
    async with open_adapter(sim, clock, state) as adapter:
        assert await adapter.set_status(ref, "Delivered", email=False, capture=False)
        assert await adapter.set_status(other, "Delivered", email=False, capture=False)
    assert [b["ErpOrderNo"] for b in sim.status_log(ref)] == ["ERP-42", "ERP-42"]
    assert [b["ErpOrderNo"] for b in sim.status_log(other)] == [other]
    assert (sim.order_status(ref), sim.order_status(other)) == ("Delivered", "Delivered")


async def test_every_query_page_carries_the_application_id(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """…/query/openapi/order documents "ApplicationId integer required"; the documented
    nextLink spells the base ``…/commerce/Query/2.0/…`` (…/query/querygeneral), so the
    header is decided on the Query base whatever its case (page 2 on would be 400)."""
    refs = [sim.place_order(lines=[("TE-100", 1)], email=f"p{i}@example.se") for i in range(12)]
    async with open_adapter(sim, clock) as adapter:
        assert sorted(await _ids(adapter)) == sorted(refs)
    pages = [p for m, p in sim.requests if p == "/commerce/query/2.0/Orders/Orders"]
    assert len(pages) == 3  # page size 5: three pages, each with the header


def test_a_config_without_application_id_names_the_key(sim: NorceSimulator) -> None:
    """The ApplicationId header is required on every Query operation (…/query/openapi/order),
    and every Norce flow reads the Query API: a config without it is refused, naming it."""
    with pytest.raises(msgspec.ValidationError, match="application_id"):
        norce_config(sim, application_id=None)


async def test_rows_of_other_channels_are_dropped_even_when_the_link_loses_the_filter(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """A nextLink is followed as given (…/query/querygeneral), so brygga checks each row's
    ApplicationId (and time) itself: a link that dropped ``$filter`` brings no order of
    another channel."""
    mine = [sim.place_order(lines=[("TE-100", 1)], email=f"m{i}@example.se") for i in range(3)]
    theirs = [
        sim.place_order(lines=[("TE-100", 1)], email=f"t{i}@example.se", channel=2)
        for i in range(6)
    ]
    sim.state.next_link_drops_filter = True
    async with open_adapter(sim, clock, channels=[1]) as adapter:
        found = await _ids(adapter)
    assert sorted(found) == sorted(mine)
    assert not set(found) & set(theirs)


async def test_kept_pushes_are_reported_when_the_query_api_fails(
    sim: NorceSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Norce pushes each order and retries until answered (shop-apis.md §4.3 [NO3]); the
    Query API is only the catch-up, so its failure neither hides kept pushes from the feed
    nor stops fetch_order of a pushed order. The feed yields them, then raises: the poller
    records them and reports the failure (tests/sync/test_order_feed_partial.py)."""
    ref = sim.place_order(lines=[("MUGG-VIT", 1)], email="f@example.se")
    async with open_adapter(sim, clock) as adapter:
        await _push(adapter, sim, ref)
        sim.faults.add(Fault("status", methods=frozenset({"GET"}), path=".*Orders/Orders.*"))
        changes = []
        with pytest.raises(TransientError):
            async for change in adapter.changed_orders(*FAR):
                changes.append(change)
        order = await adapter.fetch_order(ref)
        sim.faults.clear()
    assert [(c.shop_order_id, c.modified_at) for c in changes] == [(ref, FAR[0])]
    assert (order.shop_order_id, order.status) == (ref, "Created")
    assert "Query API could not be read" in caplog.text


async def test_a_push_without_application_id_is_kept_and_named(
    sim: NorceSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A push without Header.ApplicationId while ``channels`` is set: kept (Norce retries a
    refused push with the same body, shop-apis.md §4.3 [NO3], so refusing cannot help), a
    warning names the order and the fix, and the order is imported through the Query API,
    whose rows carry ApplicationId (…/queryorders/openapi/orders/orders.md)."""
    ref = sim.place_order(lines=[("TE-100", 2)], email="w@example.se")
    sim.mangle_push(ref, lambda body: body["Header"].pop("ApplicationId"))
    with caplog.at_level(logging.WARNING):
        async with open_adapter(sim, clock, channels=[1]) as adapter:
            await _push(adapter, sim, ref)
            assert await _ids(adapter) == [ref]
            order = await adapter.fetch_order(ref)
    assert order.lines[0].quantity == 2
    assert f"order {ref} was pushed without Header.ApplicationId" in caplog.text
    assert "channels" in caplog.text


async def test_stock_and_price_unchanged_compare_ids(sim: NorceSimulator, clock: FakeClock) -> None:
    """The Query rows carry ids (on hand ``warehouseId``/``locationId``, …/query/openapi/
    schemas/clientproductskuonhandinfo; price ``priceListId``/``currencyId``, …/query/openapi/
    products/products_productskus), not the import's codes: the codes are resolved once, the
    same value is unchanged and sends no import."""
    async with open_adapter(sim, clock) as adapter:
        assert await adapter.put_stock("TE-100", Decimal(10)) == "unchanged"
        assert await adapter.put_price("TE-100", "SEK", Decimal("45.00"), None) == "unchanged"
        assert await adapter.put_stock("MUGG-VIT", Decimal(10)) == "unchanged"
    assert sim.jobs() == []
    lookups = [p for _, p in sim.requests if "/Application/" in p]
    assert len(lookups) == 2  # one price list, one warehouse lookup, then cached
