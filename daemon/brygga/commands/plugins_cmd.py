"""`brygga plugins`: installed plugins, their adapters, protocols and capabilities."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brygga.adapters import AdapterSpec
from brygga.commands.common import plugin_host_for, print_table
from brygga.config import read_config_text
from brygga.errors import ConfigError
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.plugins import PluginHost


def _per(limit: RateLimit) -> str:
    return f"{limit.requests}/{limit.per_seconds:g}s"


def rate_limit_text(spec: AdapterSpec) -> str:
    """The limit the adapter's requests keep to unless its config says otherwise, and where it
    comes from: the adapter's published one, else brygga's default."""
    published = spec.capabilities.rate_limit
    if published is not None:
        text = f"{_per(published)} (published)"
    else:
        text = f"{_per(DEFAULT_RATE_LIMIT)} (brygga's default: {spec.kind} publishes none)"
    if "rate_limit" in spec.config_type.__struct_fields__:
        text += "; rate_limit in its config overrides it"
    return text


def run(args: argparse.Namespace) -> int:
    config = getattr(args, "plugins_config", None)
    if config:
        path = Path(config)
        try:
            read_config_text(path)  # an unreadable -c is said, not ignored
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        host = plugin_host_for(path)
    else:
        host = PluginHost()
    print("plugins:")
    rows = [("name", "state", "source", "provides")]
    for name, plugin in sorted(host.plugins.items()):
        state = "disabled" if plugin.disabled else ("FAILED" if plugin.error else "loaded")
        provides = ", ".join(
            [f"adapter {a}" for a in plugin.adapters] + [f"mapping {m}" for m in plugin.mappings]
        )
        rows.append((name, state, plugin.source, provides or "-"))
    print_table(rows)
    for name, plugin in sorted(host.plugins.items()):
        if plugin.error:
            print(f"  {name}: {plugin.error}")
    print("\nadapters:")
    for kind, spec in sorted(host.adapters.items()):
        print(f"  {kind} ({spec.role.value}, plugin {spec.plugin}): {spec.description}")
        for key, value in spec.describe().items():
            if key == "rate_limit":
                value = rate_limit_text(spec)
            if isinstance(value, list):
                value = ", ".join(value) or "-"
            print(f"      {key:20} {value}")
        for note in spec.capabilities.notes:
            print(f"      note: {note}")
        print(f"      simulator            {'yes' if spec.simulator else 'no'}")
    return 1 if any(p.error for p in host.plugins.values()) and args.strict else 0
