"""Fixtures for the PrestaShop plugin tests: a simulator on a fake clock."""

from __future__ import annotations

import pytest
from prestashop_support import utc

from brygga.clock import FakeClock
from brygga_prestashop.simulator import PrestashopSimulator

#: a winter Monday morning; Stockholm is UTC+1
START = utc(2026, 2, 2, 8, 0, 0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> PrestashopSimulator:
    return PrestashopSimulator(clock=clock)
