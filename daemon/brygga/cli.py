"""The `brygga` command line: run, check, status, errors, replay, sync, plugins, demo."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from brygga import __version__

#: the config file when neither -c nor $BRYGGA_CONFIG names one (the systemd unit's)
DEFAULT_CONFIG = Path("/etc/brygga/brygga.toml")
CONFIG_ENV = "BRYGGA_CONFIG"

_CONFIG_HELP = f"the TOML config file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG})"


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal as usual; an indented line (an exit code) stays a
    line of its own, wrapped under its text."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith("  "):
                lines.append(
                    textwrap.fill(
                        line,
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent + " " * 6,
                    ).rstrip()
                )
            else:
                lines.append(super()._fill_text(line, width, indent))
        return "\n".join(lines)


def _exit_codes(*codes: tuple[int, str]) -> str:
    lines = [f"  {code:<4}{text}" for code, text in codes]
    return "exit codes:\n" + "\n".join(lines)


_CONFIG_ERROR = (2, "usage error, or the config is missing or invalid (one line on stderr)")


def _count(text: str) -> int:
    """A whole number of at least 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0; use 0 or more")
    return value


def _seconds(text: str) -> float:
    """A finite number of seconds of at least 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} seconds is out of range; use 0 or more")
    return value


#: the demo's shortest --interval: 20 new orders a second (0 placed thousands a second, far more
#: than any pair can transfer, and the demo then could not stop in time)
MIN_INTERVAL = 0.05


def _interval(text: str) -> float:
    """Seconds between the demo's orders: at least :data:`MIN_INTERVAL` (argparse type)."""
    value = _seconds(text)
    if value < MIN_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"{text} seconds is too short; use {MIN_INTERVAL:g} or more (20 orders a second)"
        )
    return value


