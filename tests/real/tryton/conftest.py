"""Fixtures of the Tryton tests: a real trytond on loopback (session-wide), adapters on it.

``tryton_server`` installs trytond (``contrib/real/tryton/setup.sh``, cached under
``$BRYGGA_REAL_CACHE/tryton`` or ``/tmp/brygga-real-cache/tryton``), starts it on a fresh copy
of the template database with company, accounts, fiscal year and taxes set up, and yields a
:class:`brygga_tryton.realserver.TrytonServer`; it skips, with the reason, when trytond cannot
be installed. The tests that need it carry the ``real`` marker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tryton_support import TrytonServer, TrytonUnavailable, running_tryton


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real: needs a real third-party server the tests start on loopback"
    )


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """One trytond serves the whole session, so its fixture (and these tests) run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
async def tryton_server(anyio_backend: str) -> AsyncIterator[TrytonServer]:
    manager = running_tryton()
    try:
        server = await manager.__aenter__()
    except TrytonUnavailable as exc:
        pytest.skip(f"real trytond unavailable: {exc}")
    try:
        yield server
    finally:
        await manager.__aexit__(None, None, None)
