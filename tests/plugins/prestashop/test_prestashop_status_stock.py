"""Order states back to PrestaShop, and stock levels.

Reference: shop-apis.md §3.6/§3.7 (order_histories POST, ``sendemail=1`` [PS6]; states read
from order_states, never hard-coded; stock recipe with PATCH on 8.x or GET-then-PUT [PS7][PS1];
the product-level row is derived), §3.3 (PUT resets omitted fields), §7.2 (side effects).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from prestashop_support import open_adapter

from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.models import DocumentRef, DocumentType
from brygga.testing.simulators import Fault
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio


def _writes(sim: PrestashopSimulator) -> list[tuple[str, str]]:
    return [r for r in sim.requests if r[0] != "GET"]


async def test_states_are_read_from_the_shop_as_slugs(sim: PrestashopSimulator) -> None:
    sim.state.table("order_states")[20] = dict(
        sim.state.get("order_states", 4), id="20", name={1: "Skickad med DHL"}
    )
    async with open_adapter(sim) as adapter:
        statuses = await adapter.order_statuses()
    assert statuses[:3] == ["awaiting-check-payment", "payment-accepted", "processing-in-progress"]
    assert "canceled" in statuses and "skickad-med-dhl" in statuses


async def test_a_state_change_is_an_order_history_mailing_only_when_asked(
    sim: PrestashopSimulator,
) -> None:
    first = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    second = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        assert await adapter.set_status(first, "shipped", email=True, capture=True)
        assert await adapter.set_status(second, "shipped", email=False, capture=False)
    assert [(h.state_id, h.sendemail) for h in sim.histories(first)] == [(4, True)]
    assert [(h.state_id, h.sendemail) for h in sim.histories(second)] == [(4, False)]
    assert sim.order_status(first) == sim.order_status(second) == "shipped"


async def test_a_repeat_reads_first_and_writes_nothing(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        assert await adapter.set_status(
            order_id, "shipped", email=True, capture=False, tracking_number="JJSE123"
        )
        writes = len(_writes(sim))
        again = await adapter.set_status(
            order_id, "shipped", email=True, capture=False, tracking_number="JJSE123"
        )
    assert again is False and len(_writes(sim)) == writes
    assert len(sim.histories(order_id)) == 1


async def test_the_tracking_number_goes_to_the_order_carrier_row_whole(
    sim: PrestashopSimulator,
) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com", freight=Decimal(49))
    async with open_adapter(sim) as adapter:
        await adapter.set_status(
            order_id, "shipped", email=False, capture=False, tracking_number="JJSE123"
        )
        order = await adapter.fetch_order(order_id)
    carrier = next(iter(sim.state.table("order_carriers").values()))
    assert carrier["tracking_number"] == "JJSE123"
    assert carrier["shipping_cost_tax_excl"] == "49.000000"  # a PUT keeps what it re-sent
    assert order.extra["tracking_number"] == "JJSE123"


async def test_an_unknown_state_names_it_and_writes_nothing(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=r"'levererad'.*no such order state"):
            await adapter.set_status(order_id, "levererad", email=False, capture=False)
    assert _writes(sim) == []


async def test_a_numeric_state_id_is_accepted(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        assert await adapter.set_status(order_id, "5", email=False, capture=False)
    assert sim.order_status(order_id) == "delivered"


@pytest.mark.parametrize("then_timeout", [False, True])
async def test_a_status_write_whose_answer_is_lost_is_not_repeated(
    sim: PrestashopSimulator, then_timeout: bool
) -> None:
    """The history landed but the answer did not: the retry reads the order and stops."""
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        sim.faults.add(
            Fault(
                "commit_then_fail", methods=frozenset({"POST"}), times=1, then_timeout=then_timeout
            )
        )
        with pytest.raises(TransientError):
            await adapter.set_status(order_id, "shipped", email=True, capture=False)
        assert await adapter.set_status(order_id, "shipped", email=True, capture=False) is False
    assert len(sim.histories(order_id)) == 1


async def test_an_export_mark_whose_answer_is_lost_is_not_written_twice(
    sim: PrestashopSimulator,
) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    document = DocumentRef(document_type=DocumentType.INVOICE, number="501", reference="r")
    async with open_adapter(sim) as adapter:
        sim.faults.add(Fault("commit_then_fail", methods=frozenset({"POST"}), times=1))
        with pytest.raises(TransientError):
            await adapter.mark_exported(order_id, document)
        await adapter.mark_exported(order_id, document)
    assert sim.messages(order_id) == ["brygga ERP document: 501"]


# -- stock ------------------------------------------------------------------------------


async def test_stock_is_patched_on_8x(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        assert await adapter.put_stock("TROJA-M", Decimal(7)) == "updated"
        assert await adapter.put_stock("TROJA-M", Decimal(7)) == "unchanged"
        assert await adapter.put_stock("KAFFE-500", Decimal(0)) == "updated"
    assert (sim.stock("TROJA-M"), sim.stock("KAFFE-500"), sim.stock("TROJA")) == (7, 0, 207)
    assert [m for m, _ in _writes(sim)] == ["PATCH", "PATCH"]


async def test_stock_on_17_reads_then_puts_the_whole_row(clock: FakeClock) -> None:
    """§3.3: PUT resets every field it does not carry, so the row read first is sent whole."""
    sim = PrestashopSimulator(clock=clock, version="1.7")
    row = next(r for r in sim.state.table("stock_availables").values() if r["id_product"] == "1")
    row["location"], row["out_of_stock"] = "Hylla 3", "1"
    async with open_adapter(sim, version="1.7") as adapter:
        assert await adapter.put_stock("KAFFE-500", Decimal(12)) == "updated"
    assert (row["quantity"], row["location"], row["out_of_stock"]) == ("12", "Hylla 3", "1")
    assert [m for m, _ in _writes(sim)] == ["PUT"]


async def test_the_product_row_of_a_product_with_combinations_is_never_written(
    sim: PrestashopSimulator,
) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=r"product 7 has 3 combinations.*never writes"):
            await adapter.put_stock("TROJA", Decimal(5))
    assert _writes(sim) == []


@pytest.mark.parametrize(
    ("sku", "quantity", "match"),
    [
        ("NOPE-1", Decimal(1), "no product or combination"),
        ("KAFFE-500", Decimal("1.5"), "not a whole number"),
        ("A|B", Decimal(1), "filter grammar"),
        ("A]B", Decimal(1), "filter grammar"),
    ],
)
async def test_stock_errors_name_the_sku(
    sim: PrestashopSimulator, sku: str, quantity: Decimal, match: str
) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=match) as info:
            await adapter.put_stock(sku, quantity)
    assert repr(sku) in str(info.value)
    assert _writes(sim) == []


async def test_a_duplicate_reference_is_refused(sim: PrestashopSimulator) -> None:
    sim.state.add_product("KAFFE-500", "Kaffe igen", Decimal(10), Decimal(25))
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match="several products"):
            await adapter.put_stock("KAFFE-500", Decimal(3))


async def test_verify_remote_checks_the_key_and_the_states(sim: PrestashopSimulator) -> None:
    from brygga.adapters import RemoteNeeds

    async with open_adapter(sim) as adapter:
        good = await adapter.verify_remote(RemoteNeeds(shop_statuses=("shipped",)))
        bad = await adapter.verify_remote(RemoteNeeds(shop_statuses=("skickad",)))
    async with open_adapter(sim, key="X" * 32) as wrong:
        refused = await wrong.verify_remote(RemoteNeeds())
    assert [(f.check, f.ok) for f in good] == [("webservice key", True), ("order states", True)]
    assert not bad[1].ok and "'skickad'" in bad[1].detail and "shipped" in bad[1].detail
    assert [(f.check, f.ok) for f in refused] == [("webservice key", False)]
    assert "401" in refused[0].detail and sim.key not in refused[0].detail
    assert _writes(sim) == []
