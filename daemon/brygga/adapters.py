"""The contracts every shop and ERP adapter implements, and how a plugin describes one."""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar, cast, runtime_checkable
from urllib.parse import urlsplit

import msgspec

from brygga.accountstate import AdapterStateStore, MemoryAdapterState
from brygga.documents import Document
from brygga.durations import Duration
from brygga.http.client import HttpContext, RemoteClient, account_key
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import Customer, DocumentRef, DocumentType, LineKind, OrderEvent, Register
from brygga.registers import (
    PROVIDES,
    DocumentSink,
    ExportMark,
    OrderSource,
    Registers,
    StatusSink,
    StatusSource,
    protocols_of,
    registers_of,
)
from brygga.secrets import Secret

__all__ = [
    "AdapterConfig",
    "AdapterContext",
    "AdapterSpec",
    "Capabilities",
    "ConfigNeeds",
    "CustomerGroups",
    "DocumentBooker",
    "DocumentCanceller",
    "DocumentChecker",
    "DocumentSink",
    "ErpAdapter",
    "ExportMark",
    "HelperArticle",
    "LazySimulator",
    "OrderSource",
    "PushAnswer",
    "PushReceiver",
    "ReferenceReader",
    "RemoteFinding",
    "RemoteNeeds",
    "RemoteVerifier",
    "Role",
    "ShopAdapter",
    "StatusOption",
    "StatusSink",
    "StatusSource",
    "adapter_factory",
    "remote_account",
    "remote_client",
]

if TYPE_CHECKING:  # the daemon never imports the test kit at run time
    from brygga.testing.simulators import ErpSimulator, ShopSimulator

    #: what a simulator factory builds: an object with the control surface tests drive
    #: (``app``, ``faults``, ``adapter_config``, ...), not a bare ASGI app
    Simulator: TypeAlias = ShopSimulator | ErpSimulator


@dataclass(frozen=True)
class LazySimulator:
    """A simulator named by ``"module:attr"`` and imported when it is first built, so loading
    a plugin does not import its simulator (the daemon never builds one). Call it like the
    class it names: ``spec.simulator(seed=3)``."""

    target: str

    def __post_init__(self) -> None:
        module, _, attr = self.target.partition(":")
        if not module or not attr:
            raise ValueError(f"LazySimulator({self.target!r}): expected 'module:attr'")

    def load(self) -> Callable[..., Simulator]:
        """The class or factory ``target`` names (imported now)."""
        module, _, attr = self.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr, None)
        except ImportError as exc:
            raise ImportError(f"simulator {self.target!r}: {exc}") from exc
        if not callable(factory):
            raise ImportError(f"simulator {self.target!r}: {module} has no callable {attr!r}")
        return cast("Callable[..., Simulator]", factory)

    def __call__(self, **options: Any) -> Simulator:
        return self.load()(**options)


class Role(enum.StrEnum):
    SHOP = "shop"
    ERP = "erp"


class AdapterConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for an adapter's config Struct. ``kind`` selects the adapter; ``name`` names the
    instance (shops need one each; the ERP defaults to its kind). Secret fields are typed
    :class:`brygga.secrets.Secret` and resolved from ``{env=…}``/``{file=…}`` at load time."""

    kind: str
    name: str = ""
    base_url: str = ""
    #: shops and ERPs that send change notices (webhooks): the secret last part of the URL
    #: ``/webhooks/<connection>/<token>`` (at least 20 random characters)
    webhook_token: Secret | None = None
    #: shops: the IANA time zone whose calendar dates the ERP documents (an order at 00:30 on
    #: 1 January belongs to the new year); an ERP table may not set it
    timezone: str = "Europe/Stockholm"
    #: how long a write whose outcome is unknown (timeout, dropped connection, kill) is given to
    #: land before an empty lookup by reference may lead to a new send; the adapter's
    #: ``Capabilities.settle`` when unset. Must be longer than the HTTP client timeout.
    settle: Duration | None = None


class StatusOption(enum.StrEnum):
    """What a status write can do besides setting the status: the switches of a
    ``[connection.status.<event>]`` rule (``email = true`` and so on)."""

    #: the shop e-mails the customer about the change, or not, as the rule says
    EMAIL = "email"
    #: the ERP's tracking number (and carrier) goes along
    TRACKING = "tracking"
    #: the shop captures the reserved payment
    CAPTURE = "capture"


@dataclass(frozen=True)
class Capabilities:
    """What an adapter's system can do that its code cannot show; `brygga check` reads it to
    refuse impossible flows and `brygga plugins` prints it. What the adapter reads and writes
    is not here: it follows from the protocols its class implements (:func:`registers_of`)."""

    #: ERP document types (ERP adapters only)
    document_types: frozenset[DocumentType] = frozenset()
    variants: bool = False
    price_lists: bool = False
    campaign_price: bool = False
    webhooks: bool = False
    #: can find a document it created by our external reference (exactly-once on recovery)
    lookup_by_reference: bool = False
    #: seconds a write whose outcome is unknown may take to land at the remote (longer than
    #: the HTTP client timeout); the ``settle`` config key overrides it
    settle: float = 60.0
    #: the vendor's published limit per account; None when none is published
    rate_limit: RateLimit | None = None
    #: the order events a status source (ERP) can report; a ``[connection.status]`` rule for
    #: another one is refused by `brygga check` (it would never fire)
    status_events: frozenset[OrderEvent] = frozenset()
    #: shops: what a status write can do besides the status; a status rule that turns on
    #: another one is refused by `brygga check` and the daemon's start (it could not be done).
    #: All of them unless the adapter says less (Vendure has no e-mail switch).
    status_options: frozenset[StatusOption] = frozenset(StatusOption)
    #: sentences for the flow table and `brygga plugins` (what is modelled vs documented)
    notes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "document_types": sorted(d.value for d in self.document_types),
            "variants": self.variants,
            "price_lists": self.price_lists,
            "campaign_price": self.campaign_price,
            "webhooks": self.webhooks,
            "lookup_by_reference": self.lookup_by_reference,
            "status_events": sorted(e.value for e in self.status_events),
            "status_options": sorted(o.value for o in self.status_options),
            "rate_limit": (
                f"{self.rate_limit.requests}/{self.rate_limit.per_seconds:g}s"
                if self.rate_limit
                else None
            ),
        }


@dataclass(frozen=True)
class AdapterContext:
    """What the daemon gives an adapter when it builds one.

    ``http`` is the given context bound to ``connection`` (:meth:`HttpContext.for_connection`),
    so every client the adapter builds takes its rate-limit turns as the connection's."""

    connection: str
    instance: str
    http: HttpContext = field(default_factory=HttpContext)
    #: durable per-account state (the daemon's state file; in memory where there is none)
    state: AdapterStateStore = field(default_factory=MemoryAdapterState)

    def __post_init__(self) -> None:
        object.__setattr__(self, "http", self.http.for_connection(self.connection))


class RemoteConfig(Protocol):
    """What :func:`remote_client` reads of an adapter's config."""

    @property
    def base_url(self) -> str: ...

    @property
    def rate_limit(self) -> RateLimit | None: ...


def remote_account(base_url: str, *credentials: str) -> str:
    """The rate limiter's (and the shared caches') key of the account ``credentials`` name on
    the host of ``base_url`` (:func:`brygga.http.client.account_key`)."""
    return account_key(urlsplit(base_url).netloc or base_url, *credentials)


def remote_client(
    config: RemoteConfig,
    context: AdapterContext,
    system: str,
    *credentials: str,
    account: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    default_limit: RateLimit = DEFAULT_RATE_LIMIT,
) -> RemoteClient:
    """The client an adapter talks to its system with: on ``context``'s HTTP context, at
    ``base_url`` (the config's when not given), for ``account`` (or the
    :func:`remote_account` of ``credentials`` on the config's base URL), limited by the
    config's ``rate_limit`` or else ``default_limit``."""
    return RemoteClient(
        system=system,
        base_url=config.base_url if base_url is None else base_url,
        context=context.http,
        account=remote_account(config.base_url, *credentials) if account is None else account,
        rate_limit=config.rate_limit or default_limit,
        headers=headers,
    )


_Config = TypeVar("_Config", bound=AdapterConfig)
_Adapter = TypeVar("_Adapter")


def adapter_factory(
    config_type: type[_Config], build: Callable[[_Config, AdapterContext], _Adapter]
) -> Callable[[Any, AdapterContext], _Adapter]:
    """The :attr:`AdapterSpec.factory` that builds an adapter with ``build`` from a
    ``config_type`` config (a TypeError for any other config)."""

    def create_adapter(config: Any, context: AdapterContext) -> _Adapter:
        """The AdapterSpec factory."""
        if not isinstance(config, config_type):
            raise TypeError(f"expected {config_type.__name__}, got {type(config).__name__}")
        return build(config, context)

    return create_adapter


@runtime_checkable
class ShopAdapter(OrderSource, ExportMark, Protocol):
    """A web shop, seen through canonical models: the least a shop adapter implements (the
    orders flow). It may implement more per-register protocols, e.g. :class:`StatusSink`."""

    async def aclose(self) -> None: ...


