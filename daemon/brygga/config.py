"""The TOML config: strict msgspec Structs, one-line errors with the key path and a fix."""

from __future__ import annotations

import difflib
import enum
import hashlib
import ipaddress
import os
import re
import sqlite3
import tomllib
import typing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from brygga.adapters import AdapterConfig, AdapterSpec, CustomerGroups, Role
from brygga.durations import Duration, format_duration, parse_duration
from brygga.errors import ConfigError
from brygga.http.client import DEFAULT_TIMEOUT
from brygga.http.server import parse_listen
from brygga.models import DocumentType, OrderEvent
from brygga.secrets import Secret, resolve_secret
from brygga.store.schema import LATEST, file_version, too_new
from brygga.timeutil import zone_info

if typing.TYPE_CHECKING:
    from brygga.plugins import PluginHost

__all__ = [
    "CatalogConfig",
    "Config",
    "ConnectionConfig",
    "DaemonConfig",
    "FeeArticles",
    "OrdersConfig",
    "PollConfig",
    "ResolvedConnection",
    "ShopCatalogConfig",
    "StatusConfig",
    "StatusRule",
    "dec_hook",
    "is_local_host",
    "load_config",
    "parse_config",
    "read_config_text",
    "resolve_state_path",
    "state_path_problem",
]

Mode = Literal["ecom", "erp", "combo"]
Master = Literal["shop", "erp", "off"]
MatchKey = Literal["customer_number", "email", "org_number"]
LogLevel = Literal["debug", "info", "warning", "error"]
T = typing.TypeVar("T")


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class DaemonConfig(_Section, frozen=True, kw_only=True):
    #: SQLite state file; ``~`` is the home folder, other relative paths resolve against the
    #: config file's folder
    state: str = "brygga.db"
    #: host:port of the HTTP endpoint (/metrics, /healthz, /readyz, webhooks)
    listen: str = "127.0.0.1:9464"
    log_level: LogLevel = "info"
    #: how long SIGTERM waits for in-flight work before giving up
    shutdown_deadline: Duration = Duration(10)
    #: first and longest wait before restarting a failed connection
    restart_backoff: Duration = Duration(1)
    restart_backoff_max: Duration = Duration(300)
    disabled_plugins: list[str] = []
    #: how long finished records and events are kept (failed records stay until resolved,
    #: bindings stay for good); pruned hourly so the state file stays bounded
    keep_history: Duration = Duration(90 * 86400)


class PollConfig(_Section, frozen=True, kw_only=True):
    orders: Duration = Duration(60)
    status: Duration = Duration(60)
    products: Duration = Duration(900)
    prices: Duration = Duration(900)
    price_lists: Duration = Duration(3600)
    stock: Duration = Duration(300)


class FeeArticles(_Section, frozen=True, kw_only=True):
    freight: str = "fraktavg"
    handling: str = "expavg"
    discount: str = "rabatt"
    rounding: str = "avrundning"


#: an order edited or cancelled in the shop after its transfer: ``flag`` puts it in the error
#: queue for a person; ``cancel`` also cancels the ERP document of a cancelled order where the
#: ERP adapter can (a draft; a booked document is flagged); ``ignore`` does neither
ShopChanges = Literal["flag", "cancel", "ignore"]


class ShopOrdersConfig(_Section, frozen=True, kw_only=True):
    """One shop's order settings (``[connection.orders.shops.<shop name>]``).

    Partial: ``customer_group`` applies to customers brygga creates (a customer found by a
    match key keeps the group it has); an ERP number series per shop is not in this version
    (``number_prefix`` shows the shop on the document instead); ``currency`` checks orders
    (a shop's catalog price currency is ``ShopCatalogConfig.currency``).
    """

    #: the ERP customer group new customers from this shop are created in (e-conomic: its
    #: customerGroupNumber); unset: the ERP adapter's own default
    customer_group: int | str | None = None
    #: shown before the shop's order number on the ERP document (e.g. "SE-" gives
    #: "Order SE-1001"), so two shops' order 1001 can be told apart; the exactly-once
    #: reference does not change
    number_prefix: str = ""
    #: the currency this shop's orders must have; an order in another one becomes an error
    #: record instead of a document
    currency: str | None = None
    #: this shop's own ``ready_statuses`` / ``cancelled_statuses`` (shops of different kinds
    #: name their statuses differently); unset: the connection's ``[connection.orders]`` ones
    ready_statuses: list[str] | None = None
    cancelled_statuses: list[str] | None = None


_NO_SHOP_ORDERS = ShopOrdersConfig()


