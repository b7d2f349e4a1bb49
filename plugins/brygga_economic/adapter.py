"""Visma e-conomic ERP adapter (legacy REST): customers, draft/booked invoices and orders.

Behaviour chosen where the reference says [unknown]/[inferred] (modelled, not documented):

- Rate limit: e-conomic publishes only a fair-use rule of 50,000 calls per 24 h per agreement
  (a token bucket rolled out in Dec 2025 with unknown numbers). We default to 10 requests/s
  per agreement (the shared, adaptive limiter; see :mod:`brygga.http.ratelimit`); the daily
  volume of a shop is far below the fair-use ceiling. ``rate_limit`` overrides it.
- Idempotency: legacy REST has no documented Idempotency-Key, so ``references.other`` (max
  250 characters) carries our reference. ``find_document`` searches drafts before booked
  (orders: drafts before sent), so a draft booked between the two reads is still found.
  ``create_document`` looks the reference up first and reuses a document it finds (booking a
  found draft when asked to book), so a retry after a lost answer never makes a second one.
- Booking: invoices are booked with ``POST /invoices/booked``; for orders "book" means
  registering the order as sent (``POST /orders/sent`` with the full draft). The returned
  number is the booked invoice number, else the draft/order number.
- VAT: a row's VAT rate must equal its article's rate, found the documented way (product ->
  product group -> its sales account for ``vat_zone`` -> that account's VAT code -> the VAT
  account's rate; see :class:`brygga_economic.articles.VatChain`). Rows for freight, fees,
  discounts and rounding whose rate differs from the article's use ``<article>-<rate>``
  (e.g. ``fraktavg-12``) when ``vat_articles`` is on. With a VAT zone other than 1
  (Domestic) every row must have 0 % VAT (our rule: sales abroad are VAT-free).
- Reference data (the product list, product groups' sales accounts, accounts, VAT accounts)
  is read once per agreement per process and shared by every connection on it, for 10
  minutes (:data:`brygga_economic.articles.REFERENCE_TTL`); a row that would be refused, or a
  document e-conomic refused, reads its articles afresh (:mod:`brygga_economic.articles`).
  A connection's start reads it before the first order needs it (``prepare``,
  :mod:`brygga_economic.warmup`).
- Pre-check: :meth:`EconomicAdapter.check_document` runs every permanent check of
  ``create_document`` with reads only, before any customer exists; ``verify_remote`` backs
  ``brygga check --remote`` (:mod:`brygga_economic.remote`).
- Customers: ``customer_number`` is matched with ``GET /customers/{n}`` (numeric only), e-mail
  and organisation number with ``$eq:`` filters (case-insensitive on e-conomic's side); the
  lowest matching customer number wins, counting only rows whose e-mail / organisation number
  really equals the one searched (so an answer that ignored the filter matches nobody).
  Guests are created like everyone else.
- Hostile answers: see :mod:`brygga_economic.api` (which failures are transient, paging that
  never follows ``nextPage`` links and stops on a loop).
- Catalog (products, prices, stock): see :mod:`brygga_economic.catalog` (the lastUpdated
  feed, writes only when a field differs, no variants, no campaign price, stock read-only).
- Order status (invoiced, paid, cancelled; e-conomic has no delivery state): see
  :mod:`brygga_economic.status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import aclosing
from typing import Annotated, Any

import msgspec

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    Capabilities,
    ConfigNeeds,
    CustomerGroups,
    DocumentBooker,
    DocumentChecker,
    ErpAdapter,
    ReferenceReader,
    RemoteFinding,
    RemoteNeeds,
    RemoteVerifier,
    adapter_factory,
    remote_account,
    remote_client,
)
from brygga.documents import CENT, Document
from brygga.errors import PermanentError
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import (
    Address,
    Currency,
    Customer,
    CustomerKind,
    DocumentRef,
    DocumentState,
    DocumentType,
    Register,
)
from brygga.registers import PriceSink, ProductSink, ProductSource, StatusSource, StockSource
from brygga.secrets import Secret
from brygga_economic import wire
from brygga_economic.api import EconomicApi
from brygga_economic.articles import DOMESTIC_ZONE, REFERENCE_TTL, ArticleCatalog, rate_text
from brygga_economic.catalog import EconomicCatalog, group_key_problem
from brygga_economic.remote import verify
from brygga_economic.status import STATUS_EVENTS, document_states
from brygga_economic.warmup import Budget, warm_reference

__all__ = ["CAPABILITIES", "EconomicAdapter", "EconomicConfig", "create_adapter"]

log = logging.getLogger(__name__)

MAX_REFERENCE = 250

#: what e-conomic can do that the code cannot show; what the adapter reads and writes follows
#: from the protocols ``EconomicAdapter`` implements
CAPABILITIES = Capabilities(
    document_types=frozenset({DocumentType.INVOICE, DocumentType.ORDER}),
    variants=False,
    # legacy REST shows only a customer's priceGroup; no price-list or price-group price
    # endpoint is documented (reference/erp-apis.md, e-conomic "Products")
    price_lists=False,
    # a webhook ("Invoice booked" and the like, set up under Settings → Extensions → Web
    # hooks; reference/erp-apis.md §1.8) is a hint that makes brygga look at the watched
    # documents at once; its body is not read
    webhooks=True,
    lookup_by_reference=True,
    # e-conomic's daily fair use (50,000/24 h) publishes no burst limit; this one is ours
    rate_limit=DEFAULT_RATE_LIMIT,
    status_events=STATUS_EVENTS,
    notes=(
        "Legacy REST API (restapi.e-conomic.com), which e-conomic keeps in feature freeze.",
        "Fair use: 50,000 API calls per 24 h per agreement; brygga keeps under 10 requests/s.",
        "The orders API is unavailable on agreements with the inventory module; use invoices.",
        "No variant structure: each variant is its own article.",
        "Products: read by lastUpdated (paged, sorted by productNumber); created with POST "
        "/products in the configured product group, updated with PUT only when a field differs.",
        "Prices: salesPrice (excl. VAT, base currency, two decimals); e-conomic has no "
        "campaign price, and currency-specific prices are not written by this version.",
        "Stock: read-only inventory.available, only with the inventory module.",
        "Webhooks (e.g. Invoice booked) pointed at the erp's webhook_token URL make brygga "
        "look at the watched documents at once (at most every 30 s); their body is not read, "
        "and polling goes on beside them.",
        "VAT comes from the article's product group; fee rows at other rates use "
        "<article>-<rate> articles (e.g. fraktavg-12).",
        "Order status: invoiced (booked, or an order archived as invoiced), paid (remainder "
        "0) and cancelled (draft deleted); e-conomic has no delivered or partial-delivery "
        "state, so no tracking number or carrier either.",
    ),
)

_COUNTRIES = {
    "SE": "Sweden",
    "NO": "Norway",
    "DK": "Denmark",
    "FI": "Finland",
    "IS": "Iceland",
    "DE": "Germany",
    "GB": "United Kingdom",
    "NL": "Netherlands",
    "PL": "Poland",
    "US": "United States",
}


class EconomicConfig(AdapterConfig, kw_only=True):
    """``[connection.erp]`` for ``kind = "economic"``."""

    kind: str = "economic"
    base_url: str = "https://restapi.e-conomic.com"
    app_secret_token: Secret
    agreement_grant_token: Secret
    #: e-conomic numbers of the layout, payment terms, VAT zone and customer group to use
    layout: int = 19
    payment_terms: int = 1
    vat_zone: int = 1
    customer_group: int = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1000
    #: override the default 10 requests/s, e.g. ``{ requests = 5, per_seconds = 1 }``
    rate_limit: RateLimit | None = None
    #: look for ``<article>-<rate>`` when a fee row's VAT differs from its article's
    vat_articles: bool = True
    #: the agreement's base currency: the currency of every product's ``salesPrice``
    base_currency: Currency = "SEK"
    #: the product group new products are created in (products register into e-conomic)
    product_group: Annotated[int, msgspec.Meta(ge=1)] | None = None
    #: per VAT rate in percent, the product group for new products, e.g. ``{ "25" = 1,
    #: "12" = 2 }``; a rate not listed takes ``product_group``
    product_groups: dict[str, Annotated[int, msgspec.Meta(ge=1)]] = msgspec.field(
        default_factory=dict
    )

    def write_problems(self, registers: frozenset[Register]) -> list[str]:
        """What this config lacks when e-conomic receives ``registers``
        (``brygga.adapters.ConfigNeeds``): new products need a product group, so a
        connection whose products flow into e-conomic must set ``product_groups`` or
        ``product_group``; a ``product_groups`` key that is not a VAT rate is always wrong."""
        problems = [group_key_problem(key) for key in self.product_groups]
        problems = [p for p in problems if p]
        unset = self.product_group is None and not self.product_groups
        if Register.PRODUCTS in registers and unset:
            problems.append(
                "[connection.erp] product_groups: missing: products flow into e-conomic "
                "here and every new product needs a product group; set product_groups = "
                '{ "25" = <group number>, "12" = <group number>, ... } (the e-conomic '
                "product group for each VAT rate) or product_group = <group number> (one "
                "for all) in [connection.erp]"
            )
        return problems


def _clip(text: str, length: int) -> str | None:
    text = text.strip()
    return text[:length] if text else None


def _display_name(customer: Customer) -> str:
    billing = customer.billing
    if customer.kind == CustomerKind.COMPANY:
        candidates = (billing.company, customer.name, billing.name, customer.email)
    else:
        candidates = (customer.name, billing.name, billing.company, customer.email)
    return next((c.strip() for c in candidates if c.strip()), "")


def _address_fields(address: Address) -> dict[str, str]:
    street = "\n".join(s.strip() for s in (address.street, address.street2) if s.strip())
    fields = {
        "address": _clip(street, 510),
        "zip": _clip(address.postal_code, 30),
        "city": _clip(address.city, 50),
        "country": _clip(_COUNTRIES.get(address.country_code, address.country_code), 50),
    }
    return {key: value for key, value in fields.items() if value}


class EconomicAdapter(
    EconomicCatalog,
    ErpAdapter,
    ConfigNeeds,
    DocumentChecker,
    DocumentBooker,
    CustomerGroups,
    RemoteVerifier,
    ReferenceReader,
    ProductSource,
    ProductSink,
    PriceSink,
    StockSource,
    StatusSource,
):
    """The e-conomic side of a connection: orders in as invoices or orders; products and
    prices read and written, stock read (:mod:`brygga_economic.catalog`)."""

    def __init__(self, config: EconomicConfig, context: AdapterContext) -> None:
        self.config = config
        #: "<connection>/<instance>" in log lines: several connections may share an agreement
        self._who = f"{context.connection}/{context.instance}"
        secret = config.app_secret_token.reveal()
        grant = config.agreement_grant_token.reveal()
        #: the agreement, as the rate limiter and the reference-data cache know it
        self.account = remote_account(config.base_url, grant)
        client = remote_client(
            config,
            context,
            "economic",
            account=self.account,
            headers={
                "X-AppSecretToken": secret,
                "X-AgreementGrantToken": grant,
                "Accept": "application/json",
            },
        )
        self.api = EconomicApi(client, (secret, grant))
        #: the agreement's limiter (the one ``client`` waits for): the warm-up yields to it
        self.limiter = context.http.limiters.get(
            self.account, config.rate_limit or DEFAULT_RATE_LIMIT
        )
        self.clock = context.http.clock
        # the agreement's reference data, read once for every connection on it in this process
        self.reference = context.http.shared.cache(
            "economic", self.account, clock=context.http.clock, ttl=REFERENCE_TTL
        )
        self.articles = ArticleCatalog(
            self.api,
            page_size=config.page_size,
            vat_articles=config.vat_articles,
            vat_zone=config.vat_zone,
            cache=self.reference,
        )

    def __repr__(self) -> str:
        return f"EconomicAdapter(base_url={self.config.base_url!r})"

    def write_problems(self, registers: frozenset[Register]) -> list[str]:
        """The config's (:meth:`EconomicConfig.write_problems`): ``brygga sync products
        --from shop`` asks the target before it reads anything."""
        return self.config.write_problems(registers)

    async def aclose(self) -> None:
        await self.api.aclose()

    async def prepare(self) -> None:
        """Read the agreement's reference data (the product list, the VAT chains of its
        product groups) into the agreement's cache when the connection starts
        (``brygga.adapters.ReferenceReader``), so the first order does not read it in its
        own transfer; see :mod:`brygga_economic.warmup`. Reads only."""
        await warm_reference(
            self.articles,
            self.api,
            page_size=self.config.page_size,
            room=Budget(self.limiter, self.clock),
        )

    # --- customers -------------------------------------------------------------------------

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        for key in match_on:
            if key == "customer_number":
                number = customer.customer_number.strip()
                if number.isdigit() and 1 <= int(number) <= 999_999_999:
                    response = await self.api.request("GET", f"customers/{int(number)}")
                    if response.status_code != 404:
                        found = self.api.decode(response, wire.CustomerOut, f"customer {number}")
                        return str(found.customer_number)
            elif key == "email" and customer.email.strip():
                # a customer's email may hold several addresses separated by spaces
                # (reference/erp-apis.md §1.6): found by $like: (contains), then one of its
                # addresses must equal the order's
                match = await self._first_customer(
                    "email", customer.email.strip(), lambda c: c.email, op="like", split=True
                )
                if match is not None:
                    return match
            elif key == "org_number" and customer.org_number.strip():
                match = await self._first_customer(
                    "corporateIdentificationNumber",
                    customer.org_number.strip(),
                    lambda c: c.corporate_identification_number,
                )
                if match is not None:
                    return match
        return None

    async def _first_customer(
        self,
        prop: str,
        value: str,
        field: Callable[[wire.CustomerOut], str],
        *,
        op: str = "eq",
        split: bool = False,
    ) -> str | None:
        # Only rows that really match count (e-conomic compares case-insensitively), so an
        # answer that ignored the filter can never bill the order to a stranger; with
        # ``split`` the field is a space-separated list and one of its entries must match.
        wanted = value.casefold()

        def matches(customer: wire.CustomerOut) -> bool:
            found = field(customer).strip().casefold()
            return wanted in found.split() if split else found == wanted

        numbers = [
            c.customer_number
            async for c in self.api.pages(
                "customers",
                wire.CustomerOut,
                f"the customer search on {prop}",
                filter=f"{prop}${op}:{wire.escape_filter_value(value)}",
                page_size=100,
            )
            if matches(c)
        ]
        return str(min(numbers)) if numbers else None

    async def create_customer(self, customer: Customer, currency: str) -> str:
        return await self._create_customer(customer, currency, self.config.customer_group)

    async def create_customer_in_group(
        self, customer: Customer, currency: str, group: int | str
    ) -> str:
        """A new customer in customer group ``group`` (``brygga.adapters.CustomerGroups``):
        the shop's ``customer_group`` in place of the adapter's ``customer_group``."""
        text = str(group).strip()
        if not text.isdigit() or not 1 <= int(text) <= 999_999_999:
            raise PermanentError(
                f"Customer group {group!r}: e-conomic numbers customer groups 1-999999999; set "
                "[connection.orders.shops.<shop>] customer_group to a customerGroupNumber."
            )
        return await self._create_customer(customer, currency, int(text))

    async def _create_customer(self, customer: Customer, currency: str, group: int) -> str:
        who = customer.email or customer.shop_customer_id or "without e-mail"
        name = _display_name(customer)
        if not name:
            raise PermanentError(
                f"Customer {who}: e-conomic needs a customer name and the order has none; "
                "add a name or e-mail address to the order in the shop."
            )
        body = wire.CustomerIn(
            name=name[:255],
            currency=currency,
            customer_group={"customerGroupNumber": group},
            payment_terms={"paymentTermsNumber": self.config.payment_terms},
            vat_zone={"vatZoneNumber": self.config.vat_zone},
            email=_clip(customer.email, 255),
            corporate_identification_number=_clip(customer.org_number, 40),
            vat_number=_clip(customer.vat_number, 50),
            mobile_phone=_clip(customer.billing.phone, 50),
            **_address_fields(customer.billing),
        )
        response = await self.api.request("POST", "customers", body=body)
        created = self.api.decode(response, wire.CustomerOut, f"the new customer {who}", write=True)
        log.info("economic %s: created customer %s", self._who, created.customer_number)
        return str(created.customer_number)

    # --- documents -------------------------------------------------------------------------

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        if document_type == DocumentType.INVOICE:
            draft = await self._find("invoices/drafts", wire.DraftInvoice, reference)
            if draft is not None:
                return self._ref(document_type, draft.draft_invoice_number, reference, False)
            booked = await self._find("invoices/booked", wire.BookedInvoice, reference)
            if booked is not None:
                return self._ref(document_type, booked.booked_invoice_number, reference, True)
            return None
        order = await self._find("orders/drafts", wire.Order, reference)
        if order is not None:
            return self._ref(document_type, order.order_number, reference, False)
        sent = await self._find("orders/sent", wire.Order, reference)
        if sent is not None:
            return self._ref(document_type, sent.order_number, reference, True)
        # a sent order moves to archived when it is upgraded to an invoice
        # (reference/erp-apis.md §1.7): not looking there would send it a second time
        archived = await self._find("orders/archived", wire.Order, reference)
        if archived is not None:
            return self._ref(document_type, archived.order_number, reference, True)
        return None

    @staticmethod
    def _ref(kind: DocumentType, number: int, reference: str, booked: bool) -> DocumentRef:
        return DocumentRef(
            document_type=kind, number=str(number), reference=reference, booked=booked
        )

    async def _find(
        self,
        path: str,
        type_: type[wire.DraftInvoice] | type[wire.BookedInvoice] | type[wire.Order],
        reference: str,
    ) -> Any:
        # e-conomic compares strings case-insensitively; keep only exact matches
        items = self.api.pages(
            path,
            type_,
            f"the search for reference {reference!r} in {path}",
            filter=f"references.other$eq:{wire.escape_filter_value(reference)}",
            page_size=100,
        )
        async with aclosing(items):
            async for item in items:
                if item.references.other == reference:
                    return item
        return None

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """What became of the documents (``brygga.registers.StatusSource``): invoiced, paid,
        cancelled; see :mod:`brygga_economic.status`."""
        return await document_states(self.api, documents)

    async def check_document(self, document: Document) -> None:
        """Raise the PermanentError :meth:`create_document` would raise for this document's
        reference, articles, VAT rates and prices, reading only (nothing is written). The
        customer is not needed: ``document.customer_number`` may still be empty."""
        _check_reference(document)
        await self._lines(document)

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Read-only checks for `brygga check --remote` (see :mod:`brygga_economic.remote`)."""
        return await verify(self, needs)

    async def create_document(self, document: Document) -> DocumentRef:
        """Create the draft (and book it when ``document.book``). No lookup first: the engine
        records its intent before the call and looks the reference up before any send that
        may repeat an earlier one (DESIGN §2.1), so a first send costs one request."""
        kind = document.document_type
        _check_reference(document)
        body = await self._document_body(document)
        path = "invoices/drafts" if kind == DocumentType.INVOICE else "orders/drafts"
        what = f"the {kind.value} for order {document.shop_order_id}"
        response = await self.api.request("POST", path, body=body)
        try:
            if kind == DocumentType.INVOICE:
                number = self.api.decode(response, wire.DraftInvoice, what, write=True)
                created = self._ref(kind, number.draft_invoice_number, document.reference, False)
            else:
                order = self.api.decode(response, wire.Order, what, write=True)
                created = self._ref(kind, order.order_number, document.reference, False)
        except PermanentError:
            # refused (e.g. E06000, a product that does not exist): what the agreement's cache
            # holds of these articles may be out of date, so every connection reads it again
            self.articles.forget_lines(document.lines)
            raise
        log.info(
            "economic %s: created draft %s %s for %s",
            self._who,
            kind,
            created.number,
            document.reference,
        )
        if not document.book:
            return created
        return await self.book_document(created)

    async def book_document(self, document: DocumentRef) -> DocumentRef:
        """Book a draft (``brygga.adapters.DocumentBooker``): invoices with
        ``POST /invoices/booked``, orders by registering the full draft as sent."""
        kind, number = document.document_type, int(document.number)
        what = f"booking {kind.value} {number} ({document.reference})"
        if kind == DocumentType.INVOICE:
            request = wire.BookRequest(draft_invoice={"draftInvoiceNumber": number})
            response = await self.api.request("POST", "invoices/booked", body=request)
            booked = self.api.decode(
                response, wire.BookedInvoice, what, write=True
            ).booked_invoice_number
        else:
            draft = self.api.decode_any(
                await self.api.request("GET", f"orders/drafts/{number}"), what
            )
            response = await self.api.request("POST", "orders/sent", body=draft)
            booked = self.api.decode(response, wire.Order, what, write=True).order_number
        log.info("economic %s: booked %s %s for %s", self._who, kind, booked, document.reference)
        return self._ref(kind, booked, document.reference, True)

    async def cancel_document(self, document: DocumentRef) -> None:
        """Delete the draft invoice, or the draft or sent order, of an order cancelled in the
        shop (``brygga.adapters.DocumentCanceller``). A booked invoice is in the books: it
        takes a credit note, which e-conomic's REST API leaves to a person. A document that is
        gone already counts as cancelled, so a repeat after an unknown outcome is harmless."""
        kind, number = document.document_type, int(document.number)
        what = f"cancelling {kind.value} {number} ({document.reference})"
        if kind == DocumentType.INVOICE and document.booked:
            raise PermanentError(
                f"invoice {number} ({document.reference}) is booked, so it cannot be deleted: "
                "make a credit note for it in e-conomic, then close this record"
            )
        if kind == DocumentType.INVOICE:
            path = f"invoices/drafts/{number}"
        else:
            path = f"orders/{'sent' if document.booked else 'drafts'}/{number}"
        response = await self.api.request("DELETE", path)
        if response.status_code == 404:
            log.info("economic %s: %s: gone already", self._who, what)
            return
        if not 200 <= response.status_code < 300:
            raise self.api.fail(response, what)
        log.info("economic %s: deleted %s %s for %s", self._who, kind, number, document.reference)

    async def _lines(self, document: Document) -> list[wire.DocumentLineIn]:
        """The document's rows as e-conomic lines; reads only. Raises the PermanentError
        for a price e-conomic refuses, a VAT rate the zone or the article cannot have, or an
        unknown article."""
        order = document.shop_order_id
        domestic = self.config.vat_zone == DOMESTIC_ZONE
        lines: list[wire.DocumentLineIn] = []
        for row, line in enumerate(document.lines, start=1):
            where = f"Order {order} row {row}"
            if line.unit_price != line.unit_price.quantize(CENT):
                raise PermanentError(
                    f"{where}: the unit price {line.unit_price} has more than two decimals, "
                    "which e-conomic refuses; round the price in the shop."
                )
            if not domestic and line.vat_rate != 0:
                raise PermanentError(
                    f"{where}: the shop charged {rate_text(line.vat_rate)} % VAT but e-conomic "
                    f"VAT zone {self.config.vat_zone} sells VAT-free; use vat_zone = 1 for "
                    "domestic sales or correct the VAT in the shop."
                )
            product = await self.articles.article_for(where, line)
            description = line.description.strip() or product.name or product.product_number
            lines.append(
                wire.DocumentLineIn(
                    line_number=row,
                    sort_key=row,
                    product={"productNumber": product.product_number},
                    description=description[:2500],
                    quantity=line.quantity,
                    unit_net_price=line.unit_price,
                    discount_percentage=line.discount_percent or None,
                )
            )
        return lines

    async def _document_body(self, document: Document) -> wire.DocumentIn:
        order = document.shop_order_id
        customer_number = document.customer_number.strip()
        if not customer_number.isdigit():
            raise PermanentError(
                f"Order {order}: {customer_number!r} is not an e-conomic customer number "
                "(e-conomic numbers customers 1-999999999)."
            )
        lines = await self._lines(document)
        customer = document.customer
        recipient: dict[str, Any] = {
            "name": (_display_name(customer) or f"Customer {customer_number}")[:250],
            **_address_fields(customer.billing),
            "vatZone": {"vatZoneNumber": self.config.vat_zone},
        }
        heading = f"Order {document.shop_order_number or order}"[:250]
        notes = {"heading": heading}
        if document.note.strip():
            notes["textLine1"] = document.note.strip()[:1000]
        delivery = _address_fields(customer.shipping) if customer.shipping else {}
        return wire.DocumentIn(
            date=document.date.isoformat(),
            currency=document.currency,
            customer={"customerNumber": int(customer_number)},
            recipient=recipient,
            layout={"layoutNumber": self.config.layout},
            payment_terms={"paymentTermsNumber": self.config.payment_terms},
            references={"other": document.reference},
            lines=lines,
            notes=notes,
            delivery=delivery or None,
        )


def _check_reference(document: Document) -> None:
    if not document.reference or len(document.reference) > MAX_REFERENCE:
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} does not "
            f"fit e-conomic's references.other (1-{MAX_REFERENCE} characters)."
        )


create_adapter = adapter_factory(EconomicConfig, EconomicAdapter)