@runtime_checkable
class ErpAdapter(DocumentSink, Protocol):
    """An ERP / accounting system, seen through canonical models: the least an ERP adapter
    implements (the orders flow)."""

    async def aclose(self) -> None: ...


@runtime_checkable
class ConfigNeeds(Protocol):
    """An adapter config (and its adapter) with keys needed only when its system receives
    some register, e.g. the product group e-conomic puts new products in, needed only when
    products flow into it. `brygga check`, the daemon's start and `brygga sync products` ask
    it with the registers the connection (or the sync's direction) writes into the system,
    and refuse the config (exit 2) on any sentence."""

    def write_problems(self, registers: frozenset[Register]) -> list[str]:
        """One sentence per problem for a system that receives ``registers``, naming the
        key and the fix (empty: fine); synchronous, no I/O, never a secret."""
        ...


@runtime_checkable
class DocumentChecker(Protocol):
    """An ERP that can tell, without writing anything, whether a document would be refused
    for good (unknown articles, VAT rates, prices). The orders flow asks before it creates
    anything remote, so a failing order leaves no customer behind."""

    async def check_document(self, document: Document) -> None:
        """Raise PermanentError naming the order, the row and the fix; ``customer_number``
        may still be empty."""
        ...


@runtime_checkable
class PushReceiver(Protocol):
    """A shop that pushes whole orders to the daemon (a receiver at
    ``/webhooks/<connection>/<webhook_token>``) instead of being polled for them.

    The daemon hands each request's body and headers to :meth:`accept_push`; the adapter
    verifies it and keeps what it needs durably (``AdapterContext.state``) before it returns,
    so :meth:`OrderSource.changed_orders` yields the order on the next poll, which the
    receiver then wakes. The sender retries a push that was not answered 2xx, so accepting
    the same push twice must change nothing."""

    async def accept_push(self, body: bytes, headers: Mapping[str, str]) -> PushAnswer | None:
        """Return the body the sender expects with the 200 (None: a plain "ok"). Raise
        PermanentError for a push that can never be accepted (the sender is answered 400 with
        the error's message), TransientError for one it should send again (503)."""
        ...


@dataclass(frozen=True)
class PushAnswer:
    """What a shop's push receiver answers a kept push with (e.g. Norce's OrderResponse)."""

    body: bytes
    media_type: str = "application/json"


@runtime_checkable
class CustomerGroups(Protocol):
    """An ERP whose new customers can be created in a customer group chosen per shop
    (``[connection.orders.shops.<shop>] customer_group``): one ERP, several shops, each shop's
    customers in their own group. An ERP without it creates customers in its own default."""

    async def create_customer_in_group(
        self, customer: Customer, currency: str, group: int | str
    ) -> str:
        """Create the customer in ``group`` (the ERP's own group number or code); return its
        ERP customer number. Raises PermanentError naming the group when the ERP has none
        such or cannot take this value."""
        ...


@dataclass(frozen=True)
class HelperArticle:
    """An article the orders flow puts on documents for ``kind`` rows (freight, handling,
    discount, rounding), and the VAT rates such rows can have."""

    kind: LineKind
    number: str
    rates: tuple[Decimal, ...]


@dataclass(frozen=True)
class RemoteNeeds:
    """What a connection needs from the remote system, for `brygga check --remote`."""

    helper_articles: tuple[HelperArticle, ...] = ()
    #: shops: the order statuses the connection's status rules name
    shop_statuses: tuple[str, ...] = ()
    #: ERPs: (shop, customer group) for each shop whose new customers go to a group of its own
    #: (``[connection.orders.shops.<shop>] customer_group``)
    customer_groups: tuple[tuple[str, str], ...] = ()
    #: the registers the connection reads from this system (it is their source, e.g. stock
    #: from an ERP that masters it) and writes to it (their target), so an adapter can check
    #: what that use needs (e-conomic: the inventory module for stock)
    reads: tuple[Register, ...] = ()
    writes: tuple[Register, ...] = ()


@dataclass(frozen=True)
class RemoteFinding:
    """One read-only check against the remote system: ``check`` names what was checked
    (e.g. "layout 19"); ``detail`` says what was found, or the problem and its fix. Neither
    may contain a secret."""

    check: str
    ok: bool
    detail: str = ""