class OrdersConfig(_Section, frozen=True, kw_only=True):
    document: DocumentType = DocumentType.INVOICE
    #: shop statuses that make an order ready; empty means every status but the cancelled ones
    ready_statuses: list[str] = []
    cancelled_statuses: list[str] = msgspec.field(default_factory=lambda: ["canceled", "cancelled"])
    customer_match: list[MatchKey] = msgspec.field(
        default_factory=lambda: ["customer_number", "email", "org_number"]
    )
    fee_articles: FeeArticles = FeeArticles()
    #: VAT rates (percent) the shop sells at: `check --remote` wants freight, handling and
    #: discount articles for each (Swedish rates by default)
    vat_rates: list[typing.Annotated[float, msgspec.Meta(ge=0, le=100)]] = msgspec.field(
        default_factory=lambda: [25.0, 12.0, 6.0]
    )
    #: book invoices right away (otherwise they stay drafts for a person to check)
    book: bool = False
    #: first run: how far back to look for orders (or an explicit start)
    lookback: Duration = Duration(86400)
    start_from: datetime | None = None
    #: how much each poll re-reads of the previous window (late commits, clock skew)
    overlap: Duration = Duration(300)
    #: how often an order that is not yet ready is looked at again
    revisit: Duration = Duration(300)
    workers: int = 2
    #: longest wait between retries of a transient failure (backoff grows up to this)
    retry_max: Duration = Duration(300)
    #: per-shop settings, by shop name
    shops: dict[str, ShopOrdersConfig] = {}
    #: what happens when an order is edited or cancelled in the shop after its transfer
    shop_changes: ShopChanges = "flag"

    def shop(self, name: str) -> ShopOrdersConfig:
        return self.shops.get(name, _NO_SHOP_ORDERS)

    def ready_in(self, shop: str) -> list[str]:
        """The statuses that make an order of ``shop`` ready (empty: all but cancelled)."""
        own = self.shop(shop).ready_statuses
        return self.ready_statuses if own is None else own

    def cancelled_in(self, shop: str) -> list[str]:
        """The statuses that mean an order of ``shop`` was cancelled."""
        own = self.shop(shop).cancelled_statuses
        return self.cancelled_statuses if own is None else own


class StatusRule(_Section, frozen=True, kw_only=True):
    """What the shop does on an order event from the ERP (``[connection.status.<event>]``)."""

    #: the shop's order status to set (its code as the shop names it; `check --remote` reads
    #: the shop's statuses and refuses one it does not have)
    shop_status: typing.Annotated[str, msgspec.Meta(min_length=1)]
    #: the shop e-mails the customer about the change
    email: bool = False
    #: the ERP's tracking number and carrier go along (when the ERP has them)
    tracking: bool = False
    #: the shop captures the reserved payment (Klarna, Svea, …) on this change; typically on
    #: ``delivered``. Set explicitly on every write, never left to the shop's default
    capture: bool = False


class ShopStatusRules(_Section, frozen=True, kw_only=True):
    """One shop's own rules (``[connection.status.shops.<shop name>]``): each replaces the
    connection's rule for its event in this shop (shops of different kinds name their
    statuses differently); events it does not name keep the connection's rule."""

    transferred: StatusRule | None = None
    partially_delivered: StatusRule | None = None
    invoiced: StatusRule | None = None
    delivered: StatusRule | None = None
    paid: StatusRule | None = None
    cancelled: StatusRule | None = None

    def rules(self) -> dict[OrderEvent, StatusRule]:
        found = {event: getattr(self, event.value) for event in OrderEvent}
        return {event: rule for event, rule in found.items() if rule is not None}


class StatusConfig(ShopStatusRules, frozen=True, kw_only=True):
    """Order status back to the shop (``[connection.status]``): one rule per ERP event, and
    per-shop replacements."""

    #: how long after its transfer an order's ERP document is watched for events
    watch: Duration = Duration(60 * 86400)
    #: shop name → that shop's own rules
    shops: dict[str, ShopStatusRules] = {}

    def rules(self, shop: str | None = None) -> dict[OrderEvent, StatusRule]:
        """The rules by event, in the order events progress: the connection's, with ``shop``'s
        own in their place."""
        found = super().rules()
        if shop is not None and shop in self.shops:
            found |= self.shops[shop].rules()
        return {event: found[event] for event in OrderEvent if event in found}

    def events(self) -> list[OrderEvent]:
        """Every event some shop has a rule for, in the order events progress."""
        ruled = set(super().rules())
        for own in self.shops.values():
            ruled |= set(own.rules())
        return [event for event in OrderEvent if event in ruled]

    def watched(self) -> bool:
        """Whether any rule needs events from the ERP (all but ``transferred`` do)."""
        return any(event is not OrderEvent.TRANSFERRED for event in self.events())


class ShopCatalogConfig(_Section, frozen=True, kw_only=True):
    """One shop's catalog settings (``[connection.catalog.shops.<shop name>]``)."""

    #: taken off the available quantity pushed to this shop (never below 0), e.g. 2 keeps two
    #: pieces back for sales elsewhere
    stock_buffer: Decimal = Decimal(0)
    #: ERP price list → this shop's price list; ERP lists not named here stay out of the shop
    price_lists: dict[str, str] = {}
    #: the currency of this shop's catalog prices (ISO 4217, e.g. "NOK"): products and prices
    #: from the ERP carry the ERP's own price in it (e-conomic: the product's currency-specific
    #: sales price), never a converted one; unset: the ERP's prices as they are
    currency: str | None = None


class CatalogConfig(_Section, frozen=True, kw_only=True):
    """Products, prices, price lists and stock (``[connection.catalog]``)."""

    #: products: create articles the target lacks
    create: bool = True
    #: products: update articles the target has when they differ
    update: bool = True
    #: first run: how far back the catalog change feeds are read
    lookback: Duration = Duration(86400)
    #: how much each poll re-reads of the previous window
    overlap: Duration = Duration(300)
    #: catalog items written at once, per register
    workers: int = 1
    #: per-shop settings, by shop name
    shops: dict[str, ShopCatalogConfig] = {}

    def shop(self, name: str) -> ShopCatalogConfig:
        return self.shops.get(name, _NO_SHOP_SETTINGS)


