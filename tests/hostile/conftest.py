"""Fixtures for hostile-input tests: an orders flow on both simulators, each behind a rewriter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostile_support import FlowEnv, Rewriter, proxied_routes

#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[FlowEnv]:
    proxies: dict[str, Rewriter] = {}
    # tests of the order's own read (``GET /orders/{id}``) turn off reading orders in full
    # with the order list, which would otherwise stand in for that read
    alone = request.node.get_closest_marker("orders_read_alone") is not None
    async with FlowEnv.open(
        tmp_path,
        shop_options={"seed": 5},
        # generous rate limits: the cases test answers, not pacing, and there are many
        shop_config={"rate_limit": FAST, "orders_from_list": not alone},
        erp_config={"rate_limit": FAST},
        # a host no adapter may ever call (links in answers point here); it answers like the
        # ERP so that only its request log can tell that it was called
        routes=proxied_routes(proxies),
    ) as opened:
        opened.proxy(proxies)
        yield opened
