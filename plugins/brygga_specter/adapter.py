"""Specter (SBM) ERP adapter: customers, invoices or orders, items with variants and price lists.

The wire format is modelled (Specter publishes no API description): every guess lives in
:mod:`brygga_specter.wire`, which lists them. Behaviour chosen here:

- Documents: an invoice or an order (``[connection.orders] document``), created with the
  shop order's reference as ``ExternalOrderNo``, the dedupe key (§3.4: the natural one).
  :meth:`SpecterAdapter.find_document` searches by it and keeps only exact matches (the
  search is assumed to match substrings); the lowest document number wins if Specter holds
  more than one. No lookup before a create: the engine records its intent first and looks
  the reference up before any send that may repeat an earlier one.
- Articles must exist in Specter before a document uses them (§3.2, [S4]):
  :meth:`SpecterAdapter.check_document` reads each row's item, without writing, so a missing
  one fails the order before a customer is created.
- Customers: matched on the keys of ``match_on`` in order (e-mail first, then organisation
  or personal number, as Specter does, §3.2 [S7]); ``ignore_control_email`` and
  ``ignore_control_org_no`` switch a key off in brygga's search and in Specter's own
  matching on create; both on create a new customer every time; ``force_customer_update``
  lets Specter update a customer it matched.
- Status, catalog and stock: :mod:`brygga_specter.status`, :mod:`brygga_specter.catalog`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import quote

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
    remote_client,
)
from brygga.documents import Document
from brygga.errors import BryggaError, PermanentError
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import Currency, Customer, CustomerKind, DocumentRef, DocumentState, DocumentType
from brygga.registers import PriceListSource, ProductSource, StatusSource, StockSource
from brygga.secrets import Secret
from brygga_specter import wire
from brygga_specter.api import NotFoundError, SpecterApi
from brygga_specter.catalog import SpecterCatalog
from brygga_specter.status import STATUS_EVENTS, document_states

__all__ = ["CAPABILITIES", "SpecterAdapter", "SpecterConfig", "create_adapter"]

log = logging.getLogger(__name__)

#: assumed length of ``ExternalOrderNo`` (v1's field; its v2 length is unknown)
MAX_REFERENCE = 100

CAPABILITIES = Capabilities(
    document_types=frozenset({DocumentType.INVOICE, DocumentType.ORDER}),
    variants=True,
    price_lists=True,
    campaign_price=True,
    webhooks=False,
    lookup_by_reference=True,
    # Specter publishes no limit; this one is ours
    rate_limit=DEFAULT_RATE_LIMIT,
    status_events=STATUS_EVENTS,
    notes=(
        "Modelled API: Specter publishes no API description; brygga's wire format is a "
        "documented guess (brygga_specter/wire.py) to correct against a real installation.",
        "Creates an invoice or an order ([connection.orders] document).",
        "The external order number (ExternalOrderNo) is the dedupe key: documents are found "
        "by it, exact match only.",
        "Articles must exist in Specter before an order uses them.",
        "Customers are matched on e-mail first, then organisation/personal number; "
        "ignore_control_email / ignore_control_org_no switch a key off, both on always "
        "create a new customer; force_customer_update lets Specter update a matched one.",
        "Variant structure supported (ParentItemCode); price lists and campaign prices read.",
        "Multishop: each shop's documents carry its Specter webshop id (webshop_ids, by shop "
        "name; webshop_id for the rest).",
        "Stock changes: Specter's stock-change callbacks are read as a change log that brygga "
        "polls (brygga receives webhooks from shops only), then each item's balance.",
        "Cancels a registered order or a preliminary invoice of an order cancelled in the "
        'shop (shop_changes = "cancel"); booked invoices and delivered orders need a person.',
        "Order status: partially delivered, delivered (with tracking number and delivery "
        "method), invoiced, paid and cancelled.",
    ),
)


class SpecterConfig(AdapterConfig, kw_only=True):
    """``[connection.erp]`` for ``kind = "specter"``."""

    kind: str = "specter"
    base_url: str = "https://api.specter.se"
    #: the integer SBM ID that routes requests to the company's database [S5]
    sbm_id: Annotated[int, msgspec.Meta(ge=1)]
    api_user_key: Secret
    integration_key: Secret
    #: Specter's customer-matching switches (§3.2 [S7][S3])
    ignore_control_email: bool = False
    ignore_control_org_no: bool = False
    force_customer_update: bool = False
    #: multishop: the Specter webshop id a shop's documents carry, by brygga shop name
    #: (``{ se = "1", no = "2" }``); a shop not listed takes ``webshop_id`` ("" for none)
    webshop_ids: dict[str, str] = msgspec.field(default_factory=dict)
    webshop_id: str = ""
    #: the stock site read as the shop's stock and put on documents ("": the default site)
    stock_site_id: str = ""
    #: the currency of an item's prices when the item names none
    base_currency: Currency = "SEK"
    page_size: Annotated[int, msgspec.Meta(ge=1, le=wire.MAX_PAGE_SIZE)] = wire.MAX_PAGE_SIZE
    rate_limit: RateLimit | None = None


def _clip(text: str, length: int) -> str:
    return text.strip()[:length]


def _display_name(customer: Customer) -> str:
    billing = customer.billing
    if customer.kind == CustomerKind.COMPANY:
        candidates = (billing.company, customer.name, billing.name, customer.email)
    else:
        candidates = (customer.name, billing.name, billing.company, customer.email)
    return next((c.strip() for c in candidates if c.strip()), "")


class SpecterAdapter(
    SpecterCatalog,
    ErpAdapter,
    DocumentChecker,
    DocumentCanceller,
    RemoteVerifier,
    StatusSource,
    ProductSource,
    StockSource,
    PriceListSource,
):
    """The Specter side of a connection: orders in as invoices or orders; items, variants,
    prices, price lists and stock read."""

    def __init__(self, config: SpecterConfig, context: AdapterContext) -> None:
        self.config = config
        key, integration = config.api_user_key.reveal(), config.integration_key.reveal()
        client = remote_client(
            config,
            context,
            "specter",
            str(config.sbm_id),
            key,
            headers=dict(
                zip(wire.AUTH_HEADERS, (key, integration, str(config.sbm_id)), strict=True)
            )
            | {"Accept": "application/json"},
        )
        self.api = SpecterApi(
            client,
            (key, integration),
            account=f"(SBM ID {config.sbm_id})",
            fix=(
                f"fix api_user_key ({config.api_user_key.source}), integration_key "
                f"({config.integration_key.source}) and sbm_id ({config.sbm_id}) in "
                "[connection.erp], or check that the API user is active in Specter, then "
                "reload brygga"
            ),
        )

    def __repr__(self) -> str:
        return f"SpecterAdapter(base_url={self.config.base_url!r}, sbm_id={self.config.sbm_id})"

    async def aclose(self) -> None:
        await self.api.aclose()

    # --- customers -------------------------------------------------------------------------

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        for key in match_on:
            if key == "customer_number" and customer.customer_number.strip():
                number = customer.customer_number.strip()
                try:
                    found = self.api.decode(
                        await self.api.request("GET", "customers/" + quote(number, safe="")),
                        wire.Customer,
                        f"customer {number}",
                    )
                except NotFoundError:
                    continue
                return found.customer_id
            if key == "email" and not self.config.ignore_control_email:
                match = await self._search("EmailAddress", customer.email, "email_address")
            elif key == "org_number" and not self.config.ignore_control_org_no:
                match = await self._search("OrgNo", customer.org_number, "org_no")
            else:
                continue
            if match is not None:
                return match
        return None

    async def _search(self, param: str, value: str, field: str) -> str | None:
        """The lowest customer id whose ``field`` really equals ``value`` (case-insensitive):
        rows an over-wide search returned never match a stranger."""
        wanted = value.strip().casefold()
        if not wanted:
            return None
        ids = [
            c.customer_id
            async for c in self.api.pages(
                "customers",
                wire.Customer,
                f"the customer search on {param}",
                params={param: value.strip()},
                page_size=100,
            )
            if str(getattr(c, field)).strip().casefold() == wanted
        ]
        return min(ids, key=lambda i: (len(i), i)) if ids else None

    async def create_customer(self, customer: Customer, currency: str) -> str:
        who = customer.email or customer.shop_customer_id or "without e-mail"
        name = _display_name(customer)
        if not name or not customer.email.strip():
            raise PermanentError(
                f"Customer {who}: Specter needs a name and an e-mail address for a customer "
                "and the order lacks one; add it to the order in the shop."
            )
        first, _, last = (customer.billing.name or name).strip().partition(" ")
        billing = customer.billing
        body = wire.CustomerIn(
            name=_clip(name, 100),
            email_address=_clip(customer.email, 100),
            customer_type="C" if customer.kind == CustomerKind.COMPANY else "P",
            org_no=_clip(customer.org_number, 20),
            vat_no=_clip(customer.vat_number, 30),
            phone_no=_clip(billing.phone, 50),
            contact_first_name=_clip(first, 50),
            contact_last_name=_clip(last, 50),
            currency=currency,
            address=wire.AddressIn(
                street=_clip(" ".join(s for s in (billing.street, billing.street2) if s), 100),
                zip_code=_clip(billing.postal_code, 20),
                city=_clip(billing.city, 50),
                country_code=billing.country_code,
            ),
            ignore_control_email=self.config.ignore_control_email,
            ignore_control_org_no=self.config.ignore_control_org_no,
            force_customer_update=self.config.force_customer_update,
        )
        response = await self.api.request("POST", "customers", body=body)
        created = self.api.decode(response, wire.Customer, f"the new customer {who}", write=True)
        log.info("specter: customer %s for %s", created.customer_id, who)
        return created.customer_id

    # --- documents -------------------------------------------------------------------------

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        what = f"the search for external order number {reference!r}"
        found: list[tuple[int, str, bool]] = []
        if document_type == DocumentType.INVOICE:
            async for invoice in self.api.pages(
                "invoices", wire.Invoice, what, params={"ExternalOrderNo": reference}
            ):
                if invoice.external_order_no == reference:
                    booked = invoice.status == "Booked"
                    found.append((len(invoice.invoice_no), invoice.invoice_no, booked))
        else:
            async for order in self.api.pages(
                "orders", wire.Order, what, params={"ExternalOrderNo": reference}
            ):
                if order.external_order_no == reference:
                    found.append((len(order.order_no), order.order_no, False))
        if not found:
            return None
        _, number, booked = min(found)
        return DocumentRef(
            document_type=document_type, number=number, reference=reference, booked=booked
        )

    async def check_document(self, document: Document) -> None:
        """Raise the PermanentError :meth:`create_document` would for this document's
        reference and articles, reading only."""
        _check_reference(document)
        await self._rows(document)

    async def _rows(self, document: Document) -> list[wire.RowIn]:
        order = document.shop_order_id
        known: set[str] = set()
        rows: list[wire.RowIn] = []
        for number, line in enumerate(document.lines, start=1):
            code = line.article_number.strip()
            where = f"Order {order} row {number}"
            if not code:
                raise PermanentError(f"{where}: the row has no article number; Specter needs one.")
            if code not in known:
                try:
                    self.api.decode(
                        await self.api.request("GET", wire.item_path(code)), wire.Item, f"{where}"
                    )
                except NotFoundError:
                    raise PermanentError(
                        f"{where}: article {code} does not exist in Specter; create it there "
                        "(Specter needs an article before an order can use it) or correct the "
                        "SKU in the shop."
                    ) from None
                known.add(code)
            rows.append(
                wire.RowIn(
                    item_code=code,
                    description=_clip(line.description or code, 200),
                    quantity=line.quantity,
                    price_ex_vat=line.unit_price,
                    vat_percentage=line.vat_rate,
                    discount_percent=line.discount_percent,
                )
            )
        return rows

    async def create_document(self, document: Document) -> DocumentRef:
        kind = document.document_type
        _check_reference(document)
        if not document.customer_number.strip():
            raise PermanentError(f"Order {document.shop_order_id}: no Specter customer id.")
        body = wire.DocumentIn(
            customer_id=document.customer_number.strip(),
            external_order_no=document.reference,
            order_date=document.date.isoformat(),
            currency=document.currency,
            rows=await self._rows(document),
            customer_order_reference=_clip(
                document.shop_order_number or document.shop_order_id, 50
            ),
            published_comment=_clip(document.note, 1000),
            webshop_id=self._webshop(document.reference),
            stock_site_id=self.config.stock_site_id,
            book=document.book and kind == DocumentType.INVOICE,
        )
        what = f"the {kind.value} for order {document.shop_order_id}"
        if kind == DocumentType.INVOICE:
            response = await self.api.request("POST", "invoices", body=body)
            invoice = self.api.decode(response, wire.Invoice, what, write=True)
            number, booked = invoice.invoice_no, invoice.status == "Booked"
        else:
            response = await self.api.request("POST", "orders", body=body)
            number, booked = self.api.decode(response, wire.Order, what, write=True).order_no, False
        log.info("specter: created %s %s for %s", kind, number, document.reference)
        return DocumentRef(
            document_type=kind, number=number, reference=document.reference, booked=booked
        )

    async def cancel_document(self, document: DocumentRef) -> None:
        """Cancel a registered order or a preliminary invoice of an order cancelled in the
        shop (``brygga.adapters.DocumentCanceller``; wire assumption 15). One Specter no
        longer has counts as cancelled, so a repeat after an unknown outcome is harmless; a
        booked invoice or a delivered order is refused by Specter and needs a person."""
        kind = document.document_type
        collection = "invoices" if kind == DocumentType.INVOICE else "orders"
        what = f"cancelling {kind.value} {document.number} ({document.reference})"
        if kind == DocumentType.INVOICE and document.booked:
            raise PermanentError(
                f"invoice {document.number} ({document.reference}) is booked, so it cannot be "
                "cancelled: credit it in Specter, then close this record"
            )
        path = f"{collection}/{quote(document.number, safe='')}/cancel"
        response = await self.api.request("POST", path)
        if response.status_code == 404:
            log.info("specter: %s: gone already", what)
            return
        if not 200 <= response.status_code < 300:
            error = self.api.fail(response, what)
            raise PermanentError(f"{error}; cancel or credit it in Specter by hand") from None
        log.info("specter: cancelled %s %s for %s", kind, document.number, document.reference)

    def _webshop(self, reference: str) -> str:
        """The webshop id of the shop a reference names (the core's format is
        ``brygga:<connection>:<shop>:<order>``, ``brygga.sync.references.document_reference``)."""
        parts = reference.split(":")
        shop = parts[2] if len(parts) >= 4 and parts[0] == "brygga" else ""
        return self.config.webshop_ids.get(shop, self.config.webshop_id)

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """What became of the documents (``brygga.registers.StatusSource``)."""
        return await document_states(self.api, documents)

    # --- brygga check --remote ---------------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """The keys (one customer read) and each helper article, reading only."""
        try:
            self.api.decode(
                await self.api.request("GET", "customers", params={"Page": 1, "PageSize": 1}),
                wire.Page[wire.Customer],
                "the customer list",
            )
        except BryggaError as exc:
            return [RemoteFinding("credentials", False, str(exc))]
        findings = [RemoteFinding("credentials", True, "Specter accepted the API keys")]
        for number in dict.fromkeys(h.number for h in needs.helper_articles):
            check = f"helper article {number}"
            try:
                item = self.api.decode(
                    await self.api.request("GET", wire.item_path(number)), wire.Item, check
                )
            except NotFoundError:
                findings.append(
                    RemoteFinding(
                        check, False, f"does not exist in Specter; create article {number}"
                    )
                )
            except BryggaError as exc:
                findings.append(RemoteFinding(check, False, str(exc)))
            else:
                findings.append(RemoteFinding(check, True, item.description or "exists"))
        return findings


def _check_reference(document: Document) -> None:
    if not document.reference or len(document.reference) > MAX_REFERENCE:
        raise PermanentError(
            f"Order {document.shop_order_id}: the reference {document.reference!r} does not fit "
            f"Specter's external order number (1-{MAX_REFERENCE} characters)."
        )


create_adapter = adapter_factory(SpecterConfig, SpecterAdapter)