_NO_SHOP_SETTINGS = ShopCatalogConfig()


class RegisterOverrides(_Section, frozen=True, kw_only=True):
    """Per-register master: ``shop``, ``erp`` or ``off``; unset follows the mode."""

    orders: Master | None = None
    status: Master | None = None
    products: Master | None = None
    prices: Master | None = None
    price_lists: Master | None = None
    stock: Master | None = None


#: a connection's name: it appears in metric labels, URLs and ERP references
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
#: what a pattern asks for, in words (msgspec's own error shows the regex)
_PATTERN_WORDS = {
    NAME_PATTERN: (
        "a name is 1 to 63 letters A-Z or a-z, digits, '_', '.' or '-', starting with a letter "
        'or digit (no spaces or other letters), e.g. name = "butiken-se"'
    ),
}


class ConnectionConfig(_Section, frozen=True, kw_only=True):
    name: typing.Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    erp: dict[str, Any]
    shops: list[dict[str, Any]]
    mode: Mode = "erp"
    enabled: bool = True
    registers: RegisterOverrides = RegisterOverrides()
    poll: PollConfig = PollConfig()
    orders: OrdersConfig = OrdersConfig()
    status: StatusConfig = StatusConfig()
    catalog: CatalogConfig = CatalogConfig()

    def __repr__(self) -> str:
        # ``erp`` and ``shops`` are the raw tables, which may hold inline secrets
        shops = ", ".join(repr(shop.get("name") or shop.get("kind")) for shop in self.shops)
        return (
            f"ConnectionConfig(name={self.name!r}, mode={self.mode!r}, "
            f"erp={self.erp.get('kind')!r}, shops=[{shops}], enabled={self.enabled!r})"
        )


class Config(_Section, frozen=True, kw_only=True):
    daemon: DaemonConfig = DaemonConfig()
    connection: list[ConnectionConfig] = []
    plugins: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class ResolvedConnection:
    """A connection with its adapter configs decoded by the adapters' own Structs."""

    config: ConnectionConfig
    erp_spec: AdapterSpec
    erp: AdapterConfig
    shop_specs: tuple[AdapterSpec, ...]
    shops: tuple[AdapterConfig, ...]
    #: digest of everything that configures this connection; SIGHUP compares it
    fingerprint: str

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    config: Config
    connections: tuple[ResolvedConnection, ...]

    @property
    def state_path(self) -> Path:
        return resolve_state_path(self.path, self.config.daemon.state)


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")
_PATTERN = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$", re.S)


def dec_hook(base_dir: Path) -> typing.Callable[[type, Any], Any]:
    """The msgspec ``dec_hook`` for config values: Duration, and Secret (files resolve against
    ``base_dir``). The conformance kit decodes adapter configs with it, as the loader does."""

    def hook(type_: type, obj: Any) -> Any:
        if type_ is Duration:
            return parse_duration(obj)
        if type_ is Secret:
            return resolve_secret(obj, base_dir=base_dir)
        raise NotImplementedError(type_)

    return hook


#: the steps of a msgspec error path: `.field`, `[0]` (a list index), `[...]` (a table's value)
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]|\[(\.\.\.)\]")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _field_type(current: Any, name: str) -> Any:
    hints = typing.get_type_hints(current) if isinstance(current, type) else {}
    found = hints.get(name)
    if typing.get_origin(found) is typing.Union or type(found).__name__ == "UnionType":
        found = next((a for a in typing.get_args(found) if a is not type(None)), None)
    return found


def _type_at(root: Any, path: str) -> Any:
    """The declared type found at a msgspec error path (None when it cannot be followed)."""
    current: Any = root
    for name, _index, _value in _STEP.findall(path):
        if name:
            current = _field_type(current, name)
            continue
        args = typing.get_args(current)  # list[T] → T; dict[K, V] → V
        current = args[-1] if args else None
    return current


def _named_path(root: Any, data: Any, path: str, base_dir: Path) -> str:
    """The error path with each `[...]` (msgspec does not say which key of a table) replaced
    by the key whose value fails to decode, e.g. `catalog.shops.se.stock_bufer`."""
    current: Any = root
    named = ""
    for name, index, _value in _STEP.findall(path):
        if name:
            current = _field_type(current, name)
            data = data.get(name) if isinstance(data, dict) else None
            named += f".{name}"
            continue
        args = typing.get_args(current)
        current = args[-1] if args else None
        if index:
            position = int(index)
            data = data[position] if isinstance(data, list) and position < len(data) else None
            named += f"[{index}]"
            continue
        key = _failing_key(data, current, base_dir)
        if key is None:
            named += "[...]"
            data = None
        else:
            named += f".{key}" if _BARE_KEY.fullmatch(key) else f'."{key}"'
            data = data[key] if isinstance(data, dict) else None
    return named


