"""`brygga check`: validate a config and print each connection's flow table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brygga.commands.common import plugin_host_for, print_table
from brygga.config import load_config
from brygga.errors import ConfigError
from brygga.sync.flows import flow_table


def run(args: argparse.Namespace) -> int:
    path = Path(args.config)
    host = plugin_host_for(path)
    try:
        loaded = load_config(path, host)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = False
    print(f"{path}: {len(loaded.connections)} connection(s); state file {loaded.state_path}")
    for conn in loaded.connections:
        shops = ", ".join(f"{c.name} ({c.kind})" for c in conn.shops)
        state = "" if conn.config.enabled else " [disabled]"
        print(
            f"\nconnection {conn.name}{state}: mode {conn.config.mode}, "
            f"erp {conn.erp.kind}, shops {shops}"
        )
        rows = [("register", "from", "to", "note")]
        errors = []
        for row in flow_table(conn):
            rows.append((row.register.value, row.source, row.target, row.note))
            if row.error:
                errors.append(row.error)
        print_table(rows)
        for error in errors:
            failed = True
            print(f"  error: {error}", file=sys.stderr)
    for name, plugin in sorted(host.plugins.items()):
        if plugin.error:
            print(f"\nwarning: plugin {name} failed to load: {plugin.error}", file=sys.stderr)
    if failed:
        print(
            "\nconfig refused: fix the errors above (or turn the register off in "
            "[connection.registers])",
            file=sys.stderr,
        )
        return 1
    print("\nconfig OK")
    return 0
