"""e-conomic legacy REST wire format: JSON Structs, filter escaping and self-link encoding."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import msgspec

__all__ = [
    "Account",
    "BookRequest",
    "BookedInvoice",
    "CustomerIn",
    "CustomerOut",
    "DocumentIn",
    "DocumentLineIn",
    "DraftInvoice",
    "ErrorBody",
    "Named",
    "Order",
    "Page",
    "Pagination",
    "Product",
    "SalesAccount",
    "VatAccount",
    "decode_product_number",
    "encode_json",
    "encode_product_number",
    "escape_filter_value",
]

T = TypeVar("T")

# --- helpers ---------------------------------------------------------------------------------

_FILTER_ESCAPES = {c: "$" + c for c in "$()*,[]"}

#: the documented custom encoding of string ids in resource URLs
_SELF_LINK_CODES = {
    "<": "_0_",
    ">": "_1_",
    "*": "_2_",
    "%": "_3_",
    ":": "_4_",
    "&": "_5_",
    "/": "_6_",
    "\\": "_7_",
    "_": "_8_",
    " ": "_9_",
    "?": "_10_",
    ".": "_11_",
    "#": "_12_",
    "+": "_13_",
}
_SELF_LINK_DECODE = {code.strip("_"): char for char, code in _SELF_LINK_CODES.items()}
_SELF_LINK_TOKEN = re.compile(r"_(\d{1,2})_")


def escape_filter_value(value: str) -> str:
    """Escape a value for ``filter=prop$eq:<value>`` (``$ ( ) * , [ ]`` get a ``$`` prefix)."""
    return "".join(_FILTER_ESCAPES.get(char, char) for char in value)


def encode_product_number(number: str) -> str:
    """The URL path segment of a product number (or any string id, e.g. a VAT code), in
    e-conomic's self-link encoding."""
    return "".join(_SELF_LINK_CODES.get(char) or quote(char, safe="-~") for char in number)


def decode_product_number(segment: str) -> str:
    """Inverse of :func:`encode_product_number` for an already percent-decoded path segment."""

    def replace(match: re.Match[str]) -> str:
        return _SELF_LINK_DECODE.get(match.group(1), match.group(0))

    return _SELF_LINK_TOKEN.sub(replace, segment)


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode_json(obj: Any) -> bytes:
    """JSON with Decimals as numbers (e-conomic wants numbers, not strings)."""
    return _ENCODER.encode(obj)


# --- responses -------------------------------------------------------------------------------

#: e-conomic numbers customers, documents and groups from 1; 0, negatives and bools are garbage
Number = Annotated[int, msgspec.Meta(ge=1)]


def _finite(value: Decimal | None, field: str) -> None:
    """msgspec has no Decimal constraints: NaN/Infinity become a ValidationError here."""
    if value is not None and not value.is_finite():
        raise ValueError(f"{field} must be a finite number")