def _failing_key(table: Any, value_type: Any, base_dir: Path) -> str | None:
    """The first key of ``table`` whose value does not decode as ``value_type``."""
    if not isinstance(table, dict) or value_type is None:
        return None
    for key, value in table.items():
        try:
            msgspec.convert(value, value_type, dec_hook=dec_hook(base_dir))
        except (msgspec.ValidationError, ConfigError):
            return str(key)
        except Exception:  # a value our hooks cannot judge: not the one to name
            continue
    return None


def _fields_at(root: Any, path: str) -> list[str]:
    """Field names of the Struct found at a msgspec error path (for "did you mean")."""
    current = _type_at(root, path)
    if isinstance(current, type) and issubclass(current, msgspec.Struct):
        return list(current.__struct_fields__)
    return []


def _choices_at(root: Any, path: str) -> list[str]:
    """The allowed values of the Literal or Enum found at a msgspec error path."""
    current = _type_at(root, path)
    if typing.get_origin(current) is Literal:
        return [str(arg) for arg in typing.get_args(current)]
    if isinstance(current, type) and issubclass(current, enum.Enum):
        return [str(member.value) for member in current]
    return []


def _convert(data: Any, type_: type[T], *, source: Path, prefix: str, base_dir: Path) -> T:
    try:
        return msgspec.convert(data, type_, dec_hook=dec_hook(base_dir))
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        assert match is not None
        message, path = match.group("msg"), match.group("path") or ""
        unknown = _UNKNOWN.search(message)
        hint = ""
        if unknown:
            field = unknown.group("field")
            path = f"{path}.{field}"
            close = difflib.get_close_matches(field, _fields_at(type_, path.rsplit(".", 1)[0]))
            message = f"unknown key `{field}`"
            if close:
                hint = f" (did you mean `{close[0]}`?)"
            else:
                allowed = _fields_at(type_, path.rsplit(".", 1)[0])
                if allowed:
                    hint = f" (allowed: {', '.join(allowed)})"
        elif message.startswith("Invalid enum value"):
            choices = _choices_at(type_, path)
            if choices:
                hint = f" (expected one of: {', '.join(choices)})"
        elif pattern := _PATTERN.match(message):
            words = _PATTERN_WORDS.get(pattern.group("pattern"))
            if words:
                message = f"not a valid name; {words}"
        if "[...]" in path:
            path = _named_path(type_, data, path, base_dir)
        key = (prefix + path).lstrip(".") or "(top level)"
        raise ConfigError(f"{source}: {key}: {message}{hint}") from None


def read_config_text(path: Path) -> str:
    """The config file's text; ConfigError when it cannot be read or is not UTF-8 (a leading
    byte-order mark, as some Windows editors write, is allowed)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}, column {column}); "
            "save the file as UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from None


_TOML_AT = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, source: Path) -> ConfigError:
    """One line with the line and column; the usual cause of a broken inline table is named."""
    message = str(exc)
    at = _TOML_AT.search(message)
    lines = text.splitlines()
    hint = ""
    if at and 0 < int(at.group("line")) <= len(lines):
        line = lines[int(at.group("line")) - 1]
        before = line[: int(at.group("column")) - 1]
        if before.count("{") > before.count("}") and not line[len(before) :].strip():
            hint = (
                "; an inline table { ... } must end on the line it starts on: write a long "
                "one as a table, e.g. [connection.erp] or [[connection.shops]]"
            )
        elif message.startswith("Cannot overwrite a value") and "=" in line:
            # the key only, never the value: the line may hold a secret
            key = line.split("=", 1)[0].strip()
            hint = f"; `{key}` is set twice in its table: keep one"
    return ConfigError(f"{source}: not valid TOML: {message}{hint}")


#: how many orders a connection sends at once (``[connection.orders] workers``)
WORKERS_RANGE = (1, 32)


def _check_daemon(config: Config, source: Path) -> None:
    try:
        parse_listen(config.daemon.listen)
    except ConfigError as exc:
        raise ConfigError(f"{source}: daemon.listen: {exc}") from None
    state = config.daemon.state
    if state.startswith("~") and _home(state) is None:
        home = state.split("/", 1)[0]
        raise ConfigError(
            f"{source}: daemon.state: {state!r}: {home} is no home folder this user can "
            'expand; write the full path, e.g. state = "/var/lib/brygga/state.db"'
        )
    problem = (
        state_path_problem(resolve_state_path(source, state))
        if state.strip()
        else f"is empty; name the state file, e.g. {_state_key(_USUAL_STATE)}"
    )
    if problem:
        raise ConfigError(f"{source}: daemon.state: {problem}")
    path = resolve_state_path(source, state)
    version = file_version(path)
    if version is not None and version > LATEST:
        # every command refuses it in the same words, before any of them opens the file
        raise ConfigError(too_new(path, version))


def _home(state: str) -> Path | None:
    """``state`` with its leading ``~`` or ``~user`` expanded; None when it cannot be."""
    try:
        return Path(state).expanduser()
    except RuntimeError:  # no such user, or no home folder known
        return None


def resolve_state_path(source: Path, state: str) -> Path:
    """The state file a config at ``source`` names: ``~`` (or ``~user``) at its start is that
    home folder, as in a shell; other relative paths resolve against the config's folder."""
    # an unknown ~user stays as written (_check_daemon refuses it)
    path = (_home(state) or Path(state)) if state.startswith("~") else Path(state)
    return path if path.is_absolute() else source.parent / path


