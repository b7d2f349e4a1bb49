"""What several subcommands share: logging setup, config loading, table printing, hints."""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import sqlite3
import sys
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from brygga.config import (
    Config,
    ConnectionConfig,
    DaemonConfig,
    LoadedConfig,
    parse_config,
    read_config_text,
    resolve_state_path,
)
from brygga.errors import BryggaError, ConfigError, PluginError
from brygga.plugins import PluginHost
from brygga.store import Store
from brygga.store.db import Database
from brygga.store.lock import daemon_running
from brygga.sync.wiring import load_checked

__all__ = [
    "ConfigView",
    "ConnectionView",
    "StateConfig",
    "brygga_command",
    "brygga_error",
    "config_state_path",
    "failed_plugin_lines",
    "format_table",
    "load",
    "load_state_config",
    "log_handler",
    "open_state",
    "print_table",
    "refuse_failed_plugins",
    "setup_logging",
    "start_plugins",
    "state_failure",
]

#: libraries whose INFO lines would carry full URLs (and so possibly signed query strings)
_QUIET = ("httpx", "httpcore", "hpack", "hypercorn.access", "aiosqlite")

#: syslog priorities journald reads from a ``<N>`` line prefix (SyslogLevelPrefix=, on by default)
_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def under_journald(stream: TextIO) -> bool:
    """True when ``stream`` is systemd's journal stream: ``$JOURNAL_STREAM`` names its
    device:inode (the check systemd.exec(5) prescribes, so a child whose stderr was redirected
    elsewhere keeps its timestamps)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


class _JournalFormatter(logging.Formatter):
    """No timestamp (journald adds its own); a ``<N>`` prefix gives each line its priority."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return f"<{priority}>{super().format(record)}"


def log_handler(stream: TextIO) -> logging.Handler:
    """The daemon's log handler on ``stream``: timestamped lines, or journald's form."""
    handler = logging.StreamHandler(stream)
    if under_journald(stream):
        handler.setFormatter(_JournalFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    return handler


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), handlers=[log_handler(sys.stderr)]
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _raw_plugin_names(path: Path) -> tuple[list[str], list[str]]:
    """``[daemon] disabled_plugins`` and the ``[plugins.NAME]`` tables' names, read before the
    full validation (which reports a broken file properly)."""
    try:
        raw = tomllib.loads(read_config_text(path))
    except (ConfigError, tomllib.TOMLDecodeError):
        return [], []
    daemon = raw.get("daemon", {})
    names = daemon.get("disabled_plugins", []) if isinstance(daemon, dict) else []
    disabled = [str(n) for n in names] if isinstance(names, list) else []
    tables = raw.get("plugins", {})
    named = [str(n) for n in tables] if isinstance(tables, dict) else []
    return disabled, named


def plugin_host_for(path: Path) -> PluginHost:
    """Plugins, minus the ones the config disables (read before the full validation)."""
    disabled, _named = _raw_plugin_names(path)
    return PluginHost(disabled=disabled)


def refuse_failed_plugins(host: PluginHost, path: Path) -> None:
    """ConfigError when a plugin the config gives settings (``[plugins.NAME]``) failed to load:
    the commands that send refuse to run without its mappings."""
    _disabled, named = _raw_plugin_names(path)
    refusal = host.refusal(named, source=str(path))
    if refusal is not None:
        raise refusal


def failed_plugin_lines(host: PluginHost) -> list[str]:
    """One warning per plugin that failed to load (none the config names: those are refused)."""
    return [f"plugin {p.name} failed to load: {p.error}" for p in host.failed()]


def start_plugins(host: PluginHost, loaded: LoadedConfig) -> None:
    """Give the plugins their ``[plugins.NAME]`` settings (``brygga_startup``); a setting a
    plugin refuses (PluginError) is a ConfigError naming the file."""
    try:
        host.startup(loaded.config.plugins)
    except PluginError as exc:
        raise ConfigError(f"{loaded.path}: {exc}") from None


def load(path: Path, host: PluginHost | None = None) -> tuple[LoadedConfig, PluginHost]:
    """Load and validate a config, including the flow checks and the plugins' settings; raise
    ConfigError (also for a plugin the config names that failed to load)."""
    host = host or plugin_host_for(path)
    refuse_failed_plugins(host, path)
    try:
        return load_checked(path, host), host
    except PluginError as exc:  # a plugin refused its [plugins.NAME] settings at startup
        raise ConfigError(f"{path}: {exc}") from None


