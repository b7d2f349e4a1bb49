"""Fixtures for hostile-input tests: an orders flow on both simulators, each behind a rewriter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostile_support import FAST, FlowEnv, open_flow


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[FlowEnv]:
    """Starweb to e-conomic; a corpus of another ERP overrides this with its own ``env``."""
    # tests of the order's own read (``GET /orders/{id}``) turn off reading orders in full
    # with the order list, which would otherwise stand in for that read
    alone = request.node.get_closest_marker("orders_read_alone") is not None
    # the ``evil.test`` host is one no adapter may ever call (links in answers point there);
    # it answers like the ERP so that only its request log can tell that it was called
    async with open_flow(
        tmp_path, shop_config={"rate_limit": FAST, "orders_from_list": not alone}
    ) as opened:
        yield opened