#: the first bytes of every SQLite 3 database file (an empty file is a new database too)
#: where a state file may well go (the systemd unit's StateDirectory)
_USUAL_STATE = Path("/var/lib/brygga/state.db")


def _state_key(path: Path) -> str:
    return f'state = "{path}"'


def state_path_problem(
    state: Path, *, spell: typing.Callable[[Path], str] = _state_key
) -> str | None:
    """Why brygga could not keep its state file at ``state``, as a sentence with the fix
    (``spell`` writes the example setting: the config key, or the demo's ``--state``); None
    when it can, as far as can be told without writing anything.

    Refused: a folder; a file that is no SQLite database; a file this user cannot read and
    write; a file on the way that is no folder; a folder that exists but that this user cannot
    write in; a place on a read-only filesystem or on one that holds no files (``/proc``). A
    folder that does not exist yet is fine when what exists of its path is a folder (brygga
    creates the rest, or systemd's ``StateDirectory=`` does)."""
    try:
        if state.is_dir():
            return (
                f"{state} is a folder; name the state file in it, e.g. {spell(state / 'brygga.db')}"
            )
        if state.exists():
            return _state_file_problem(state, spell)
        found = next((p for p in state.parents if p.exists() or p.is_symlink()), None)
    except OSError as exc:
        return f"{state} cannot be looked at ({exc.strerror}); choose another state path"
    if found is None:
        return None
    if not found.is_dir():
        return (
            f"{found} is a file, not a folder, so {state} cannot be created there; choose a "
            f"state file in a folder, e.g. {spell(_USUAL_STATE)}"
        )
    return _state_folder_problem(state, found, spell)


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (not POSIX)
        return False


def _state_file_problem(state: Path, spell: typing.Callable[[Path], str]) -> str | None:
    if not state.is_file():
        return f"{state} is not a regular file; name the state file, e.g. {spell(_USUAL_STATE)}"
    if not os.access(state, os.R_OK | os.W_OK) and _read_only_filesystem(state):
        return (
            f"{state} is on a read-only filesystem and brygga writes to its state file; "
            "remount it read-write (to look at a snapshot, copy the file somewhere writable)"
        )
    if not os.access(state, os.R_OK | os.W_OK):
        return (
            f"{state} cannot be read and written by this user (uid {os.geteuid()}); run brygga "
            "as the user that owns it, or fix its permissions"
        )
    # Read through SQLite, never with open()/close(): closing any descriptor of the database
    # drops every POSIX lock this process holds on it, SQLite's included, and the daemon
    # checks its config again on SIGHUP with the store open: a CLI command that closed the
    # file next would then think itself the last user and delete the daemon's WAL. SQLite
    # shares one lock state per file within a process and keeps a descriptor open while
    # another connection holds a lock, so a probe through it is safe.
    try:
        probe = sqlite3.connect(f"{state.absolute().as_uri()}?mode=ro", uri=True)
        try:
            probe.execute("PRAGMA schema_version").fetchone()
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            return (
                f"{state} is not a brygga state file (not an SQLite database); name the state "
                f"file, or move {state.name} away to start a new one there"
            )
        return f"{state} cannot be read ({exc}); fix its permissions"
    return None


def _state_folder_problem(
    state: Path, folder: Path, spell: typing.Callable[[Path], str]
) -> str | None:
    """``folder``: the nearest part of the state file's path that exists (a folder)."""
    info = os.statvfs(folder)
    if info.f_blocks == 0:
        return (
            f"{folder} is on a filesystem that holds no files (such as /proc or /sys), so "
            f"{state} cannot be created there; choose a folder on a disk, e.g. "
            f"{spell(_USUAL_STATE)}"
        )
    if info.f_flag & os.ST_RDONLY:
        return (
            f"{folder} is on a read-only filesystem, so {state} cannot be created there; "
            f"choose a writable folder, e.g. {spell(_USUAL_STATE)}"
        )
    if folder == state.parent and not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"{state} cannot be created: this user (uid {os.geteuid()}) cannot write in "
            f"{folder}; run brygga as the user that owns it, fix its permissions, or choose "
            "another folder"
        )
    return None


def _check_workers(conn: ConnectionConfig, source: Path, where: str) -> None:
    low, high = WORKERS_RANGE
    if not low <= conn.orders.workers <= high:
        raise ConfigError(
            f"{source}: {where}.orders.workers: {conn.orders.workers} is out of range; use "
            f"{low} to {high} (orders sent at once; the default 2 suits most shops)"
        )
    if not low <= conn.catalog.workers <= high:
        raise ConfigError(
            f"{source}: {where}.catalog.workers: {conn.catalog.workers} is out of range; use "
            f"{low} to {high} (catalog items written at once per register; default 1)"
        )


#: the longest order-number prefix (e-conomic's notes.heading holds 250 characters in all)
MAX_NUMBER_PREFIX = 20


