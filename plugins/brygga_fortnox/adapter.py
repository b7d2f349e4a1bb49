"""Fortnox API v3 ERP adapter: customers, invoices and orders, their status, remote checks.

Documented behaviour (reference/erp-apis.md §2) and the choices made where it says
[unknown]/[inferred]:

- Auth: OAuth2 with single-use rotating refresh tokens kept in the adapter state
  (:mod:`brygga_fortnox.auth`). Rate limit: 25 requests per 5 s per tenant (§2.4, documented;
  the shared, adaptive limiter uses it as its ceiling); ``rate_limit`` overrides it.
- Idempotency (§2.8): no idempotency header exists. The reference goes into
  ``ExternalInvoiceReference1`` (≤80 characters) of the invoice or order, the shop order
  number into ``YourOrderNumber`` (≤75). ``find_document`` searches
  ``?externalinvoicereference1=`` and keeps only **exact** matches in our code (the search
  matches substrings, §2.3); a document that is not cancelled wins over a cancelled one,
  then the lowest number.
- Fees, discounts and rounding are **article rows** (the helper articles of
  ``[connection.orders] fee_articles``: fraktavg, expavg, rabatt, avrundning by default),
  never the ``Freight``/``AdministrationFee`` header fields, which are sent as 0 so neither
  company nor customer defaults add a fee (API values win over defaults, §2.6). Rows change
  sign on a credit invoice; the fee fields are said not to (the credit-invoice sign quirk
  named in issue 13: not found in the stored vendor docs, modelled in the simulator).
- Rows: ``DeliveredQuantity`` (invoices) / ``OrderedQuantity`` (orders) as strings, as the
  spec types them; ``Price`` excl. VAT (``VATIncluded`` false); ``VAT`` the row's rate (an
  integer on invoice rows in the spec); a row discount as ``Discount`` with
  ``DiscountType`` ``PERCENT``.
- Text: every free-text value sent (row ``Description``, ``YourOrderNumber``, ``Remarks``,
  the customer's name, address and phone) is brought within Fortnox's documented valid
  characters (:mod:`brygga_fortnox.charset`: close ones mapped, the rest dropped); the
  reference is never altered: one with a character outside the set is refused, naming the
  order.
- Pre-check (:meth:`FortnoxAdapter.check_document`): reference length and characters, every
  row's VAT rate among ``vat_rates`` (25/12/6/0 by default, the rates a Swedish company has,
  §2.5) and whole, every article found by ``GET /3/articles/{n}``; reads only. An article found is
  kept for the tenant (every connection of the process on it) for 10 minutes
  (:data:`REFERENCE_TTL`), and forgotten when Fortnox refuses a document with it; an unknown
  one is never kept.
- Booking: ``book`` books an invoice (``PUT …/bookkeep``); orders have nothing to book, so
  ``book`` is ignored for them.
- Customers: ``customer_number`` by ``GET /3/customers/{n}``; e-mail and organisation number
  by the substring searches ``?email=`` / ``?organisationnumber=`` (as given, then as
  ``NNNNNN-NNNN``), keeping only rows equal to the value (case-insensitive; organisation
  numbers compared without spaces and dashes); the lowest number wins. New customers get a
  number from Fortnox.
- Status (invoiced, paid, cancelled): :mod:`brygga_fortnox.status`.
- Catalog (products, prices and stock read; nothing written): :mod:`brygga_fortnox.catalog`.
- Price lists (read): :mod:`brygga_fortnox.pricelists`.
- Not in this version: writing articles, prices and price lists; WebSocket topics.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import aclosing
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec

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
from brygga.documents import Document, DocumentLine
from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga.http.ratelimit import RateLimit
from brygga.models import Currency, DocumentRef, DocumentState, DocumentType
from brygga.registers import PriceListSource, ProductSource, StatusSource, StockSource
from brygga.secrets import Secret
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi
from brygga_fortnox.auth import RotatingTokens
from brygga_fortnox.catalog import FortnoxCatalog
from brygga_fortnox.charset import clean, outside
from brygga_fortnox.customers import FortnoxCustomers
from brygga_fortnox.pricelists import FortnoxPriceLists
from brygga_fortnox.remote import verify
from brygga_fortnox.status import STATUS_EVENTS, StatusReader

__all__ = ["CAPABILITIES", "FortnoxAdapter", "FortnoxConfig", "create_adapter"]

log = logging.getLogger(__name__)

MAX_REFERENCE = 80
#: the documented limit (reference §2.4)
FORTNOX_RATE_LIMIT = RateLimit(25, 5.0)
#: how long an article a row was checked against is kept for the tenant (seconds)
REFERENCE_TTL = 600.0

CAPABILITIES = Capabilities(
    document_types=frozenset({DocumentType.INVOICE, DocumentType.ORDER}),
    variants=False,
    # price lists read from /3/prices (brygga_fortnox.pricelists)
    price_lists=True,
    webhooks=False,
    lookup_by_reference=True,
    rate_limit=FORTNOX_RATE_LIMIT,
    status_events=STATUS_EVENTS,
    notes=(
        "Fortnox API v3 (api.fortnox.se/3): OAuth2 with 1 h access tokens and single-use "
        "refresh tokens, rotated and kept in the state file (one refresher per tenant).",
        "25 requests per 5 s per tenant (documented), the ceiling of brygga's adaptive limiter.",
        "Invoices or orders; the reference in ExternalInvoiceReference1 (max 80 characters), "
        "found again by an exact match (Fortnox's search matches substrings).",
        "Freight, fees, discounts and rounding are rows of helper articles (fraktavg, expavg, "
        "rabatt, avrundning), never the Freight/AdministrationFee fields.",
        "No variant structure: each variant is its own article.",
        "Order status: invoiced (invoice booked, or the order invoiced), paid (Balance 0, "
        "found through /3/invoicepayments and a full read of open documents every 6 hours), "
        "cancelled; delivery is not read.",
        "lastmodified (time zone undocumented) is sent 2 hours early in Stockholm time, so "
        "neither a Stockholm nor a UTC reading misses a change.",
        "Free text is brought within Fortnox's valid characters (close ones mapped, the rest "
        "dropped); a reference outside them is refused, never altered.",
        "Products, prices (SalesPrice, excl. VAT) and stock (DisposableQuantity of stock "
        "articles) are read by lastmodified; nothing is written to the article register.",
        "Price lists are read from /3/prices per article and list (no change time is "
        "documented, so every poll reads them all; hourly by default); WebSocket topics are "
        "not used (brygga polls).",
    ),
)

_VAT_RATES = (Decimal(25), Decimal(12), Decimal(6), Decimal(0))


class FortnoxConfig(AdapterConfig, kw_only=True):
    """``[connection.erp]`` for ``kind = "fortnox"``."""

    kind: str = "fortnox"
    base_url: str = "https://api.fortnox.se"
    token_url: str = "https://apps.fortnox.se/oauth-v1/token"
    client_id: Secret
    client_secret: Secret
    #: the refresh token of the merchant's consent; used once, then brygga keeps the rotated
    #: ones in its state file
    refresh_token: Secret
    #: override the documented 25 requests per 5 s, e.g. ``{ requests = 20, per_seconds = 5 }``
    rate_limit: RateLimit | None = None
    #: the VAT rates the Fortnox company has (rows at other rates are refused before sending)
    vat_rates: list[Decimal] = msgspec.field(default_factory=lambda: list(_VAT_RATES))
    page_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
    #: the company's currency: the currency of every article's ``SalesPrice``
    currency: Currency = "SEK"
    #: the price lists (codes) the price-lists register reads; unset: every list
    price_lists: list[str] | None = None


def _clip(text: str, length: int) -> str | None:
    text = text.strip()
    return text[:length] if text else None


class FortnoxAdapter(
    FortnoxCustomers,
    FortnoxCatalog,
    FortnoxPriceLists,
    ErpAdapter,
    DocumentChecker,
    DocumentBooker,
    DocumentCanceller,
    RemoteVerifier,
    StatusSource,
    ProductSource,
    StockSource,
    PriceListSource,
):
    """The Fortnox side of a connection: orders in as invoices or orders, their status back;
    articles, prices, stock and price lists read (:mod:`brygga_fortnox.catalog`,
    :mod:`brygga_fortnox.pricelists`)."""

    def __init__(self, config: FortnoxConfig, context: AdapterContext) -> None:
        self.config = config
        client_id = config.client_id.reveal()
        tokens_client = RemoteClient(
            system="fortnox", base_url=config.token_url, context=context.http, account="oauth"
        )
        self.tokens = RotatingTokens(
            client=tokens_client,
            token_url=config.token_url,
            client_id=client_id,
            client_secret=config.client_secret.reveal(),
            initial_refresh_token=config.refresh_token.reveal(),
            state=context.state,
            cache=context.http.tokens,
            clock=context.http.clock,
        )
        self._tokens_client = tokens_client
        host = urlsplit(config.base_url).netloc or config.base_url
        #: the tenant, as the rate limiter and the reference-data cache know it
        self.account = f"{host}#{self.tokens.account}"
        client = remote_client(
            config,
            context,
            "fortnox",
            account=self.account,
            base_url=config.base_url.rstrip("/") + "/3",
            default_limit=FORTNOX_RATE_LIMIT,
        )
        self.api = FortnoxApi(client, self.tokens)
        self.status = StatusReader(self.api, context.http.clock)
        self.catalog_clock = context.http.clock
        self.currency = config.currency
        self.page_size = config.page_size
        self.price_list_codes = config.price_lists
        #: the articles rows were checked against, kept per tenant for every connection of the
        #: process on it (an unknown article is not kept, so one created later is found)
        self.reference = context.http.shared.cache(
            "fortnox", self.account, clock=context.http.clock, ttl=REFERENCE_TTL
        )

    def __repr__(self) -> str:
        return f"FortnoxAdapter(base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        await self.api.aclose()
        await self._tokens_client.aclose()

    # --- documents -------------------------------------------------------------------------

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        invoice = document_type == DocumentType.INVOICE
        path = "invoices" if invoice else "orders"
        page_type: type[wire.InvoicePage] | type[wire.OrderPage] = (
            wire.InvoicePage if invoice else wire.OrderPage
        )
        items = self.api.pages(
            path, page_type, f"the search for reference {reference!r} in {path}",
            params={"externalinvoicereference1": reference}, limit=self.config.page_size,
        )  # fmt: skip
        found: list[Any] = []
        async with aclosing(items):
            async for item in items:
                if item.external_invoice_reference1 == reference:
                    found.append(item)
        if not found:
            return None
        best = min(
            found,
            key=lambda d: (
                bool(d.cancelled),
                not d.document_number.isdigit(),
                int(d.document_number) if d.document_number.isdigit() else 0,
            ),
        )
        booked = bool(getattr(best, "booked", False))
        return DocumentRef(
            document_type=document_type, number=best.document_number, reference=reference,
            booked=booked,
        )  # fmt: skip

    async def check_document(self, document: Document) -> None:
        """Raise the PermanentError :meth:`create_document` would raise for this document's
        reference, VAT rates and articles, reading only."""
        _check_reference(document)
        for row, line in enumerate(document.lines, start=1):
            await self._check_line(document, row, line)

    async def _check_line(self, document: Document, row: int, line: DocumentLine) -> None:
        where = f"Order {document.shop_order_id} row {row}"
        rates = {Decimal(r) for r in self.config.vat_rates}
        if line.vat_rate not in rates or line.vat_rate != line.vat_rate.to_integral_value():
            raise PermanentError(
                f"{where}: the shop charged {line.vat_rate} % VAT, which the Fortnox company "
                f"does not have ({', '.join(str(r) for r in sorted(rates))} %); correct the "
                "VAT in the shop or set [connection.erp] vat_rates"
            )
        number = line.article_number.strip()
        if not number:
            raise PermanentError(f"{where}: the row has no article number")
        article = await self.reference.get(
            ("article", number), lambda: self._read_article(number), keep=lambda a: a is not None
        )
        if article is None:
            raise PermanentError(
                f"{where}: article {number} does not exist in Fortnox; create it in Fortnox "
                "or correct the SKU in the shop"
            )

    async def _read_article(self, number: str) -> wire.Article | None:
        """``GET /3/articles/{n}``: the article, or None when Fortnox has none such."""
        response = await self.api.request("GET", f"articles/{quote(number, safe='')}")
        if response.status_code == 404:
            return None
        return self.api.decode(response, wire.ArticleWrap, f"article {number}").Article

    async def create_document(self, document: Document) -> DocumentRef:
        """Create the invoice or order (and book an invoice when ``document.book``). No
        lookup first: the engine looks the reference up before any send that may repeat an
        earlier one (DESIGN §2.1)."""
        await self.check_document(document)
        kind = document.document_type
        invoice = kind == DocumentType.INVOICE
        number = document.customer_number.strip()
        if not number:
            raise PermanentError(f"Order {document.shop_order_id}: no Fortnox customer number")
        quantity = "DeliveredQuantity" if invoice else "OrderedQuantity"
        rows = [
            {
                "ArticleNumber": line.article_number.strip(),
                "Description": (
                    clean(line.description) or clean(line.article_number) or "-"
                )[:255],
                quantity: str(line.quantity),
                "Price": line.unit_price,
                "VAT": int(line.vat_rate),
                **(
                    {"Discount": line.discount_percent, "DiscountType": "PERCENT"}
                    if line.discount_percent else {}
                ),
            }
            for line in document.lines
        ]  # fmt: skip
        header: dict[str, Any] = {
            "CustomerNumber": number,
            "InvoiceDate" if invoice else "OrderDate": document.date.isoformat(),
            "Currency": document.currency,
            "VATIncluded": False,
            "ExternalInvoiceReference1": document.reference,
            "Freight": 0,
            "AdministrationFee": 0,
            "InvoiceRows" if invoice else "OrderRows": rows,
        }
        shop_number = _clip(clean(document.shop_order_number or document.shop_order_id), 75)
        if shop_number:
            header["YourOrderNumber"] = shop_number
        remarks = clean(document.note)
        if remarks:
            header["Remarks"] = remarks[:1024]
        path = "invoices" if invoice else "orders"
        what = f"the {kind.value} for order {document.shop_order_id}"
        response = await self.api.request(
            "POST", path, body={"Invoice" if invoice else "Order": header}
        )
        wrap_type: type[wire.InvoiceWrap] | type[wire.OrderWrap] = (
            wire.InvoiceWrap if invoice else wire.OrderWrap
        )
        try:
            created = self.api.decode(response, wrap_type, what, write=True)
        except PermanentError:
            # refused (e.g. an article removed since it was checked): check its rows afresh
            for line in document.lines:
                self.reference.forget(("article", line.article_number.strip()))
            raise
        doc = created.Invoice if isinstance(created, wire.InvoiceWrap) else created.Order
        ref = DocumentRef(
            document_type=kind, number=doc.document_number, reference=document.reference
        )
        log.info("fortnox: created %s %s for %s", kind, ref.number, document.reference)
        if document.book and invoice:
            return await self.book_document(ref)
        return ref

    async def book_document(self, document: DocumentRef) -> DocumentRef:
        """Book an invoice (``PUT /3/invoices/{n}/bookkeep``); an order is returned as it is
        (orders are not booked in Fortnox)."""
        if document.document_type != DocumentType.INVOICE:
            return document
        number = quote(document.number, safe="")
        what = f"booking invoice {document.number} ({document.reference})"
        response = await self.api.request("PUT", f"invoices/{number}/bookkeep")
        self.api.decode(response, wire.InvoiceWrap, what, write=True)
        return msgspec.structs.replace(document, booked=True)

    async def cancel_document(self, document: DocumentRef) -> None:
        """Cancel (``PUT …/cancel``) an unbooked invoice or an order not invoiced yet; a booked
        invoice needs a credit invoice made by a person."""
        if document.document_type == DocumentType.INVOICE and document.booked:
            raise PermanentError(
                f"invoice {document.number} ({document.reference}) is booked, so it cannot be "
                "cancelled: credit it in Fortnox, then close this record"
            )
        path = "invoices" if document.document_type == DocumentType.INVOICE else "orders"
        what = f"cancelling {document.document_type.value} {document.number}"
        response = await self.api.request("PUT", f"{path}/{quote(document.number, safe='')}/cancel")
        if not 200 <= response.status_code < 300:
            raise self.api.fail(response, what)

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """What became of the documents: see :mod:`brygga_fortnox.status`."""
        return await self.status.document_states(documents)

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Read-only checks for `brygga check --remote` (:mod:`brygga_fortnox.remote`)."""
        return await verify(self.api, needs)


def _check_reference(document: Document) -> None:
    if not document.reference or len(document.reference) > MAX_REFERENCE:
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} does not "
            f"fit Fortnox's ExternalInvoiceReference1 (1-{MAX_REFERENCE} characters)."
        )
    refused = outside(document.reference)
    if refused:
        # never altered: the reference is how the order is found again (exactly once)
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} has "
            f"characters Fortnox does not take ({refused!r}; its valid characters: "
            "developer guide, Formats & Encoding), so it cannot go into "
            "ExternalInvoiceReference1 unchanged (brygga finds the order there again). The "
            "reference is made of the connection and shop names and the shop order id: give "
            "the connection and shop names letters, digits, - and _ only, or send this order "
            "to Fortnox by hand and close the record."
        )


create_adapter = adapter_factory(FortnoxConfig, FortnoxAdapter)
