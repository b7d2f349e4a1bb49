"""Hogia Smart wire format, the adapter's side: every path, header and JSON shape.

**Modelled: no public documentation; correct here when the real API is known.** Whether the
public Hogia REST API serves Hogia Smart at all is unverified, and its article, stock and
change endpoints are unknown (reference/erp-apis.md §4.2, §9). What is known: integrators read
Hogia Smart's changes from an "API database" that Hogia Smart writes its changes into, so the
shop is updated only after new data lands there (§4.1 [H1]); in bookkeeping mode only three
helper articles must exist, ``fraktavg``, ``expavg`` and ``rabatt`` (configurable) [H1]; in
master mode Hogia owns article number, name, stock and the "Skicka till Webshop" flag, and
stock changes after POS sales reach the shop [H1]. The Hogia REST API used by third parties
[H3][H4][H5]: ``https://api.hogia.se/{organizationGuid}/<resource>`` with an ``api-version``
header; OAuth2 client credentials at ``https://id.hogia.se/connect/token``; ``contacts``
(``number``, ``companyName``, ``givenName``, ``surName``, ``identificationNumber``,
``vatNumber``, ``countryCode``, ``contactTypes``); ``customerinvoices`` (POST answers
``customerInvoiceId``; read model ``invoiceLines[]{unitPrice, quantity, vat, …}``,
``customerInvoiceState``, ``amountLeftToPay``, ``isCustomerPaid``, ``isCanceled``,
``isBilled``, ``customerInvoiceReferences[]``); ``page`` (from 1) and ``pageSize`` (≤500);
errors as an array of ``{errorCode, message, …}`` or an RFC 7807 object with ``errors``.

Assumptions made here (each one a guess to correct):

1. Hogia Smart is served by that REST API under ``base_url``/``organization_id``; the token
   endpoint is ``token_url``; ``api-version`` is sent as a header.
2. Lists answer ``{"items": [...], "page": n, "pageSize": s, "totalItems": t}``.
3. ``contacts`` can be searched with ``emailAddress=`` and ``identificationNumber=`` and have
   an ``emailAddress``; a search may return more than the exact value (the adapter keeps
   exact matches only).
4. An invoice carries brygga's reference as ``customerInvoiceReferences[{referenceType:
   "External", value}]``; ``customerinvoices?externalReference=`` finds it **directly in Hogia
   Smart, without the API database's lag** (a modelled lookup: without it a fresh invoice
   would be invisible to the exactly-once lookup for the length of the lag).
   ``customerinvoices?customerInvoiceIds=a,b`` reads many invoices at once.
5. Invoice rows: ``articleNumber`` (optional: a row without one is a text row, for articles
   the shop is master of), ``description``, ``quantity``, ``unitPrice`` (excl. VAT), ``vat``
   (percent) and ``discountPercent``; an unknown ``articleNumber`` is refused.
   ``bill: true`` bills (books) the invoice at once; Hogia Smart creates no orders.
6. ``articles`` and ``articles/{number}`` read Hogia Smart's articles directly (current):
   ``articleNumber``, ``name``, ``price`` and ``campaignPrice`` (excl. VAT; no price lists),
   ``vatPercent``, ``sendToWebshop``, ``stockBalance``, ``updatedDate``. No variant structure.
7. The API database is the change log ``changes?loggedFrom=&loggedTo=``: entries
   ``{sequenceId, entity ("article" | "stock"), key, source ("erp" | "pos"), changedDate,
   loggedDate}``. ``loggedDate`` is when the entry landed there (after the lag), so a window
   on it never skips an entry that lands late; ``changedDate`` is when it happened in Hogia.
8. Errors: 400 as RFC 7807 ``{"title", "status", "errors": {field: [messages]}}``, other 4xx
   possibly as the array form; both are read.
9. ``POST customerinvoices/<id>/cancel`` cancels an unbilled invoice (``isCanceled``); a
   billed one is a 400, an unknown id a 404.
10. The token endpoint refuses a wrong client id or secret as OAuth2 does (RFC 6749 §5.2:
    ``{"error": "invalid_client"}``, HTTP 400 or 401), and the API answers 401 to a token it
    does not take (RFC 6750 §3.1); a 403 is a right the API client lacks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import msgspec

__all__ = [
    "API_VERSION",
    "MAX_PAGE_SIZE",
    "Article",
    "Change",
    "Contact",
    "ContactIn",
    "Created",
    "Invoice",
    "InvoiceIn",
    "LineIn",
    "Page",
    "Problem",
    "Reference",
    "TokenAnswer",
    "TokenError",
    "article_path",
    "encode_json",
]

T = TypeVar("T")

API_VERSION = "2024-06-12"
MAX_PAGE_SIZE = 500
#: assumption 4: the reference type brygga's reference is stored under
EXTERNAL = "External"


class _In(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """A request body (camelCase, empty fields left out)."""


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    """An answer (camelCase; fields we do not read are ignored)."""


class TokenError(msgspec.Struct, kw_only=True):
    """A token endpoint's refusal (RFC 6749 §5.2); ``error_description`` is not read."""

    error: str = ""


