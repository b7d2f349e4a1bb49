"""The `brygga` command line: run, check, status, plugins, demo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from brygga import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brygga", description="Keeps web shops and ERP systems in sync, exactly once."
    )
    parser.add_argument("--version", action="version", version=f"brygga {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", required=True, help="path to the TOML config file")

    p = sub.add_parser("run", help="run the daemon")
    config_arg(p)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p = sub.add_parser("check", help="validate a config and print each connection's flow table")
    config_arg(p)
    p = sub.add_parser("status", help="one line per connection and register, from the state file")
    config_arg(p)
    p = sub.add_parser("plugins", help="list plugins, adapters and their capabilities")
    p.add_argument("--strict", action="store_true", help="exit 1 if a plugin failed to load")
    p = sub.add_parser("demo", help="simulated shop + simulated ERP + the daemon, orders flowing")
    p.add_argument("--orders", type=int, default=0, help="place this many orders (0 = forever)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between new orders")
    p.add_argument(
        "--exit-when-done",
        action="store_true",
        help="exit 0 once every placed order is in the ERP exactly once",
    )
    p.add_argument("--state", help="state file (default: a temporary one)")
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="with --exit-when-done: give up (exit 1) after this many seconds",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for the order generator")
    p.add_argument(
        "--listen",
        default="127.0.0.1:0",
        help="the daemon's HTTP endpoint (default: a free loopback port)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from brygga.commands import run as command
    elif args.command == "check":
        from brygga.commands import check as command  # type: ignore[no-redef]
    elif args.command == "status":
        from brygga.commands import status as command  # type: ignore[no-redef]
    elif args.command == "plugins":
        from brygga.commands import plugins_cmd as command  # type: ignore[no-redef]
    else:
        from brygga.commands import demo as command  # type: ignore[no-redef]
    try:
        return command.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `brygga plugins | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