class _In(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A response Struct: unknown fields are ignored (the API adds fields over time)."""


class Pagination(_In, frozen=True, kw_only=True):
    skip_pages: int = 0
    page_size: int = 20
    #: the collection's size (None: the answer does not say)
    results: int | None = None
    next_page: str | None = None

    def more_after(self, skip: int, size: int, got: int) -> bool:
        """Whether pages follow page ``skip`` (``skippages``) of ``size`` that held ``got``
        items. The documentation promises only "convenient links to navigate through the
        pagination" and shows pages asked by ``skippages``/``pagesize`` (e-conomic/slate,
        source/includes/_introduction.md, "Pagination"), not the name of a next-page link,
        so its absence alone never ends a listing: a ``nextPage`` link says more follow; else
        the collection's ``results`` count decides; else a full page may have more (an empty
        page then ends the listing)."""
        if got == 0:
            return False
        if self.next_page is not None:
            return True
        if self.results is not None:
            # rows read so far (a server that ignored pagesize may have sent them all at once)
            return skip * size + got < self.results
        return got >= size


class Page(_In, Generic[T], frozen=True, kw_only=True):
    #: required: a 200 without it (an error body, say) must not read as "nothing found"
    collection: list[T]
    pagination: Pagination = Pagination()


class ErrorBody(_In, frozen=True, kw_only=True):
    message: str = ""
    developer_hint: str = ""
    error_code: str = ""
    errors: Any = None
    log_id: str = ""


class CustomerOut(_In, frozen=True, kw_only=True):
    customer_number: Annotated[int, msgspec.Meta(ge=1, le=999_999_999)]
    name: str = ""
    email: str = ""
    corporate_identification_number: str = ""


class _GroupRef(_In, frozen=True, kw_only=True):
    product_group_number: int


class Product(_In, frozen=True, kw_only=True):
    product_number: str
    name: str = ""
    sales_price: Decimal | None = None
    barred: bool = False
    product_group: _GroupRef | None = None

    def __post_init__(self) -> None:
        _finite(self.sales_price, "salesPrice")


class Named(_In, frozen=True, kw_only=True):
    """Any resource read only to show it exists (layouts, payment terms, zones, groups)."""

    name: str = ""
    #: payment terms only: net, invoiceMonth, paidInCash, prepaid, dueDate, … (else "")
    payment_terms_type: str = ""


# The documented VAT chain (e-conomic/slate source/includes/_product-groups.md, _accounts.md,
# _vat-accounts.md): product.productGroup -> GET /product-groups/{n}/sales-accounts (one per
# salesVatZone) -> GET /accounts/{accountNumber} vatAccount.vatCode -> GET /vat-accounts/{code}.


class _AccountRef(_In, frozen=True, kw_only=True):
    account_number: int


class _VatZoneRef(_In, frozen=True, kw_only=True):
    vat_zone_number: int


class SalesAccount(_In, frozen=True, kw_only=True):
    """One item of ``/product-groups/{n}/sales-accounts``: the account used for one VAT zone."""

    account: _AccountRef | None = None
    sales_vat_zone: _VatZoneRef | None = None


class _VatAccountRef(_In, frozen=True, kw_only=True):
    vat_code: str


class Account(_In, frozen=True, kw_only=True):
    """``/accounts/{accountNumber}``; an account without ``vatAccount`` has no VAT code."""

    account_number: int
    name: str = ""
    vat_account: _VatAccountRef | None = None


class VatAccount(_In, frozen=True, kw_only=True):
    """``/vat-accounts/{vatCode}``; a missing ``ratePercentage`` reads as 0 (our choice: the
    docs say only that false booleans are left out of answers)."""

    vat_code: str = ""
    name: str = ""
    rate_percentage: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _finite(self.rate_percentage, "ratePercentage")


class _References(_In, frozen=True, kw_only=True):
    other: str = ""


class DraftInvoice(_In, frozen=True, kw_only=True):
    draft_invoice_number: Number
    references: _References = _References()


class BookedInvoice(_In, frozen=True, kw_only=True):
    booked_invoice_number: Number
    references: _References = _References()
    #: what is left to pay, in the invoice's currency (0: paid in full); None when the
    #: answer leaves it out
    remainder: Decimal | None = None

    def __post_init__(self) -> None:
        _finite(self.remainder, "remainder")


class Order(_In, frozen=True, kw_only=True):
    order_number: Number
    references: _References = _References()


# --- requests (None fields are left out: e-conomic rejects null) ----------------------------


class _Out(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    pass


class CustomerIn(_Out, kw_only=True):
    name: str
    currency: str
    customer_group: dict[str, int]
    payment_terms: dict[str, int]
    vat_zone: dict[str, int]
    email: str | None = None
    address: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None
    corporate_identification_number: str | None = None
    vat_number: str | None = None
    mobile_phone: str | None = None


class DocumentLineIn(_Out, kw_only=True):
    line_number: int
    sort_key: int
    product: dict[str, str]
    description: str
    quantity: Decimal
    unit_net_price: Decimal
    discount_percentage: Decimal | None = None


class DocumentIn(_Out, kw_only=True):
    """A draft invoice or draft order (the two share one shape)."""

    date: str
    currency: str
    customer: dict[str, int]
    recipient: dict[str, Any]
    layout: dict[str, int]
    payment_terms: dict[str, int]
    references: dict[str, str]
    lines: list[DocumentLineIn]
    notes: dict[str, str] | None = None
    delivery: dict[str, str] | None = None


class BookRequest(_Out, kw_only=True):
    draft_invoice: dict[str, int]
