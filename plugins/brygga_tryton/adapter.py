"""Tryton ERP adapter (trytond JSON-RPC, session auth): parties, sales, invoices, status, stock.

Tested against a real trytond 8.2 (``tests/real/tryton``, started by the tests on loopback with
``brygga_tryton.realserver``). What is documented and what is chosen:

- Transport and login: :mod:`brygga_tryton.api` (``POST /<db>/rpc/``, ``common.db.login``,
  ``Authorization: Session …``, the user's context on every call; reference erp-apis.md
  §5.1–§5.3 and real-peers.md §A, both verified against the real server).
- Rate limit: Tryton publishes none (it throttles only logins, 5 per 300 s); brygga keeps to
  10 requests/s per database and user [chosen]; ``rate_limit`` overrides it.
- Customers and documents: :mod:`brygga_tryton.documents` (party code = customer number; a
  ``sale.sale`` with our reference in ``reference``, found by exact match; quoted, confirmed,
  processed; ``invoice`` documents are sales processed at once whose invoice is posted when
  booked).
- Exactly once: Tryton has no idempotency key (reference §5.5); each RPC is one transaction,
  so an error answer wrote nothing, and only a write without an answer (or a 5xx) is in doubt
  (``TransientError(in_doubt=True)``): the engine then looks the reference up before any new
  send (DESIGN §2.1). ``create_document`` does not look up first, as e-conomic's does not.
- Order status: :mod:`brygga_tryton.status`; products, list prices and stock:
  :mod:`brygga_tryton.catalog`. No price lists (the ``product_price_list`` module is not part
  of the set brygga is tested with), no variants structure (each variant is its own article).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Literal

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    Capabilities,
    DocumentBooker,
    DocumentCanceller,
    DocumentChecker,
    ErpAdapter,
    RemoteFinding,
    RemoteNeeds,
    RemoteVerifier,
    adapter_factory,
    remote_client,
)
from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.documents import Document
from brygga.errors import BryggaError, PermanentError
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import Customer, DocumentRef, DocumentState, DocumentType
from brygga.registers import ProductSource, StatusSource, StockSource
from brygga.secrets import Secret
from brygga_tryton import wire
from brygga_tryton.api import TrytonApi
from brygga_tryton.catalog import TrytonCatalog
from brygga_tryton.documents import SaleBook
from brygga_tryton.status import STATUS_EVENTS, document_states

__all__ = ["CAPABILITIES", "TrytonAdapter", "TrytonConfig", "create_adapter"]

log = logging.getLogger(__name__)

#: longest reference brygga writes (sale.sale.reference is an unbounded Char; ours) [chosen]
MAX_REFERENCE = 250

CAPABILITIES = Capabilities(
    document_types=frozenset({DocumentType.ORDER, DocumentType.INVOICE}),
    variants=False,
    price_lists=False,
    campaign_price=False,
    webhooks=False,
    lookup_by_reference=True,
    # each RPC is one short transaction; 60 s is twice the client timeout
    settle=60.0,
    rate_limit=DEFAULT_RATE_LIMIT,
    status_events=STATUS_EVENTS,
    notes=(
        "trytond JSON-RPC (POST /<database>/rpc/), session login; tested against trytond 8.2.",
        "Tryton publishes no rate limit; brygga keeps under 10 requests/s per database and user.",
        "Customers are parties; the party code is the customer number.",
        "Orders become sales with brygga's reference in sale.reference (found by exact "
        "match): quoted, and confirmed and processed when booked. An invoice document is a "
        "sale processed at once; booking posts its invoice.",
        "Rows: products by code (the SKU), taxes by VAT rate; a row discount is folded into "
        "the unit price (Tryton's sale line has none).",
        "Order status: invoiced (invoice posted), paid, delivered / partially delivered "
        "(customer shipments done), cancelled; no tracking number.",
        "Stock: forecast (default) or on-hand quantity in the warehouse; list prices read from "
        "product templates; no price lists, no variant structure.",
    ),
)


class TrytonConfig(AdapterConfig, kw_only=True):
    """``[connection.erp]`` for ``kind = "tryton"``."""

    kind: str = "tryton"
    #: where trytond listens, e.g. ``https://erp.example.se`` (no database in it)
    base_url: str
    database: str
    login: str
    password: Secret
    language: str = "en"
    #: the code of the ``stock.location`` warehouse stock is read in (default: the first)
    warehouse: str = ""
    #: ``forecast``: on hand less confirmed sales; ``available``: on hand
    stock_quantity: Literal["forecast", "available"] = "forecast"
    rate_limit: RateLimit | None = None


class TrytonAdapter(
    ErpAdapter,
    DocumentChecker,
    DocumentBooker,
    DocumentCanceller,
    RemoteVerifier,
    StatusSource,
    StockSource,
    ProductSource,
):
    """The Tryton side of a connection."""

    def __init__(self, config: TrytonConfig, context: AdapterContext) -> None:
        self.config = config
        client = remote_client(
            config,
            context,
            "tryton",
            config.database,
            config.login,
            headers={"Accept": "application/json"},
        )
        self.api = TrytonApi(
            client,
            database=config.database,
            login=config.login,
            password=config.password.reveal(),
            password_source=config.password.source,
            language=config.language,
        )
        self.sales = SaleBook(self.api)
        self.catalog = TrytonCatalog(
            self.api,
            context.http.clock,
            warehouse=config.warehouse,
            stock_quantity=config.stock_quantity,
        )

    def __repr__(self) -> str:
        return (
            f"TrytonAdapter(base_url={self.config.base_url!r}, database={self.config.database!r})"
        )

    async def aclose(self) -> None:
        await self.api.aclose()

    # --- DocumentSink ----------------------------------------------------------------------

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        return await self.sales.find_customer(customer, match_on)

    async def create_customer(self, customer: Customer, currency: str) -> str:
        return await self.sales.create_customer(customer)

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        sale = await self.sales.find(reference)
        if sale is None:
            return None
        return await self.sales.ref(sale, document_type, reference)

    async def check_document(self, document: Document) -> None:
        _check_reference(document)
        await self.sales.lines(document)

    async def create_document(self, document: Document) -> DocumentRef:
        _check_reference(document)
        return await self.sales.create(document, document.customer_number.strip())

    async def book_document(self, document: DocumentRef) -> DocumentRef:
        sale = await self.sales.find(document.reference)
        if sale is None:
            raise PermanentError(
                f"{document.document_type.value} {document.number} ({document.reference}) is "
                "no longer in Tryton, so it cannot be booked"
            )
        return await self.sales.book(sale, document.document_type, document.reference)

    async def cancel_document(self, document: DocumentRef) -> None:
        """Cancel the sale of an order cancelled in the shop. Tryton cancels only draft and
        quoted sales; a confirmed one has shipments or invoices a person must undo."""
        sale = await self.sales.find(document.reference)
        if sale is None or sale.state == "cancelled":
            return
        if sale.state not in ("draft", "quotation"):
            raise PermanentError(
                f"sale {sale.number or sale.id} ({document.reference}) is {sale.state}: Tryton "
                "cannot cancel it any more; cancel its shipment and credit its invoice in "
                "Tryton, then close this record"
            )
        await self.api.call("sale.sale", "cancel", [sale.id])

    # --- StatusSource ----------------------------------------------------------------------

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        return await document_states(self.api, documents)

    # --- StockSource, ProductSource ---------------------------------------------------------

    def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        return self.catalog.changed_stock(since, until)

    async def stock_of(self, sku: str) -> StockLevel | None:
        return await self.catalog.stock_of(sku)

    def changed_articles(self, since: datetime, until: datetime) -> AsyncIterator[ArticleChange]:
        return self.catalog.changed_articles(since, until)

    async def fetch_article(self, sku: str) -> Article | None:
        return await self.catalog.fetch_article(sku)

    def all_articles(self) -> AsyncIterator[Article]:
        return self.catalog.all_articles()

    # --- RemoteVerifier --------------------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        findings: list[RemoteFinding] = []
        try:
            context = await self.api.context()
        except BryggaError as exc:
            return [RemoteFinding("login", False, str(exc))]
        findings.append(RemoteFinding("login", True, f"database {self.config.database!r}"))
        if not isinstance(context.get("company"), int):
            findings.append(
                RemoteFinding("company", False, "the user has no current company in Tryton")
            )
        for helper in needs.helper_articles:
            try:
                rows = await self.api.search_read(
                    "product.product",
                    [["code", "=", helper.number]],
                    ["id", "code", "template"],
                    wire.ProductRow,
                )
            except BryggaError as exc:
                findings.append(RemoteFinding(f"product {helper.number}", False, str(exc)))
                continue
            ok = any(r.code == helper.number for r in rows)
            findings.append(
                RemoteFinding(
                    f"product {helper.number}",
                    ok,
                    "found" if ok else "missing: create a service product with this code",
                )
            )
        return findings


def _check_reference(document: Document) -> None:
    if not document.reference or len(document.reference) > MAX_REFERENCE:
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} must be "
            f"1-{MAX_REFERENCE} characters."
        )


create_adapter = adapter_factory(TrytonConfig, TrytonAdapter)