class TokenAnswer(msgspec.Struct, kw_only=True):
    access_token: Annotated[str, msgspec.Meta(min_length=1)]
    expires_in: Annotated[int, msgspec.Meta(ge=1)] = 3600


class Page(_Out, Generic[T]):
    items: list[T]
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1)] = MAX_PAGE_SIZE
    total_items: Annotated[int, msgspec.Meta(ge=0)] = 0


class Problem(_Out):
    """RFC 7807 form (assumption 8); ``errors`` maps a field to its messages."""

    title: str = ""
    errors: dict[str, list[str]] = {}


class ProblemItem(_Out):
    """The array form's item."""

    error_code: str = ""
    message: str = ""


class ContactIn(_In):
    given_name: str = ""
    sur_name: str = ""
    company_name: str = ""
    identification_number: str = ""
    vat_number: str = ""
    email_address: str = ""
    country_code: str = ""
    contact_types: list[str] = msgspec.field(default_factory=lambda: ["Customer"])
    customer: dict[str, Any] = {}


Number = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class Contact(_Out):
    number: Number
    email_address: str = ""
    identification_number: str = ""


class Reference(_Out):
    reference_type: str
    value: str


class LineIn(_In):
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat: Decimal
    article_number: str = ""
    discount_percent: Decimal = Decimal(0)


class InvoiceIn(_In):
    customer_number: str
    invoice_date: str
    currency_code: str
    invoice_lines: list[LineIn]
    customer_invoice_references: list[Reference]
    our_reference: str = ""
    bill: bool = False


class Created(_Out):
    customer_invoice_id: Number


class Invoice(_Out):
    customer_invoice_id: Number
    customer_invoice_references: list[Reference] = []
    customer_invoice_state: str = ""
    is_billed: bool = False
    is_customer_paid: bool = False
    is_canceled: bool = False
    amount_left_to_pay: Decimal | None = None

    def reference(self) -> str | None:
        """brygga's reference, the first ``External`` one (assumption 4)."""
        return next(
            (r.value for r in self.customer_invoice_references if r.reference_type == EXTERNAL),
            None,
        )


class Article(_Out):
    article_number: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    price: Decimal | None = None
    campaign_price: Decimal | None = None
    vat_percent: Decimal | None = None
    send_to_webshop: bool = False
    stock_balance: Decimal | None = None
    updated_date: str = ""


class Change(_Out):
    sequence_id: Annotated[int, msgspec.Meta(ge=1)]
    entity: str
    key: Annotated[str, msgspec.Meta(min_length=1)]
    changed_date: str
    logged_date: str
    source: str = ""


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode_json(body: msgspec.Struct) -> bytes:
    """A request body as JSON (Decimals as JSON numbers)."""
    return _ENCODER.encode(body)


def article_path(number: str) -> str:
    """``articles/<number>`` (assumption 6), the number one percent-encoded path segment."""
    return "articles/" + quote(number, safe="")