def _command(sub: Any, name: str, summary: str, description: str, *codes: tuple[int, str]) -> Any:
    """A subcommand with its one-line summary (in `brygga --help`), its own description and
    its exit codes (in `brygga NAME --help`)."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=_exit_codes(*codes) if codes else None,
        formatter_class=_Formatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brygga",
        description="Keeps web shops and ERP systems in sync, exactly once.",
        epilog=f"Commands that take -c FILE read the file ${CONFIG_ENV} names when -c is not "
        f"given, else {DEFAULT_CONFIG}. `brygga COMMAND --help` describes a command and its exit "
        "codes.",
    )
    parser.add_argument("--version", action="version", version=f"brygga {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", metavar="FILE", help=_CONFIG_HELP)

    p = _command(
        sub,
        "run",
        "run the daemon",
        "Run the daemon: poll the shops, send to the ERP, serve /metrics, /healthz, /readyz and "
        "webhooks, until SIGTERM or SIGINT (in-flight work is finished or checkpointed). SIGHUP "
        "re-reads the config and restarts only the connections that changed. One daemon per "
        "state file.",
        (0, "stopped by SIGTERM or SIGINT"),
        (1, "the daemon failed (e.g. another daemon runs on the same state file)"),
        (2, "usage error, or a config that cannot be used (systemd does not restart on 2)"),
    )
    config_arg(p)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p = _command(
        sub,
        "check",
        "validate a config and print each connection's flow table",
        "Validate a config file (resolving its secrets) and print each connection's flow "
        "table: register, from, to, note. Nothing is written; with --remote every configured "
        "system is asked, read-only, whether the config will work.",
        (0, "config OK (and, with --remote, every remote check passed)"),
        (1, "a flow the adapters cannot do, or a remote check found a problem"),
        _CONFIG_ERROR,
    )
    config_arg(p)
    p.add_argument(
        "--remote",
        action="store_true",
        help="also connect to every configured system (read-only) and check credentials, "
        "the reference data and helper articles the config names",
    )
    p = _command(
        sub,
        "status",
        "whether a daemon runs; one line per connection and register",
        "Say whether a daemon holds the state file, then one line per connection (healthy, "
        "disabled, or ATTENTION and why) and one per register: state (ok, errors, late, "
        "failing), last success, backlog, done, failed, and a failing poller's error (on a "
        "terminal, cut to its width). Reads the state file only: works while the daemon runs "
        "and needs none of the config's secrets.",
        (0, "every connection is healthy (or disabled), or no state file yet"),
        (1, "something needs attention: no daemon running, failed records, late or failing"),
        _CONFIG_ERROR,
    )
    config_arg(p)
    p.add_argument(
        "-l",
        "--full",
        action="store_true",
        help="do not cut long texts to the terminal's width (a pipe gets them whole anyway)",
    )
    _errors_parser(sub, config_arg)
    _replay_parser(sub, config_arg)
    _sync_parser(sub, config_arg)
    p = _command(
        sub,
        "plugins",
        "list plugins, adapters and their capabilities",
        "List the installed plugins (loaded, disabled or FAILED), and each adapter with its "
        "capabilities. Reads no config unless -c is given: then the plugins its [daemon] "
        "disabled_plugins names show as disabled.",
        (0, "listed (a plugin that failed to load is shown, not an error without --strict)"),
        (1, "with --strict: a plugin failed to load"),
        (2, "usage error, or the -c file cannot be read"),
    )
    p.add_argument("--strict", action="store_true", help="exit 1 if a plugin failed to load")
    p.add_argument(
        "-c",
        "--config",
        dest="plugins_config",
        metavar="FILE",
        help="show the plugins this config's [daemon] disabled_plugins names as disabled "
        "(no config is read without -c)",
    )
    _demo_parser(sub)
    return parser


def _demo_parser(sub: Any) -> None:
    p = _command(
        sub,
        "demo",
        "simulated shop + simulated ERP + the daemon, orders flowing",
        "A simulated shop and a simulated ERP on loopback (Starweb and e-conomic unless "
        "--shop/--erp name other installed adapters), the daemon between them, a new order "
        "every --interval seconds and a progress line; where both simulators can, a simulated "
        "bookkeeper books each invoice, and the order's status goes back to the shop "
        "(Starweb: picking, then completed with an e-mail and the payment captured; "
        "PrestaShop: processing-in-progress, then shipped; Vendure: Shipped with its payment "
        "settled); the header says when a pair runs orders only. Its config and state "
        "go to a temporary folder that is removed at the end (kept with --keep or --state). "
        "Ctrl-C stops it.",
        (
            0,
            "--exit-when-done: every order arrived in the ERP exactly once and (where the "
            "pair shows statuses) was completed in the shop with its payment captured once",
        ),
        (
            1,
            "an order arrived twice or a payment was captured twice, or (--exit-when-done) "
            "not every order arrived and was completed within --timeout, or an order failed "
            "for good (a line says which)",
        ),
        (
            2,
            "usage error (e.g. a bad --listen or --state, or the port taken), an unknown "
            "--shop/--erp kind (the line lists the available ones), a pair the demo cannot run "
            "(e.g. --mode erp with another pair than starweb + economic), or the plugins missing",
        ),
        (130, "interrupted (Ctrl-C or SIGTERM), with no order in the ERP twice"),
    )
    p.add_argument("--orders", type=_count, default=0, help="place this many orders (0 = forever)")
    p.add_argument(
        "--interval",
        type=_interval,
        default=2.0,
        help=f"seconds between new orders (at least {MIN_INTERVAL:g})",
    )
    p.add_argument(
        "--exit-when-done",
        action="store_true",
        help="exit 0 once every placed order is in the ERP exactly once and completed in the "
        "shop with its payment captured once",
    )
    p.add_argument("--state", help="state file (default: one in a temporary folder); kept")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder (config and state) at the end",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        help="with --exit-when-done: give up (exit 1) after this many seconds",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for the order generator")
    # the kinds are checked by the demo against the installed plugins (listing them here would
    # load every plugin for any --help)
    p.add_argument(
        "--shop",
        default="starweb",
        metavar="KIND",
        help="the shop adapter whose simulator to run (default: starweb); an installed shop "
        "kind with a simulator, e.g. prestashop, vendure, norce (pushes its orders to the "
        "daemon's receiver)",
    )
    p.add_argument(
        "--erp",
        default="economic",
        metavar="KIND",
        help="the ERP adapter whose simulator to run (default: economic); an installed ERP "
        "kind with a simulator, e.g. fortnox, specter, hogia, tryton",
    )
    p.add_argument(
        "--mode",
        choices=["orders", "erp"],
        default="orders",
        help="orders: orders from the shop to the ERP (default); erp: also the ERP's "
        "products, prices and stock to the shop, a price or stock change made in the ERP "
        "with each order (starweb + economic only)",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:0",
        help="the daemon's HTTP endpoint (default: a free loopback port)",
    )


def _errors_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = _command(
        sub,
        "errors",
        "the per-record error queue: list, show, retry, resolve",
        "The per-record error queue in the state file: records that failed for good wait here "
        "until retried or resolved. These commands read and write the state file only (no "
        "shop or ERP is called, no secret is read); a running daemon picks retried records up "
        "within seconds.",
        (2, "usage error (no ACTION); `brygga errors ACTION --help` gives each one's exit codes"),
    )
    actions = p.add_subparsers(dest="errors_command", required=True, metavar="ACTION")
    q = _command(
        actions,
        "list",
        "failed records, one per line",
        "Failed records, one per line: id, connection, register, shop, record id, attempts, "
        "age (since it failed), first line of the error (on a terminal, cut to its width).",
        (0, "listed (also when there are none, or no state file yet)"),
        (2, "usage error, an unknown --connection, or a missing or invalid config"),
    )
    q.add_argument("--connection", help="only this connection")
    config_arg(q)
    q.add_argument(
        "-l",
        "--full",
        action="store_true",
        help="the whole first line of each error, not cut to the terminal's width",
    )
    q = _command(
        actions,
        "show",
        "one record: fields, payload, attempts, events",
        "One record: every field, its payload (decoded when it is UTF-8 or JSON), every "
        "attempt and its event log.",
        (0, "shown"),
        (1, "no record with that id (or no state file yet)"),
        _CONFIG_ERROR,
    )
    q.add_argument("id", type=int, metavar="ID")
    config_arg(q)
    q = _command(
        actions,
        "retry",
        "put failed records back in the queue",
        "After fixing the cause: put one record (failed or resolved), or every failed one, "
        "back in the queue, due now, with a fresh retry budget.",
        (0, "requeued (or nothing failed to requeue)"),
        (1, "no record with that id, or it is not failed (a done one: `replay order`)"),
        (2, "usage error, an unknown --connection, or a missing or invalid config"),
    )
    target = q.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?", metavar="ID")
    target.add_argument("--all", action="store_true", help="every failed record")
    q.add_argument("--connection", help="with --all: only this connection")
    config_arg(q)
    q = _command(
        actions,
        "resolve",
        "close a record by hand, with a note",
        "Close a record by hand (state resolved, final); the note is kept as its result and in "
        "its event log. It is never picked up again; `show` still shows it.",
        (0, "resolved"),
        (1, "no record with that id, or it is done, resolved or being sent right now"),
        (2, "usage error, an empty --note, or a missing or invalid config"),
    )
    q.add_argument("id", type=int, metavar="ID")
    q.add_argument("--note", required=True, help="why (kept in the record's event log)")
    config_arg(q)


def _replay_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = _command(
        sub,
        "replay",
        "run one record through its flow again (exactly once)",
        "Run one record through its flow again, still exactly once: a record already "
        "transferred is reported and nothing is sent unless --force asks for a new document.",
        (2, "usage error (no WHAT); `brygga replay order --help` gives its exit codes"),
    )
    what = p.add_subparsers(dest="replay_command", required=True, metavar="WHAT")
    q = _command(
        what,
        "order",
        "one shop order: transfer it (again) to the ERP",
        "Queue one shop order for transfer (again). A running daemon does the work and the "
        "command waits for the outcome (--wait); without one, the order waits for the next "
        "start, or --here sends it from this process. Only --here reads the config's secrets.",
        (0, "the order is in the ERP (now or already), or queued without waiting"),
        (1, "it failed, was refused (e.g. being sent right now), or did not finish in time"),
        (2, "usage error, an unknown connection or shop, or a missing or invalid config"),
    )
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
        type=_seconds,
        default=30.0,
        help="with a running daemon: seconds to wait for the outcome (default 30, 0: no wait)",
    )
    q.add_argument(
        "--here",
        action="store_true",
        help="no daemon running: send the order from this process now",
    )
    config_arg(q)


def _sync_parser(sub: Any, config_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    p = _command(
        sub,
        "sync",
        "one-off copies between the systems (the initial product sync)",
        "One-off copies between a connection's systems, beside what the daemon keeps in sync.",
        (2, "usage error (no WHAT); `brygga sync products --help` gives its exit codes"),
    )
    what = p.add_subparsers(dest="sync_command", required=True, metavar="WHAT")
    q = _command(
        what,
        "products",
        "copy the whole catalog from the shop or the ERP to the other side",
        "Copy every article (products and variants, with prices unless they are mastered on "
        "the other side) from one side of a connection to the other, matched on the same "
        "article numbers: created when missing, updated when different (as [connection.catalog] "
        "create and update allow). Streams the catalog; checkpoints in the state file, so a run "
        "that was stopped goes on where it stopped. Bad data (no SKU, two articles with one "
        "SKU, a negative price, a VAT rate the other side lacks) is a failure line naming the "
        "SKU and the fix, never a stopped run.",
        (0, "every article copied (or, with --dry-run, compared)"),
        (1, "some articles failed (listed with SKU and fix), or the run stopped early"),
        (2, "usage error, an unknown connection or shop, or a missing or invalid config"),
        (130, "interrupted (Ctrl-C, SIGTERM): what was done is checkpointed"),
    )
    q.add_argument("--connection", required=True, help="connection name")
    q.add_argument(
        "--from",
        dest="side",
        required=True,
        choices=["shop", "erp"],
        help="the side whose catalog is copied to the other",
    )
    q.add_argument("--shop", help="only this shop of the connection (default: every shop)")
    q.add_argument(
        "--dry-run",
        action="store_true",
        help="read both sides and report what would be created or updated; write nothing",
    )
    config_arg(q)


def config_path(given: str | None) -> Path | str:
    """The config file to use (-c, else $BRYGGA_CONFIG, else DEFAULT_CONFIG), or a one-line
    error saying why there is none."""
    if given:
        return Path(given)
    from_env = os.environ.get(CONFIG_ENV, "").strip()
    if from_env:
        if Path(from_env).exists():
            return Path(from_env)
        return (
            f"no config file: ${CONFIG_ENV} names {from_env}, which does not exist; "
            f"fix ${CONFIG_ENV} or pass the file with -c FILE"
        )
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return (
        f"no config file: -c not given, ${CONFIG_ENV} not set, and {DEFAULT_CONFIG} does not "
        "exist; pass the file with -c FILE"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and args.exit_when_done and not args.orders:
        parser.error("demo --exit-when-done needs --orders N (without it orders never stop)")
    if hasattr(args, "config"):
        found = config_path(args.config)
        if isinstance(found, str):
            print(f"error: {found}", file=sys.stderr)
            return 2
        args.config = str(found)
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
    elif args.command == "sync":
        from brygga.commands import sync_products as command  # type: ignore[no-redef]
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
    except Exception as raised:
        # a state file that cannot be opened or locked (a race with the config check, a
        # damaged file): one line with the path and the fix, whichever command met it
        from brygga.commands.common import state_failure

        line = state_failure(raised, _state_of(args))
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 2


def _state_of(args: argparse.Namespace) -> Path | None:
    """The state file the command uses, for an error about it (None: not known)."""
    from brygga.commands.common import config_state_path

    if args.command == "demo":
        return Path(args.state).resolve() if args.state else None
    if getattr(args, "config", None):
        return config_state_path(Path(args.config))
    return None


if __name__ == "__main__":
    sys.exit(main())
