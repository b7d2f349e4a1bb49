"""Hogia Smart ERP adapter: customers, invoices (never orders), articles and POS stock read.

The wire format is modelled (no public API description for Hogia Smart): every guess lives in
:mod:`brygga_hogia.wire`, which lists them. Behaviour chosen here:

- Documents: invoices only (Hogia Smart creates invoices, not orders, §4 / DESIGN §1); an
  order document is refused by `brygga check` (Capabilities) and, should one arrive anyway,
  by :meth:`HogiaAdapter.create_document` with the fix. The shop order's reference is stored
  as an ``External`` invoice reference and found again by a direct lookup (wire assumption
  4), exact match only, so a fresh invoice is found although the API database lags.
- Rows: freight, handling-fee, discount and rounding rows use the helper articles
  (``[connection.orders] fee_articles``: ``fraktavg``, ``expavg``, ``rabatt`` by default,
  §4.1 [H1]), which must exist; `brygga check --remote` verifies that they do. Item rows
  use the shop's SKU as article number; ``unknown_articles = "text"`` sends an SKU Hogia Smart
  lacks as a text row instead (Hogia Smart as bookkeeping target, where the shop is master
  of articles and "article data follows each order" [H1]); the default refuses it.
- Customers: contacts matched on e-mail or identification number (organisation or personal
  number), exact match only.
- Catalog: ordinary and campaign price only (no price lists), no variant structure; changes
  and POS stock changes are read from the lagging API database (:mod:`brygga_hogia.catalog`).
- Status: billed (invoiced), paid and cancelled (:mod:`brygga_hogia.status`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

import msgspec

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    Capabilities,
    DocumentCanceller,
    DocumentChecker,
    ErpAdapter,
    RemoteFinding,
    RemoteNeeds,
    RemoteVerifier,
    adapter_factory,
    remote_account,
    remote_client,
)
from brygga.documents import Document, DocumentLine
from brygga.errors import BryggaError, PermanentError
from brygga.http.client import RemoteClient
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import (
    Currency,
    Customer,
    CustomerKind,
    DocumentRef,
    DocumentState,
    DocumentType,
    LineKind,
)
from brygga.registers import ProductSource, StatusSource, StockSource
from brygga.secrets import Secret
from brygga_hogia import wire
from brygga_hogia.api import HogiaApi, NotFoundError
from brygga_hogia.catalog import HogiaCatalog
from brygga_hogia.status import STATUS_EVENTS, document_states

__all__ = ["CAPABILITIES", "HogiaAdapter", "HogiaConfig", "create_adapter"]

log = logging.getLogger(__name__)

MAX_REFERENCE = 100
#: the rows that take a helper article (§4.1 [H1]: fraktavg, expavg, rabatt)
HELPER_KINDS = frozenset({LineKind.FREIGHT, LineKind.FEE, LineKind.DISCOUNT, LineKind.ROUNDING})

CAPABILITIES = Capabilities(
    document_types=frozenset({DocumentType.INVOICE}),
    variants=False,
    price_lists=False,
    campaign_price=True,
    webhooks=False,
    lookup_by_reference=True,
    # Hogia answers 429 beyond its limit; the numbers are not published (§4.2 [H5])
    rate_limit=DEFAULT_RATE_LIMIT,
    status_events=STATUS_EVENTS,
    notes=(
        "Modelled API: Hogia publishes no API description for Hogia Smart; brygga's wire "
        "format is a documented guess (brygga_hogia/wire.py) to correct against a real one.",
        "Creates invoices, not orders.",
        "No price lists: an ordinary and a campaign price per article only.",
        "No variant structure on import: each variant is its own article.",
        "Changes, and stock changes from Hogia's POS, are read from the API database, which "
        "lags Hogia Smart: they reach the shop only after they have landed there.",
        "The helper articles for freight, handling fee and discount (fraktavg, expavg, rabatt "
        "unless [connection.orders] fee_articles names others) must exist in Hogia Smart; "
        "brygga check --remote verifies that they do.",
        "Only articles with Skicka till Webshop are active in the shop.",
        "Cancels the unbilled invoice of an order cancelled in the shop (shop_changes = "
        '"cancel"); a billed invoice needs a credit note by a person.',
        "Order status: invoiced (billed), paid and cancelled.",
    ),
)


class HogiaConfig(AdapterConfig, kw_only=True):
    """``[connection.erp]`` for ``kind = "hogia"``."""

    kind: str = "hogia"
    base_url: str = "https://api.hogia.se"
    token_url: str = "https://id.hogia.se/connect/token"
    #: the organisation (company) GUID requests are routed to
    organization_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z-]{1,64}$")]
    client_id: Secret
    client_secret: Secret
    api_version: str = wire.API_VERSION
    #: an item row whose SKU Hogia Smart lacks: refuse the order, or send a text row
    unknown_articles: Literal["refuse", "text"] = "refuse"
    base_currency: Currency = "SEK"
    page_size: Annotated[int, msgspec.Meta(ge=1, le=wire.MAX_PAGE_SIZE)] = wire.MAX_PAGE_SIZE
    rate_limit: RateLimit | None = None


def _clip(text: str, length: int) -> str:
    return text.strip()[:length]


class HogiaAdapter(
    HogiaCatalog,
    ErpAdapter,
    DocumentChecker,
    DocumentCanceller,
    RemoteVerifier,
    StatusSource,
    ProductSource,
    StockSource,
):
    """The Hogia Smart side of a connection: orders in as invoices; articles, prices and
    stock (also from the POS) read."""

    def __init__(self, config: HogiaConfig, context: AdapterContext) -> None:
        self.config = config
        token = urlsplit(config.token_url)
        account = remote_account(config.base_url, config.organization_id, config.client_id.reveal())
        self.api = HogiaApi(
            remote_client(
                config,
                context,
                "hogia",
                account=account,
                base_url=f"{config.base_url.rstrip('/')}/{config.organization_id}",
                headers={"api-version": config.api_version, "Accept": "application/json"},
            ),
            RemoteClient(
                system="hogia",
                base_url=f"{token.scheme}://{token.netloc}",
                context=context.http,
                account=account + "#token",
            ),
            token_path=token.path.lstrip("/"),
            client_id=config.client_id,
            client_secret=config.client_secret,
            cache=context.http.tokens,
            account=account,
            clock=context.http.clock,
            organization=config.organization_id,
        )

    def __repr__(self) -> str:
        return f"HogiaAdapter(base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        await self.api.aclose()

    # --- customers -------------------------------------------------------------------------

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        for key in match_on:
            if key == "email":
                param, value, field = "emailAddress", customer.email, "email_address"
            elif key == "org_number":
                param, value, field = (
                    "identificationNumber",
                    customer.org_number,
                    "identification_number",
                )
            elif key == "customer_number":
                param, value, field = "number", customer.customer_number, "number"
            else:
                continue
            wanted = value.strip().casefold()
            if not wanted:
                continue
            numbers = [
                c.number
                async for c in self.api.pages(
                    "contacts",
                    wire.Contact,
                    f"the customer search on {param}",
                    params={param: value.strip()},
                    page_size=100,
                )
                if str(getattr(c, field)).strip().casefold() == wanted
            ]
            if numbers:
                return min(numbers, key=lambda n: (len(n), n))
        return None

    async def create_customer(self, customer: Customer, currency: str) -> str:
        who = customer.email or customer.shop_customer_id or "without e-mail"
        billing = customer.billing
        company = customer.kind == CustomerKind.COMPANY
        name = (customer.name or billing.name).strip()
        given, _, sur = name.partition(" ")
        if not (name or billing.company.strip()):
            raise PermanentError(
                f"Customer {who}: Hogia needs a customer name and the order has none; add one "
                "to the order in the shop."
            )
        body = wire.ContactIn(
            given_name="" if company else _clip(given, 50),
            sur_name="" if company else _clip(sur, 50),
            company_name=_clip(billing.company or name, 100) if company else "",
            identification_number=_clip(customer.org_number, 20),
            vat_number=_clip(customer.vat_number, 30),
            email_address=_clip(customer.email, 100),
            country_code=billing.country_code,
            customer={"currencyCode": currency},
        )
        response = await self.api.request("POST", "contacts", body=body)
        created = self.api.decode(response, wire.Contact, f"the new customer {who}", write=True)
        log.info("hogia: created customer %s", created.number)
        return created.number

    # --- documents -------------------------------------------------------------------------

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        if document_type is not DocumentType.INVOICE:
            return None  # Hogia Smart creates no orders, so none was ever created
        found = [
            invoice
            async for invoice in self.api.pages(
                "customerinvoices",
                wire.Invoice,
                f"the search for reference {reference!r}",
                params={"externalReference": reference},
            )
            if invoice.reference() == reference
        ]
        if not found:
            return None
        invoice = min(found, key=lambda i: i.customer_invoice_id)
        return DocumentRef(
            document_type=DocumentType.INVOICE,
            number=invoice.customer_invoice_id,
            reference=reference,
            booked=invoice.is_billed,
        )

    async def check_document(self, document: Document) -> None:
        """Raise the PermanentError :meth:`create_document` would, reading only."""
        _check(document)
        await self._lines(document)

    async def _article_exists(self, number: str, what: str) -> bool:
        try:
            self.api.decode(
                await self.api.request("GET", wire.article_path(number)), wire.Article, what
            )
        except NotFoundError:
            return False
        return True

    async def _lines(self, document: Document) -> list[wire.LineIn]:
        order = document.shop_order_id
        known: dict[str, bool] = {}
        lines: list[wire.LineIn] = []
        for number, line in enumerate(document.lines, start=1):
            where = f"Order {order} row {number}"
            code = line.article_number.strip()
            if code and code not in known:
                known[code] = await self._article_exists(code, where)
            exists = bool(code) and known[code]
            if line.kind in HELPER_KINDS and not exists:
                raise PermanentError(
                    f"{where}: the helper article {code or '(none)'} for {line.kind.value} rows "
                    "does not exist in Hogia Smart; create it there (or name another one in "
                    "[connection.orders] fee_articles) and run brygga check --remote."
                )
            if (
                line.kind not in HELPER_KINDS
                and not exists
                and self.config.unknown_articles == "refuse"
            ):
                raise PermanentError(
                    f"{where}: article {code or '(none)'} does not exist in Hogia Smart; create "
                    'it there, correct the SKU in the shop, or set unknown_articles = "text" '
                    "in [connection.erp] to book such rows as text."
                )
            lines.append(_line(line, code if exists else ""))
        return lines

    async def create_document(self, document: Document) -> DocumentRef:
        _check(document)
        if not document.customer_number.strip():
            raise PermanentError(f"Order {document.shop_order_id}: no Hogia customer number.")
        body = wire.InvoiceIn(
            customer_number=document.customer_number.strip(),
            invoice_date=document.date.isoformat(),
            currency_code=document.currency,
            invoice_lines=await self._lines(document),
            customer_invoice_references=[
                wire.Reference(reference_type=wire.EXTERNAL, value=document.reference)
            ],
            our_reference=_clip(document.shop_order_number or document.shop_order_id, 50),
            bill=document.book,
        )
        what = f"the invoice for order {document.shop_order_id}"
        response = await self.api.request("POST", "customerinvoices", body=body)
        created = self.api.decode(response, wire.Created, what, write=True)
        log.info(
            "hogia: created invoice %s for %s", created.customer_invoice_id, document.reference
        )
        return DocumentRef(
            document_type=DocumentType.INVOICE,
            number=created.customer_invoice_id,
            reference=document.reference,
            booked=document.book,
        )

    async def cancel_document(self, document: DocumentRef) -> None:
        """Cancel the unbilled invoice of an order cancelled in the shop
        (``brygga.adapters.DocumentCanceller``; wire assumption 9). One Hogia no longer has
        counts as cancelled, so a repeat is harmless; a billed invoice needs a credit note."""
        what = f"cancelling invoice {document.number} ({document.reference})"
        if document.booked:
            raise PermanentError(
                f"invoice {document.number} ({document.reference}) is billed, so it cannot be "
                "cancelled: credit it in Hogia Smart, then close this record"
            )
        path = f"customerinvoices/{quote(document.number, safe='')}/cancel"
        response = await self.api.request("POST", path)
        if response.status_code == 404:
            log.info("hogia: %s: gone already", what)
            return
        if not 200 <= response.status_code < 300:
            error = self.api.fail(response, what)
            raise PermanentError(f"{error}; cancel or credit it in Hogia Smart by hand") from None
        log.info("hogia: cancelled invoice %s for %s", document.number, document.reference)

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """What became of the invoices (``brygga.registers.StatusSource``)."""
        return await document_states(self.api, documents)

    # --- brygga check --remote ---------------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """The credentials (a token and one contact read) and every helper article (§4.1:
        ``fraktavg``, ``expavg`` and ``rabatt`` must exist [H1]); reads only."""
        try:
            self.api.decode(
                await self.api.request("GET", "contacts", params={"page": 1, "pageSize": 1}),
                wire.Page[wire.Contact],
                "the contact list",
            )
        except BryggaError as exc:
            return [RemoteFinding("credentials", False, str(exc))]
        findings = [RemoteFinding("credentials", True, "Hogia accepted the client credentials")]
        for helper in needs.helper_articles:
            check = f"{helper.kind.value} article {helper.number}"
            try:
                exists = await self._article_exists(helper.number, check)
            except BryggaError as exc:
                findings.append(RemoteFinding(check, False, str(exc)))
                continue
            findings.append(
                RemoteFinding(check, True, "exists")
                if exists
                else RemoteFinding(
                    check,
                    False,
                    f"does not exist in Hogia Smart; create article {helper.number} there "
                    "(or name another one in [connection.orders] fee_articles)",
                )
            )
        return findings


def _line(line: DocumentLine, article: str) -> wire.LineIn:
    text = line.description.strip() or line.article_number
    if not article and line.article_number.strip():
        text = f"{line.article_number.strip()} {line.description.strip()}".strip()
    return wire.LineIn(
        article_number=article,
        description=text[:250],
        quantity=line.quantity,
        unit_price=line.unit_price,
        vat=line.vat_rate,
        discount_percent=line.discount_percent,
    )


def _check(document: Document) -> None:
    if document.document_type is not DocumentType.INVOICE:
        raise PermanentError(
            f"Order {document.shop_order_id}: Hogia Smart creates invoices, not orders; set "
            '[connection.orders] document = "invoice".'
        )
    if not document.reference or len(document.reference) > MAX_REFERENCE:
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} does not fit "
            f"Hogia's invoice reference (1-{MAX_REFERENCE} characters)."
        )


create_adapter = adapter_factory(HogiaConfig, HogiaAdapter)
