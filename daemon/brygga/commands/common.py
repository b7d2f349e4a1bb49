"""What several subcommands share: logging setup, plugin + config loading, table printing."""

from __future__ import annotations

import logging
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from brygga.config import LoadedConfig, load_config, parse_config
from brygga.errors import ConfigError
from brygga.plugins import PluginHost
from brygga.sync.flows import flow_table

__all__ = ["check_flows", "load", "print_table", "setup_logging"]

#: libraries whose INFO lines would carry full URLs (and so possibly signed query strings)
_QUIET = ("httpx", "httpcore", "hpack", "hypercorn.access", "aiosqlite")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def plugin_host_for(path: Path) -> PluginHost:
    """Plugins, minus the ones the config disables (read before the full validation)."""
    disabled: list[str] = []
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        names = raw.get("daemon", {}).get("disabled_plugins", [])
        if isinstance(names, list):
            disabled = [str(n) for n in names]
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        pass  # load() reports these properly
    return PluginHost(disabled=disabled)


def load(path: Path, host: PluginHost | None = None) -> tuple[LoadedConfig, PluginHost]:
    """Load and validate a config, including the flow checks; raise ConfigError."""
    host = host or plugin_host_for(path)
    loaded = load_config(path, host)
    check_flows(loaded)
    host.startup(loaded.config.plugins)
    return loaded, host


def check_flows(loaded: LoadedConfig) -> None:
    problems = [
        f"{loaded.path}: connection {conn.name!r}: {row.error}"
        for conn in loaded.connections
        for row in flow_table(conn)
        if row.error
    ]
    if problems:
        raise ConfigError("\n".join(problems))


def print_table(rows: Sequence[Sequence[str]], *, indent: str = "  ") -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        print(indent + "  ".join(cells).rstrip())


def validate_only(path: Path) -> None:
    """Schema-level validation (no plugins): used by tests and by `check` on its first pass."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    parse_config(text, source=path)