@runtime_checkable
class RemoteVerifier(Protocol):
    """An adapter that can verify its credentials and the remote data a config relies on."""

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Check with reads only (never a write); an unreachable system or refused
        credentials is a finding, not an exception."""
        ...


@runtime_checkable
class DocumentBooker(Protocol):
    """An ERP that can book (finalise) a draft it holds. Reconciliation uses it when a draft
    found by reference must be booked (``book = true``)."""

    async def book_document(self, document: DocumentRef) -> DocumentRef:
        """Book the draft ``document``; return the booked document (its final number)."""
        ...


@runtime_checkable
class DocumentCanceller(Protocol):
    """An ERP that can cancel a document it holds for an order cancelled in the shop after
    its transfer (``[connection.orders] shop_changes = "cancel"``)."""

    async def cancel_document(self, document: DocumentRef) -> None:
        """Cancel ``document`` (as :meth:`DocumentSink.find_document` found it). Raises
        PermanentError naming the document and what to do by hand when it can no longer be
        cancelled (e.g. a booked invoice needs a credit note)."""
        ...


@runtime_checkable
class ReferenceReader(Protocol):
    """An adapter whose documents need reference data of its system (a product list, a VAT
    chain, ...) that it reads lazily and keeps per account
    (:attr:`brygga.http.client.HttpContext.shared`).

    When the daemon starts a connection it calls :meth:`prepare` in the connection's own task
    group, beside the first polls, so the first order finds the data read instead of reading
    it inside its own transfer. The start never waits for it: an error is logged (scrubbed)
    and the first use reads the data as it would without a warm-up; a stop cancels it. The
    reads must go through the same single-flight cache the lazy reads use, so an order that
    needs the data while :meth:`prepare` reads it waits for that read instead of making a
    second one."""

    async def prepare(self) -> None:
        """Read the reference data the first document will need (reads only, never a
        write); raise BryggaError (or any error) when it cannot: nothing depends on it."""
        ...


#: what each role's adapter class must implement at least: the orders flow
_MINIMUM: dict[Role, type] = {Role.SHOP: ShopAdapter, Role.ERP: ErpAdapter}
#: optional protocols that are no register's: `brygga plugins` lists them with the others
_EXTRAS: tuple[type, ...] = (
    DocumentChecker,
    DocumentBooker,
    DocumentCanceller,
    CustomerGroups,
    RemoteVerifier,
    PushReceiver,
    ReferenceReader,
)


def _lacks(adapter: type, minimum: type) -> list[str]:
    """What of ``minimum`` the class ``adapter`` lacks, e.g. ``["ExportMark (mark_exported)"]``."""
    parts = [base for base in minimum.__mro__ if base in PROVIDES]
    lacks = [
        f"{part.__name__} ({', '.join(m for m in vars(part) if not m.startswith('_'))})"
        for part in parts
        if not issubclass(adapter, part)
    ]
    if not callable(getattr(adapter, "aclose", None)):
        lacks.append("aclose")
    return lacks


@dataclass(frozen=True)
class AdapterSpec:
    """How a plugin registers an adapter kind. What the adapter reads and writes is derived
    from the protocols ``adapter`` implements; refused at registration when it is not even a
    shop (``ShopAdapter``) or ERP (``ErpAdapter``) adapter."""

    kind: str
    role: Role
    config_type: type[AdapterConfig]
    capabilities: Capabilities
    factory: Callable[[Any, AdapterContext], ShopAdapter | ErpAdapter]
    #: the class ``factory`` builds (read, never instantiated, to derive what it can do)
    adapter: type[ShopAdapter] | type[ErpAdapter]
    description: str = ""
    #: builds the system's simulator from keyword options (a ShopSimulator or ErpSimulator of
    #: :mod:`brygga.testing.simulators`: ``app`` is its ASGI app); None if none ships.
    #: First-party plugins pass a :class:`LazySimulator`, so the daemon never imports one.
    simulator: Callable[..., Simulator] | None = None
    plugin: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.adapter, type):
            raise TypeError(f"adapter kind {self.kind!r}: adapter must be a class")
        lacks = _lacks(self.adapter, _MINIMUM[self.role])
        if lacks:
            raise TypeError(
                f"adapter kind {self.kind!r}: {self.adapter.__name__} is not a "
                f"{self.role.value} adapter: it lacks {', '.join(lacks)}"
            )

    @property
    def registers(self) -> Registers:
        """What the adapter reads and writes (from the protocols its class implements)."""
        return registers_of(self.adapter)

    @property
    def protocols(self) -> tuple[type, ...]:
        """The per-register and optional protocols the adapter class implements."""
        extras = tuple(p for p in _EXTRAS if issubclass(self.adapter, p))
        return protocols_of(self.adapter) + extras

    def describe(self) -> dict[str, Any]:
        """What `brygga plugins` prints: protocols, registers read and written, capabilities."""
        registers = self.registers
        return {
            "protocols": [p.__name__ for p in self.protocols],
            "reads": sorted(r.value for r in registers.reads),
            "writes": sorted(r.value for r in registers.writes),
            **self.capabilities.describe(),
        }
