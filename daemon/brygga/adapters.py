"""The contracts every shop and ERP adapter implements, and how a plugin describes one."""

from __future__ import annotations

import enum
import importlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, cast, runtime_checkable

import msgspec

from brygga.documents import Document
from brygga.durations import Duration
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimit
from brygga.models import (
    Customer,
    DocumentRef,
    DocumentType,
    LineKind,
    Order,
    OrderChange,
    Register,
)
from brygga.secrets import Secret

__all__ = [
    "AdapterConfig",
    "AdapterContext",
    "AdapterSpec",
    "Capabilities",
    "DocumentBooker",
    "DocumentChecker",
    "ErpAdapter",
    "HelperArticle",
    "LazySimulator",
    "RemoteFinding",
    "RemoteNeeds",
    "RemoteVerifier",
    "Role",
    "ShopAdapter",
]

#: An ASGI application (a simulator). Typed loosely on purpose: ASGI is a calling convention.
AsgiApp = Callable[..., Any]


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

    def load(self) -> Callable[..., AsgiApp]:
        """The class or factory ``target`` names (imported now)."""
        module, _, attr = self.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr, None)
        except ImportError as exc:
            raise ImportError(f"simulator {self.target!r}: {exc}") from exc
        if not callable(factory):
            raise ImportError(f"simulator {self.target!r}: {module} has no callable {attr!r}")
        return cast(Callable[..., AsgiApp], factory)

    def __call__(self, **options: Any) -> AsgiApp:
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
    #: shops that push change notices: the secret last part of the receiver URL
    #: ``/webhooks/<connection>/<token>`` (at least 20 random characters)
    webhook_token: Secret | None = None
    #: shops: the IANA time zone whose calendar dates the ERP documents (an order at 00:30 on
    #: 1 January belongs to the new year); an ERP table may not set it
    timezone: str = "Europe/Stockholm"
    #: how long a write whose outcome is unknown (timeout, dropped connection, kill) is given to
    #: land before an empty lookup by reference may lead to a new send; the adapter's
    #: ``Capabilities.settle`` when unset. Must be longer than the HTTP client timeout.
    settle: Duration | None = None


@dataclass(frozen=True)
class Capabilities:
    """A static description of what an adapter's system can do; `brygga check` reads it to
    refuse impossible flows and `brygga plugins` prints it."""

    #: registers this system can be the *source* of
    reads: frozenset[Register] = frozenset()
    #: registers this system can *receive*
    writes: frozenset[Register] = frozenset()
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
    #: sentences for the flow table and `brygga plugins` (what is modelled vs documented)
    notes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "reads": sorted(r.value for r in self.reads),
            "writes": sorted(r.value for r in self.writes),
            "document_types": sorted(d.value for d in self.document_types),
            "variants": self.variants,
            "price_lists": self.price_lists,
            "campaign_price": self.campaign_price,
            "webhooks": self.webhooks,
            "lookup_by_reference": self.lookup_by_reference,
            "rate_limit": (
                f"{self.rate_limit.requests}/{self.rate_limit.per_seconds:g}s"
                if self.rate_limit
                else None
            ),
        }


@dataclass(frozen=True)
class AdapterContext:
    """What the daemon gives an adapter when it builds one."""

    connection: str
    instance: str
    http: HttpContext = field(default_factory=HttpContext)


@runtime_checkable
class ShopAdapter(Protocol):
    """A web shop, seen through canonical models."""

    def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Yield orders modified in ``[since, until)`` (aware UTC), in (modified_at, id) order.

        May yield an order more than once (drifting pages); callers dedupe. Implement it as an
        ``async def`` generator.
        """
        ...

    async def fetch_order(self, shop_order_id: str) -> Order:
        """The full order with lines and customer. Raises PermanentError when the shop's data
        cannot be mapped (the message names the order and the field)."""
        ...

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """Record the ERP document number on the shop order (idempotent)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ErpAdapter(Protocol):
    """An ERP / accounting system, seen through canonical models."""

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        """The ERP customer number of the first match, trying ``match_on`` keys in order
        (``customer_number``, ``email``, ``org_number``); None when nothing matches."""
        ...

    async def create_customer(self, customer: Customer, currency: str) -> str:
        """Create the customer; return its ERP customer number."""
        ...

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        """The document created with this external reference, or None."""
        ...

    async def create_document(self, document: Document) -> DocumentRef:
        """Create (and book, when ``document.book``) the document. Raises PermanentError for
        unknown articles or VAT rates, naming the order, the row and the fix."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class DocumentChecker(Protocol):
    """An ERP that can tell, without writing anything, whether a document would be refused
    for good (unknown articles, VAT rates, prices). The orders flow asks before it creates
    anything remote, so a failing order leaves no customer behind."""

    async def check_document(self, document: Document) -> None:
        """Raise PermanentError naming the order, the row and the fix; ``customer_number``
        may still be empty."""
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


@dataclass(frozen=True)
class AdapterSpec:
    """How a plugin registers an adapter kind."""

    kind: str
    role: Role
    config_type: type[AdapterConfig]
    capabilities: Capabilities
    factory: Callable[[Any, AdapterContext], ShopAdapter | ErpAdapter]
    description: str = ""
    #: builds the system's simulator (an ASGI app) from keyword options; None if none ships.
    #: First-party plugins pass a :class:`LazySimulator`, so the daemon never imports one.
    simulator: Callable[..., AsgiApp] | None = None
    plugin: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