def _check_orders_shops(
    conn: ConnectionConfig, names: set[str], erp_spec: AdapterSpec, source: Path, where: str
) -> None:
    for name, shop in conn.orders.shops.items():
        key = f"{source}: {where}.orders.shops.{name}"
        if name not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(
                f"{key}: no shop of this connection is named {name!r}; name one of: {known}"
            )
        if len(shop.number_prefix) > MAX_NUMBER_PREFIX or shop.number_prefix != (
            shop.number_prefix.strip()
        ):
            raise ConfigError(
                f"{key}.number_prefix: {shop.number_prefix!r} must be at most "
                f'{MAX_NUMBER_PREFIX} characters without leading or trailing spaces, e.g. "SE-"'
            )
        _check_currency(f"{key}.currency", shop.currency)
        group = shop.customer_group
        if group is not None:
            if not str(group).strip():
                raise ConfigError(f"{key}.customer_group: is empty; remove the key or name a group")
            if not issubclass(erp_spec.adapter, CustomerGroups):
                raise ConfigError(
                    f"{key}.customer_group: the ERP adapter {erp_spec.kind!r} cannot create "
                    "customers in a chosen group; remove the key (its own default applies)"
                )


def _check_plugin_names(config: Config, plugins: PluginHost, source: Path) -> None:
    """`[daemon] disabled_plugins` and the `[plugins.NAME]` tables name installed plugins: a
    misspelt name would leave a plugin on, or its settings unread, without a word."""
    installed = sorted(plugins.plugins)
    named = [(name, "daemon.disabled_plugins") for name in config.daemon.disabled_plugins]
    named += [(name, f"plugins.{name}") for name in config.plugins]
    for name, key in named:
        if name in plugins.plugins:
            continue
        close = difflib.get_close_matches(name, installed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"installed: {', '.join(installed)}"
        raise ConfigError(
            f"{source}: {key}: no installed plugin is named {name!r} ({hint}); `brygga plugins` "
            "lists them"
        )


def _check_fee_articles(conn: ConnectionConfig, source: Path, where: str) -> None:
    fees = conn.orders.fee_articles
    for row in fees.__struct_fields__:
        article = getattr(fees, row)
        if not article.strip() or article != article.strip():
            raise ConfigError(
                f"{source}: {where}.orders.fee_articles.{row}: {article!r} is no article "
                f"number; name the ERP article for this row, e.g. "
                f"{getattr(FeeArticles(), row)!r}, or remove the key for that default"
            )


def _check_status_shops(conn: ConnectionConfig, names: set[str], source: Path, where: str) -> None:
    if conn.status.watch <= 0 and conn.status.watched():
        raise ConfigError(
            f"{source}: {where}.status.watch: {format_duration(conn.status.watch)} watches no "
            'ERP document, so no status would go back to the shop; e.g. watch = "60d"'
        )
    for name in conn.status.shops:
        if name not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(
                f"{source}: {where}.status.shops.{name}: no shop of this connection is named "
                f"{name!r}; name one of: {known}"
            )


def _check_catalog_shops(conn: ConnectionConfig, names: set[str], source: Path, where: str) -> None:
    for name, shop in conn.catalog.shops.items():
        if shop.stock_buffer < 0:
            raise ConfigError(
                f"{source}: {where}.catalog.shops.{name}.stock_buffer: {shop.stock_buffer} is "
                "below zero; use 0 (no buffer) or the quantity to keep back, e.g. 2"
            )
        if name not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(
                f"{source}: {where}.catalog.shops.{name}: no shop of this connection is named "
                f"{name!r}; name one of: {known}"
            )
        _check_currency(f"{source}: {where}.catalog.shops.{name}.currency", shop.currency)


def _check_currency(key: str, currency: str | None) -> None:
    """A per-shop ``currency`` key, when set, is an ISO 4217 code in capitals."""
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(
            f"{key}: {currency!r} is no ISO 4217 currency code; use three capital letters, "
            'e.g. "SEK" or "NOK"'
        )


def parse_config(text: str, *, source: Path) -> Config:
    """Decode TOML text into a Config (adapter sections stay raw until :func:`load_config`)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, source) from None
    config = _convert(raw, Config, source=source, prefix="", base_dir=source.parent)
    _check_daemon(config, source)
    if not config.connection:
        raise ConfigError(
            f"{source}: no [[connection]] in this file; add one (a name, an ERP and a shop: "
            "see Configuration in the README)"
        )
    seen: set[str] = set()
    for index, conn in enumerate(config.connection):
        if conn.name in seen:
            raise ConfigError(
                f"{source}: connection[{index}].name: duplicate connection name "
                f"{conn.name!r}; every connection needs its own name"
            )
        seen.add(conn.name)
        if not conn.shops:
            raise ConfigError(
                f"{source}: connection[{index}].shops: a connection needs at least one shop"
            )
        _check_workers(conn, source, f"connection[{index}]")
    return config


def _adapter_config(
    raw: dict[str, Any],
    role: Role,
    plugins: PluginHost,
    *,
    source: Path,
    where: str,
    missing: list[str],
) -> tuple[AdapterSpec, AdapterConfig]:
    """The adapter's spec and decoded config. A secret that cannot be read (env variable
    unset, file missing) is added to ``missing`` and decoded as a stand-in, so that one run of
    the loader names every such secret (the caller refuses the config when it is not empty)."""
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{source}: {where}.kind: missing; say which {role.value} this is")
    spec = plugins.adapter(kind, role, where=f"{source}: {where}.kind")
    unread = _unread_secrets(raw, spec.config_type, source.parent)
    for name, reason in unread.items():
        missing.append(f"{source}: {where}.{name}: {reason}")
    table = {**raw, **dict.fromkeys(unread, _STAND_IN)}
    cfg = _convert(table, spec.config_type, source=source, prefix=where, base_dir=source.parent)
    return spec, cfg


#: what an unreadable secret decodes as while the loader goes on to find the others (never
#: leaves :func:`load_config`: a config with one is refused); long and URL-safe, so no check of
#: a secret's form (a webhook token's length) adds a misleading error of its own
_STAND_IN = "unread-secret-stand-in-0123456789abcdef"


def _secret_fields(config_type: type) -> list[str]:
    """The fields of an adapter config type that hold a Secret (or an optional one)."""
    try:
        hints = typing.get_type_hints(config_type)
    except (NameError, TypeError):  # a plugin's annotations that cannot be resolved
        return []
    return [
        name for name, hint in hints.items() if hint is Secret or Secret in typing.get_args(hint)
    ]


def _unread_secrets(raw: dict[str, Any], config_type: type, base_dir: Path) -> dict[str, str]:
    """Each secret field of ``raw`` whose ``{ env = ... }`` or ``{ file = ... }`` cannot be
    read, with why (naming the variable or file, never a value). Other forms are left to the
    decoder's own error."""
    unread = {}
    for name in _secret_fields(config_type):
        value = raw.get(name)
        if not isinstance(value, dict):
            continue
        try:
            resolve_secret(value, base_dir=base_dir)
        except ValueError as exc:
            unread[name] = str(exc)
    return unread