# -- the state-file commands' view of a config: no adapters, no secrets ----------------------


class NamedShop(Protocol):
    @property
    def name(self) -> str: ...


class ConnectionView(Protocol):
    """What `status`, `errors` and `replay` (without ``--here``) need of a connection."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> ConnectionConfig: ...

    @property
    def shops(self) -> Sequence[NamedShop]: ...


class ConfigView(Protocol):
    """A config as the state-file commands see it: a :class:`LoadedConfig` or a
    :class:`StateConfig`."""

    @property
    def path(self) -> Path: ...

    @property
    def config(self) -> Config: ...

    @property
    def state_path(self) -> Path: ...

    @property
    def connections(self) -> Sequence[ConnectionView]: ...


@dataclass(frozen=True)
class StateShop:
    name: str


@dataclass(frozen=True)
class StateConnection:
    config: ConnectionConfig
    shops: tuple[StateShop, ...]

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class StateConfig:
    """A config read without its adapters: no plugin is asked and no secret is resolved."""

    path: Path
    config: Config
    connections: tuple[StateConnection, ...]

    @property
    def state_path(self) -> Path:
        return resolve_state_path(self.path, self.config.daemon.state)


def _shop_name(raw: dict[str, Any], count: int) -> str:
    """A shop's name as the loader settles it: its ``name``, else (one shop) its ``kind``."""
    name = raw.get("name")
    if isinstance(name, str) and name:
        return name
    kind = raw.get("kind")
    return kind if isinstance(kind, str) and count == 1 else ""


def load_state_config(path: Path) -> StateConfig:
    """Read a config for the commands that only read or write the state file (`status`,
    `errors`, `replay` without ``--here``): the schema, connection names and state path are
    checked; adapters are not loaded and secrets (env variables, secret files) never read."""
    config = parse_config(read_config_text(path), source=path)
    view = StateConfig(
        path=path,
        config=config,
        connections=tuple(
            StateConnection(
                config=conn,
                shops=tuple(StateShop(_shop_name(s, len(conn.shops))) for s in conn.shops),
            )
            for conn in config.connection
        ),
    )
    return view  # parse_config checked the state path (``[daemon] state``)


async def open_state(path: Path, *, migrate: bool = False) -> Store:
    """The state file as a command opens it. Only `run`, `replay` and `sync products` pass
    ``migrate`` (apply the migrations a file from an older brygga lacks), and even they do not
    while a daemon holds the file: an older daemon running on it would then refuse the file it
    works on. Without migrating, an older file is read as it is when it can be (else one line:
    `brygga run` of this version migrates it); a newer one is always refused."""
    if migrate and daemon_running(path):
        migrate = False
    return Store(await Database.open(path, migrate=migrate))


#: SQLite's words for a state file that cannot be opened or is no database, with the fix;
#: other SQLite errors (a busy file, a full disk) are not a config matter and stay errors
_STATE_FAILURES = {
    "file is not a database": (
        "it is not a brygga state file (not an SQLite database); point [daemon] state at the "
        "state file, or move this file away to start a new one"
    ),
    "database disk image is malformed": (
        "the file is damaged; restore it from a backup, or move it away to start a new one"
    ),
    "unable to open database file": (
        "check that its folder exists and this user can write in it, or choose another "
        "[daemon] state path"
    ),
    "attempt to write a readonly database": (
        "this user cannot write it; run brygga as the user that owns it, or fix its permissions"
    ),
}


def brygga_error(raised: BaseException) -> BryggaError | None:
    """The error to report when a command stopped on one of ours: the exception itself, or
    the first of a task group's when every error in it is ours (else None: a real crash)."""
    if isinstance(raised, BryggaError):
        return raised
    if isinstance(raised, BaseExceptionGroup):
        ours, others = raised.split(BryggaError)
        if ours is not None and others is None:
            first: BaseException = ours
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            return first if isinstance(first, BryggaError) else None
    return None


def _leaves(raised: BaseException) -> list[BaseException]:
    if isinstance(raised, BaseExceptionGroup):
        return [leaf for inner in raised.exceptions for leaf in _leaves(inner)]
    return [raised]


