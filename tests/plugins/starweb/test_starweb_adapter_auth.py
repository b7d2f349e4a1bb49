"""The adapter's OAuth2 handling: one shared token, early renewal, one refresh on 401."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.models import Order
from brygga.testing import Fault
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def order_gets(sim: StarwebSimulator, order_id: str) -> int:
    return sim.requests.count(("GET", f"/orders/{order_id}"))


async def fetch_many(adapter: StarwebAdapter, order_ids: list[str]) -> list[Order]:
    results: list[Order] = []

    async def one(order_id: str) -> None:
        results.append(await adapter.fetch_order(order_id))

    async with anyio.create_task_group() as tg:
        for order_id in order_ids:
            tg.start_soon(one, order_id)
    return results


async def test_concurrent_requests_share_one_token(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    ids = [sim.place_order(lines=[("TE-100", 1)], email=f"{n}@example.se") for n in range(20)]
    async with open_adapter() as adapter:
        orders = await fetch_many(adapter, ids)
    assert sorted(o.shop_order_id for o in orders) == ids
    assert sim.tokens_issued == 1
    assert adapter.tokens.fetched == 1


async def test_token_is_renewed_a_minute_before_expiry(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        clock.advance(3539)
        await adapter.fetch_order(order_id)
        assert sim.tokens_issued == 1
        clock.advance(2)  # 59 s left: renew before using it
        await adapter.fetch_order(order_id)
    assert sim.tokens_issued == 2
    assert order_gets(sim, order_id) == 3  # no request was refused and retried


async def test_a_401_gets_one_refresh_and_one_retry(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        sim.revoke_tokens()
        order = await adapter.fetch_order(order_id)
    assert order.shop_order_id == order_id
    assert sim.tokens_issued == 2
    assert order_gets(sim, order_id) == 3


async def test_many_401s_at_once_refresh_once(sim: StarwebSimulator, open_adapter: Open) -> None:
    ids = [sim.place_order(lines=[("TE-100", 1)], email=f"{n}@example.se") for n in range(15)]
    async with open_adapter() as adapter:
        await adapter.fetch_order(ids[0])
        sim.revoke_tokens()
        orders = await fetch_many(adapter, ids)
    assert len(orders) == 15
    assert sim.tokens_issued == 2


async def test_a_second_401_is_permanent_not_a_loop(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.faults.add(Fault("status", status=401, path=r"/orders/\d+$"))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="refused a freshly issued access token"):
            await adapter.fetch_order(order_id)
    assert sim.tokens_issued == 2
    assert sim.faults.fired["status"] == 2


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"client_secret": "wrong-secret-value"}, "invalid_client"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"base_url": "https://butiken.starwebserver.se/api/v2/nope"}, "404"),
    ],
)
async def test_bad_credentials_or_url_are_permanent_and_secret_free(
    sim: StarwebSimulator, open_adapter: Open, override: dict[str, Any], expected: str
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(**override) as adapter:
        with pytest.raises(PermanentError, match=expected) as caught:
            await adapter.fetch_order(order_id)
        text = f"{caught.value} {adapter!r} {adapter.config!r}"
    assert "wrong-secret-value" not in text
    assert sim.client_secret not in text


async def test_token_endpoint_outage_is_transient(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.faults.add(Fault("status", status=502, path="/token$", times=1))
    async with open_adapter() as adapter:
        with pytest.raises(TransientError):
            await adapter.fetch_order(order_id)
        assert (await adapter.fetch_order(order_id)).shop_order_id == order_id
    assert sim.tokens_issued == 1
