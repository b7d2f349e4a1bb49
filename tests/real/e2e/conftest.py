"""The end-to-end tests join the Vendure and Tryton test kits (their helpers live beside their
own tests), on asyncio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_REAL = Path(__file__).resolve().parents[1]
for _kit in ("vendure", "tryton"):
    if str(_REAL / _kit) not in sys.path:
        sys.path.append(str(_REAL / _kit))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store and both servers' fixtures need asyncio