def _state_failure(exc: BaseException, state: Path | None) -> str | None:
    where = f"state file {state}" if state is not None else "the state file"
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        fix = next((f for words, f in _STATE_FAILURES.items() if words in text), None)
        return f"{where}: {text}; {fix}" if fix else None
    if isinstance(exc, OSError) and state is not None and isinstance(exc.filename, str):
        failed = Path(exc.filename)
        ours = {state.with_name(state.name + end) for end in ("", ".lock", "-wal", "-shm")}
        if failed in ours or state.is_relative_to(failed):
            return (
                f"{where}: cannot be created or opened: {exc.strerror} ({failed}); choose "
                "another [daemon] state path, or fix the folder and its permissions"
            )
    return None


def state_failure(raised: BaseException, state: Path | None) -> str | None:
    """The one-line error (path and fix) when ``raised`` is the state file at ``state`` that
    could not be opened or locked: not SQLite, no folder, no permission; None when it is
    something else (a real crash, which must not be hidden). A task group's errors count
    when every one of them is about the state file or one of brygga's own."""
    found = None
    for leaf in _leaves(raised):
        line = _state_failure(leaf, state)
        if line is None and not isinstance(leaf, BryggaError):
            return None
        found = found or line
    return found


def config_state_path(config: Path) -> Path | None:
    """The state file a config file names, read as simply as can be (for an error message
    after the command's own loading went further); None when it cannot be told."""
    try:
        raw = tomllib.loads(read_config_text(config))
        state = raw.get("daemon", {}).get("state", DaemonConfig().state)
    except (BryggaError, tomllib.TOMLDecodeError, AttributeError):
        return None
    if not isinstance(state, str) or not state.strip():
        return None
    return resolve_state_path(config, state)


def unknown_connection(view: ConfigView, name: str) -> str:
    """The one-line error for a ``--connection`` the config does not have."""
    names = ", ".join(c.name for c in view.connections) or "none"
    return f"{view.path}: no connection named {name!r} (connections: {names})"


def brygga_command() -> str:
    """How to run brygga from a shell, as this process was run: ``brygga`` when that is the
    one on the PATH, else the console script beside this Python, else ``python -m brygga``."""
    script = Path(sys.executable).parent / "brygga"
    if script.is_file():
        found = shutil.which("brygga")
        if found and Path(found).resolve() == script.resolve():
            return "brygga"
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m brygga"


# -- tables ---------------------------------------------------------------------------------

#: a line break, with the indentation around it (a traceback, a multi-line API error)
_BREAK = re.compile(r"\s*[\r\n]+\s*")


def _one_line(value: object) -> str:
    """A cell's text on one line, without control characters (a terminal would act on them)."""
    text = _BREAK.sub(" ", str(value).strip())
    return "".join(
        " " if ch == "\t" else "\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text
    )


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide East Asian characters take two, combining
    marks and format characters none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in "…" when something was cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None for a pipe or a file (nothing is cut)."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def format_table(
    rows: Sequence[Sequence[object]], *, indent: str = "  ", width: int | None = None
) -> list[str]:
    """Rows as aligned lines: every column but the last padded to its widest cell (in
    terminal columns); cells on one line each. The last column holds the long texts (errors,
    notes): with ``width`` it is cut to fit (at least to "…"), so lines do not wrap."""
    if not rows:
        return []
    columns = len(rows[0])
    if any(len(row) != columns for row in rows):
        raise ValueError("every row of a table needs the same number of cells")
    cells = [[_one_line(cell) for cell in row] for row in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(columns - 1)]
    lines = []
    for row in cells:
        head = "".join(
            cell + " " * (w - display_width(cell)) + "  "
            for cell, w in zip(row[:-1], widths, strict=True)
        )
        last = row[-1]
        if width is not None:
            room = width - display_width(indent + head)
            last = _cut(last, max(room, 1))
        lines.append((indent + head + last).rstrip())
    return lines


def print_table(
    rows: Sequence[Sequence[object]], *, indent: str = "  ", width: int | None = None
) -> None:
    """Print :func:`format_table` lines (``width``: see there; :func:`terminal_width` gives
    the terminal's)."""
    for line in format_table(rows, indent=indent, width=width):
        print(line)
