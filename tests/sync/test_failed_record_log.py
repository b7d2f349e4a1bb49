"""A record that fails for good is logged once at WARNING; a good one or a retry is not."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from brygga.store import ItemState
from brygga.testing import Fault
from brygga.testing import SimulatedConnection as FlowEnv

pytestmark = pytest.mark.anyio


def _place(env: FlowEnv, sku: str) -> str:
    return str(
        env.shop.place_order(lines=[(sku, 1)], email="kund@example.se", freight=Decimal("49.00"))
    )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_a_record_that_fails_for_good_is_logged_once_with_its_sentence(
    env: FlowEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bad = _place(env, "KAFFE-500")
    env.erp.remove_article("KAFFE-500")
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.FAILED]
    [failed] = await env.store.items.query(states=[ItemState.FAILED])
    [warning] = _warnings(caplog)
    assert warning.levelno == logging.WARNING
    line = warning.getMessage()
    assert f"{env.connection}: orders {env.shop_name}/{bad} failed for good" in line
    assert failed.last_error and failed.last_error in line  # the merchant's sentence
    assert "KAFFE-500" in line


async def test_a_good_record_logs_no_warning(
    env: FlowEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _place(env, "TE-100")
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE]
    assert _warnings(caplog) == []


@pytest.mark.orders_read_alone
async def test_a_retry_logs_no_warning(env: FlowEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _place(env, "TE-100")
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    env.shop.faults.add(Fault("status", status=503, path="/orders/", times=1))
    assert await env.drain(flow) == [ItemState.RETRY, ItemState.DONE]
    assert _warnings(caplog) == []
