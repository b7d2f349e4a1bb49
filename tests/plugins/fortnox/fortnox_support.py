"""Helpers of the Fortnox plugin tests: the simulator's adapter config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from brygga.config import dec_hook
from brygga_fortnox.adapter import FortnoxConfig

BASE_URL = "https://api.fortnox.test"


def config_for(sim: Any, **overrides: Any) -> FortnoxConfig:
    """The adapter config for ``sim`` (a fresh consent) with ``overrides``."""
    raw = {**sim.adapter_config(BASE_URL), **overrides}
    return msgspec.convert(raw, FortnoxConfig, dec_hook=dec_hook(Path.cwd()))
