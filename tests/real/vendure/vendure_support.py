"""Helpers of the Vendure tests: adapter configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vendure_server import VendureServer

__all__ = ["vendure_config", "vendure_config_raw"]


def vendure_config_raw(raw: dict[str, Any]) -> Any:
    """``raw`` decoded into a VendureConfig as the config loader does."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_vendure.adapter import VendureConfig

    return msgspec.convert(raw, VendureConfig, dec_hook=dec_hook(Path.cwd()))


def vendure_config(server: VendureServer, **overrides: Any) -> Any:
    """A VendureConfig for ``server`` (decoded as the config loader does)."""
    raw = {
        "kind": "vendure",
        "name": "vendure-real",
        "base_url": server.admin_url,
        "username": server.superadmin,
        "password": server.password,
        # a test server on loopback: no need for the default 10 requests/s
        "rate_limit": {"requests": 500, "per_seconds": 1},
        **overrides,
    }
    return vendure_config_raw(raw)