#: shortest webhook URL token accepted: the token is the receiver's only credential
MIN_WEBHOOK_TOKEN = 20
#: a webhook token is a segment of the receiver's URL path: only URL-safe characters
WEBHOOK_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
_NEW_TOKEN_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _check_webhook_token(spec: AdapterSpec, cfg: AdapterConfig, source: Path, where: str) -> None:
    """The token must suit the receiver's URL; errors name the key and the token's source,
    never its value."""
    token = cfg.webhook_token
    if token is None:
        return
    if not spec.capabilities.webhooks:
        raise ConfigError(
            f"{source}: {where}.webhook_token: adapter {spec.kind!r} receives no webhooks; "
            "remove the key"
        )
    if len(token.reveal()) < MIN_WEBHOOK_TOKEN:
        raise ConfigError(
            f"{source}: {where}.webhook_token: too short ({token.source}); use at least "
            f"{MIN_WEBHOOK_TOKEN} random characters; {_NEW_TOKEN_HINT}"
        )
    if WEBHOOK_TOKEN_CHARS.fullmatch(token.reveal()) is None:
        raise ConfigError(
            f"{source}: {where}.webhook_token: only letters, digits and - _ . ~ are allowed "
            f"({token.source}), as the token is part of the webhook URL; {_NEW_TOKEN_HINT}"
        )


def settle_seconds(spec: AdapterSpec, cfg: AdapterConfig) -> float:
    """How long an in-doubt write to this system is given to land (config, else adapter)."""
    return float(cfg.settle) if cfg.settle is not None else spec.capabilities.settle


def _check_settle(spec: AdapterSpec, cfg: AdapterConfig, source: Path, where: str) -> None:
    timeout = DEFAULT_TIMEOUT.read or 0.0
    if settle_seconds(spec, cfg) <= timeout:
        raise ConfigError(
            f"{source}: {where}.settle: must be longer than the HTTP client timeout "
            f"({timeout:g}s), or a write that timed out could be sent twice; e.g. settle = "
            f'"{2 * timeout:g}s"'
        )


def _check_timezone(
    raw: dict[str, Any], cfg: AdapterConfig, source: Path, where: str, *, shop: bool
) -> None:
    if not shop:
        if "timezone" in raw:
            raise ConfigError(
                f"{source}: {where}.timezone: documents are dated in each shop's time zone; "
                "set `timezone` on the shop and remove it here"
            )
        return
    try:
        zone_info(cfg.timezone)
    except ValueError as exc:
        raise ConfigError(f"{source}: {where}.timezone: {exc}") from None


