"""The `brygga` command line: run, check, status, errors, replay, plugins, demo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

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
    p.add_argument(
        "--remote",
        action="store_true",
        help="also connect to every configured system (read-only) and check credentials, "
        "the reference data and helper articles the config names",
    )
    p = sub.add_parser("status", help="one line per connection and register, from the state file")
    config_arg(p)
    _errors_parser(sub, config_arg)
    _replay_parser(sub, config_arg)
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


def _errors_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("errors", help="the per-record error queue: list, show, retry, resolve")
    actions = p.add_subparsers(dest="errors_command", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="failed records, one per line")
    q.add_argument("--connection", help="only this connection")
    config_arg(q)
    q = actions.add_parser("show", help="one record: fields, payload, attempts, events")
    q.add_argument("id", type=int, metavar="ID")
    config_arg(q)
    q = actions.add_parser("retry", help="put failed records back in the queue")
    target = q.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?", metavar="ID")
    target.add_argument("--all", action="store_true", help="every failed record")
    q.add_argument("--connection", help="with --all: only this connection")
    config_arg(q)
    q = actions.add_parser("resolve", help="close a record by hand, with a note")
    q.add_argument("id", type=int, metavar="ID")
    q.add_argument("--note", required=True, help="why (kept in the record's event log)")
    config_arg(q)


def _replay_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("replay", help="run one record through its flow again (exactly once)")
    what = p.add_subparsers(dest="replay_command", required=True, metavar="WHAT")
    q = what.add_parser("order", help="one shop order: transfer it (again) to the ERP")
    q.add_argument("order_id", metavar="ORDER_ID", help="the shop's order id")
    q.add_argument("--connection", required=True, help="connection name")
    q.add_argument("--shop", required=True, help="shop name within the connection")
    q.add_argument(
        "--force",
        action="store_true",
        help="a transferred order gets a NEW ERP document (asks first; see --yes)",
    )
    q.add_argument("--yes", action="store_true", help="confirm --force without asking")
    q.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="with a running daemon: seconds to wait for the outcome (default 30, 0: no wait)",
    )
    q.add_argument(
        "--here",
        action="store_true",
        help="no daemon running: send the order from this process now",
    )
    config_arg(q)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from brygga.commands import run as command
    elif args.command == "check":
        from brygga.commands import check as command  # type: ignore[no-redef]
    elif args.command == "status":
        from brygga.commands import status as command  # type: ignore[no-redef]
    elif args.command == "errors":
        from brygga.commands import errors as command  # type: ignore[no-redef]
    elif args.command == "replay":
        from brygga.commands import replay as command  # type: ignore[no-redef]
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
