"""Stock and prices as Connect import jobs (shop-apis.md §4.4, §4.7; [NO2], [NO7], [NO8], [NO9])."""

from __future__ import annotations

from decimal import Decimal

import pytest
from norce_support import open_adapter

from brygga.accountstate import MemoryAdapterState
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.testing.simulators import Fault
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

ONHANDS = ("POST", "/commerce/connect/4.0/Product/ImportOnhands")
PRICES = ("POST", "/commerce/connect/4.0/Product/ImportSkuPriceLists")


async def test_stock_is_an_import_job_polled_to_its_end(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """A 200 from the import means accepted, not applied: the adapter polls Job/Get ([NO2])."""
    async with open_adapter(sim, clock) as adapter:
        assert await adapter.put_stock("KAFFE-500", Decimal(4)) == "updated"
        assert sim.stock("KAFFE-500") == 4
        (job,) = sim.jobs("onhands")
        assert job.finished and job.status_id == 2
        assert job.header["FullFile"] is False  # never a full file ([NO7])
        assert job.header["SkuOnhandFieldsThatAreSet"] == [3]
        assert await adapter.put_stock("KAFFE-500", Decimal(4)) == "unchanged"
        assert sim.requests.count(ONHANDS) == 1
        assert await adapter.state_keys() == []


async def test_stock_of_an_unknown_sku_is_refused_before_sending(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """[NO7]: Norce ignores stock for products it does not have, so brygga says so instead."""
    async with open_adapter(sim, clock) as adapter:
        with pytest.raises(PermanentError, match="no SKU 'NOPE'"):
            await adapter.put_stock("NOPE", Decimal(1))
    assert ONHANDS not in sim.requests


async def test_a_restart_resumes_polling_instead_of_resubmitting(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    state = MemoryAdapterState()
    sim.faults.add(Fault("status", methods=frozenset({"GET"}), path="Job/Get", times=1))
    async with open_adapter(sim, clock, state) as adapter:
        with pytest.raises(TransientError):
            await adapter.put_stock("TE-100", Decimal(7))
        assert await adapter.state_keys() == ["job/stock/MAIN/A1/TE-100"]
    async with open_adapter(sim, clock, state) as again:  # a new process, same state file
        assert await again.put_stock("TE-100", Decimal(7)) == "updated"
        assert await again.state_keys() == []
    assert sim.requests.count(ONHANDS) == 1
    assert sim.stock("TE-100") == 7


async def test_a_job_still_running_is_a_transient_error_and_is_polled_on(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    sim.state.job_polls = 3
    async with open_adapter(sim, clock, job_polls=2) as adapter:
        with pytest.raises(TransientError, match="still running"):
            await adapter.put_stock("MUGG-VIT", Decimal(2))
        assert sim.stock("MUGG-VIT") == 10
        await adapter.put_stock("MUGG-VIT", Decimal(2))
    assert sim.requests.count(ONHANDS) == 1 and sim.stock("MUGG-VIT") == 2


async def test_a_failed_job_is_a_permanent_error_with_its_log(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    sim.fail_next_job("Warehouse MAIN is locked")
    async with open_adapter(sim, clock) as adapter:
        with pytest.raises(PermanentError, match=r"ended Failed.*MAIN is locked") as info:
            await adapter.put_stock("MUGG-VIT", Decimal(2))
        assert "MUGG-VIT" in str(info.value)
        assert await adapter.state_keys() == []


async def test_a_price_of_zero_is_refused_before_sending(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """[NO8]: null or 0 prices are ignored by Norce, so a 0 could never take effect."""
    async with open_adapter(sim, clock) as adapter:
        with pytest.raises(PermanentError, match="ignores a price of 0"):
            await adapter.put_price("TE-100", "SEK", Decimal(0), None)
    assert PRICES not in sim.requests and not sim.requests[1:]


async def test_a_price_is_an_import_job_and_a_repeat_is_unchanged(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    async with open_adapter(sim, clock) as adapter:
        assert await adapter.put_price("TE-100", "SEK", Decimal("52.5"), None) == "updated"
        assert sim.price("TE-100") == (Decimal("52.5000"), True)
        assert await adapter.put_price("TE-100", "SEK", Decimal("52.50"), None) == "unchanged"
        (job,) = sim.jobs("prices")
        assert job.header["FullFile"] is False
        assert job.rows[0]["PriceListCode"] == "SEK-BAS"
        assert sim.price("KAFFE-500") == (Decimal("89.00"), True)  # nothing else deactivated


async def test_a_price_list_must_be_configured(sim: NorceSimulator, clock: FakeClock) -> None:
    async with open_adapter(sim, clock, price_list="", warehouse="") as adapter:
        with pytest.raises(PermanentError, match="set price_list"):
            await adapter.put_price("TE-100", "SEK", Decimal(5), None)
        with pytest.raises(PermanentError, match="set warehouse"):
            await adapter.put_stock("TE-100", Decimal(5))


async def test_a_new_value_waits_for_the_earlier_job_then_is_sent(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """A pending job of an earlier value is followed to its end (even a failed one), then the
    new value is imported: the latest value wins, and no job is left behind."""
    state = MemoryAdapterState()
    sim.faults.add(Fault("status", methods=frozenset({"GET"}), path="Job/Get", times=1))
    sim.fail_next_job("Warehouse MAIN is locked")
    async with open_adapter(sim, clock, state) as adapter:
        with pytest.raises(TransientError):
            await adapter.put_stock("TE-100", Decimal(7))
        assert await adapter.put_stock("TE-100", Decimal(8)) == "updated"
        assert await adapter.state_keys() == []
    assert sim.requests.count(ONHANDS) == 2 and sim.stock("TE-100") == 8