def is_local_host(host: str) -> bool:
    """True for this machine (loopback addresses, ``localhost`` and ``*.localhost``) and for
    ``*.test``, which RFC 6761 reserves for testing: no such name is a host on the internet."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith((".localhost", ".test")):
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


_LOCAL_HOSTS = "127.0.0.1, ::1, localhost"


def _check_base_url(cfg: AdapterConfig, source: Path, where: str) -> bool:
    """Credentials travel over https only (http only to this machine); True if it is local.
    Errors show the scheme and host, never a user name or password written into the URL."""
    if not cfg.base_url:
        return False
    try:
        parts = urlsplit(cfg.base_url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        host, parts = "", urlsplit("")
    if parts.scheme == "https" and host:
        return is_local_host(host)
    if parts.scheme == "http" and host:
        if is_local_host(host):
            return True
        raise ConfigError(
            f"{source}: {where}.base_url: http://{host} would send the credentials in clear "
            f"text; use https:// (plain http:// is accepted only for this machine: {_LOCAL_HOSTS})"
        )
    raise ConfigError(
        f"{source}: {where}.base_url: not an https:// URL with a host name; write it in full, "
        "e.g. https://butiken.starwebserver.se/api/v2"
    )


#: the shortest poll interval per register when a connection talks to remote systems: every
#: poll is at least one request to the shop or ERP (webhooks bring orders in sooner)
POLL_FLOORS: dict[str, float] = {
    "orders": 5.0,
    "status": 5.0,
    "stock": 30.0,
    "products": 60.0,
    "prices": 60.0,
    "price_lists": 60.0,
}
#: the floor for every register when all of a connection's systems are on this machine
#: (simulators: the demo, tests), where a poll costs nobody anything
LOCAL_POLL_FLOOR = 0.5


def _check_poll(conn: ConnectionConfig, local: bool, source: Path, where: str) -> None:
    for register, floor in POLL_FLOORS.items():
        seconds = float(getattr(conn.poll, register))
        least = LOCAL_POLL_FLOOR if local else floor
        if seconds < least:
            scope = "when every system is on this machine" if local else "against remote systems"
            default = format_duration(getattr(PollConfig(), register))
            raise ConfigError(
                f"{source}: {where}.poll.{register}: {format_duration(seconds)} is too often; "
                f"{register} is polled at most every {format_duration(least)} {scope} (each "
                f'poll is a request), e.g. {register} = "{default}"'
            )


def _fingerprint(raw: dict[str, Any], adapter_configs: list[AdapterConfig]) -> str:
    """A digest (not the text: inline secrets live in ``raw``) of the raw table and the
    resolved secret values, so a rotated secret file also counts as a change."""
    secrets = []
    for cfg in adapter_configs:
        for name in cfg.__struct_fields__:
            value = getattr(cfg, name)
            if isinstance(value, Secret):
                secrets.append(value.reveal())
    text = msgspec.json.encode([raw, secrets], order="sorted")
    return hashlib.sha256(text).hexdigest()


def load_config(path: Path, plugins: PluginHost) -> LoadedConfig:
    """Read, validate and resolve a config file; raise ConfigError with a one-line message."""
    text = read_config_text(path)
    config = parse_config(text, source=path)
    raw_connections = tomllib.loads(text).get("connection", [])
    _check_plugin_names(config, plugins, path)
    missing: list[str] = []
    try:
        resolved = _resolve(config, raw_connections, plugins, path, missing)
    except ConfigError as exc:
        # the secrets found missing before it, then the error itself
        raise ConfigError("\n".join([*missing, str(exc)])) from None
    if missing:
        raise ConfigError("\n".join(missing))
    return LoadedConfig(path=path, config=config, connections=tuple(resolved))


def _resolve(
    config: Config,
    raw_connections: list[dict[str, Any]],
    plugins: PluginHost,
    path: Path,
    missing: list[str],
) -> list[ResolvedConnection]:
    """Each connection with its adapters' specs and configs (see :func:`_adapter_config`
    for ``missing``)."""
    resolved = []
    for index, conn in enumerate(config.connection):
        where = f"connection[{index}]"
        erp_spec, erp_cfg = _adapter_config(
            conn.erp, Role.ERP, plugins, source=path, where=f"{where}.erp", missing=missing
        )
        shop_specs, shop_cfgs = [], []
        names: set[str] = set()
        local = _check_base_url(erp_cfg, path, f"{where}.erp")
        for s_index, shop in enumerate(conn.shops):
            spec, cfg = _adapter_config(
                shop,
                Role.SHOP,
                plugins,
                source=path,
                where=f"{where}.shops[{s_index}]",
                missing=missing,
            )
            if not cfg.name:
                if len(conn.shops) > 1:
                    raise ConfigError(
                        f"{path}: {where}.shops[{s_index}].name: several shops on one "
                        "connection need a name each"
                    )
                cfg.name = cfg.kind
            _check_webhook_token(spec, cfg, path, f"{where}.shops[{s_index}]")
            local = _check_base_url(cfg, path, f"{where}.shops[{s_index}]") and local
            _check_timezone(shop, cfg, path, f"{where}.shops[{s_index}]", shop=True)
            if cfg.name in names:
                raise ConfigError(
                    f"{path}: {where}.shops[{s_index}].name: duplicate shop name {cfg.name!r}"
                )
            names.add(cfg.name)
            shop_specs.append(spec)
            shop_cfgs.append(cfg)
        if not erp_cfg.name:
            erp_cfg.name = erp_cfg.kind
        _check_webhook_token(erp_spec, erp_cfg, path, f"{where}.erp")
        _check_timezone(conn.erp, erp_cfg, path, f"{where}.erp", shop=False)
        _check_settle(erp_spec, erp_cfg, path, f"{where}.erp")
        _check_poll(conn, local, path, where)
        _check_catalog_shops(conn, names, path, where)
        _check_orders_shops(conn, names, erp_spec, path, where)
        _check_fee_articles(conn, path, where)
        _check_status_shops(conn, names, path, where)
        resolved.append(
            ResolvedConnection(
                config=conn,
                erp_spec=erp_spec,
                erp=erp_cfg,
                shop_specs=tuple(shop_specs),
                shops=tuple(shop_cfgs),
                fingerprint=_fingerprint(raw_connections[index], [erp_cfg, *shop_cfgs]),
            )
        )
    return resolved
