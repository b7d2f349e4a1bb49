"""Canonical models: the shapes every adapter maps its wire format to and from."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import msgspec

__all__ = [
    "EVENT_RANK",
    "Address",
    "Customer",
    "CustomerKind",
    "DocumentRef",
    "DocumentState",
    "DocumentType",
    "LineKind",
    "Order",
    "OrderChange",
    "OrderEvent",
    "OrderLine",
    "Register",
    "decode",
    "encode",
]

#: ISO 4217 code, upper case.
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
#: A VAT rate in percent, e.g. Decimal("25"); 0..100 is checked in __post_init__ (msgspec
#: has no range constraints for Decimal).
VatRate = Decimal
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
#: Timestamps must carry a zone; adapters convert to UTC.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

T = TypeVar("T")


class Register(enum.StrEnum):
    """A data register that flows between shop and ERP."""

    ORDERS = "orders"
    STATUS = "status"
    PRODUCTS = "products"
    PRICES = "prices"
    PRICE_LISTS = "price_lists"
    STOCK = "stock"


class LineKind(enum.StrEnum):
    """What an order line stands for; fee kinds map to configurable article numbers."""

    ITEM = "item"
    FREIGHT = "freight"
    FEE = "fee"
    DISCOUNT = "discount"
    ROUNDING = "rounding"


class DocumentType(enum.StrEnum):
    """The ERP document an order becomes."""

    INVOICE = "invoice"
    ORDER = "order"


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"


def check_vat_rate(rate: Decimal) -> None:
    """A VAT rate is a percentage from 0 to 100 (msgspec turns the ValueError into a
    ValidationError when decoding)."""
    if not Decimal(0) <= rate <= Decimal(100):
        raise ValueError(f"vat_rate must be a percentage from 0 to 100, got {rate}")


class _Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for canonical models: immutable, keyword-only, strict on decode."""


class Address(_Model, frozen=True, kw_only=True):
    name: str = ""
    company: str = ""
    street: str = ""
    street2: str = ""
    postal_code: str = ""
    city: str = ""
    country_code: Annotated[str, msgspec.Meta(pattern=r"^([A-Z]{2})?$")] = ""
    phone: str = ""


class Customer(_Model, frozen=True, kw_only=True):
    """A buyer as the shop knows them; ``shop_customer_id`` is None for guests."""

    shop_customer_id: str | None = None
    kind: CustomerKind = CustomerKind.PERSON
    email: str = ""
    name: str = ""
    org_number: str = ""
    vat_number: str = ""
    customer_number: str = ""
    billing: Address = Address()
    shipping: Address | None = None

    @property
    def is_guest(self) -> bool:
        return self.shop_customer_id is None


class OrderLine(_Model, frozen=True, kw_only=True):
    """One order row. ``unit_price`` is excluding VAT; ``discount`` is the row's total reduction
    excluding VAT (already resolved from percent or amount by the shop adapter)."""

    kind: LineKind = LineKind.ITEM
    sku: str = ""
    name: str = ""
    quantity: Decimal
    unit_price: Decimal
    vat_rate: VatRate
    discount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        check_vat_rate(self.vat_rate)
        if self.discount < 0:
            raise ValueError(f"discount must not be negative, got {self.discount}")

    @property
    def net_amount(self) -> Decimal:
        """Row total excluding VAT, unrounded."""
        return self.quantity * self.unit_price - self.discount


class Order(_Model, frozen=True, kw_only=True):
    """A shop order with its customer. Every amount is in ``currency``; ``total`` and
    ``total_vat`` are the shop's own figures, which the ERP document must reproduce."""

    shop_order_id: NonEmpty
    number: str = ""
    created_at: AwareDatetime
    modified_at: AwareDatetime
    status: str
    currency: Currency
    customer: Customer
    lines: tuple[OrderLine, ...]
    total: Decimal
    total_vat: Decimal
    paid: bool = False
    note: str = ""
    extra: dict[str, str] = {}
    #: the ERP document number the shop already records for this order (the mark
    #: ``ExportMark.mark_exported`` writes), "" for none or when the adapter cannot read it
    exported_as: str = ""


class OrderChange(_Model, frozen=True, kw_only=True):
    """What a shop's change feed says about one order: enough to enqueue it."""

    shop_order_id: NonEmpty
    modified_at: AwareDatetime
    status: str


class DocumentRef(_Model, frozen=True, kw_only=True):
    """An ERP document created for an order."""

    document_type: DocumentType
    number: str
    reference: str
    booked: bool = False


class OrderEvent(enum.StrEnum):
    """What became of a transferred order in the ERP (a ``[connection.status]`` rule's name)."""

    #: the order is in the ERP (the orders flow bound it to its document)
    TRANSFERRED = "transferred"
    PARTIALLY_DELIVERED = "partially_delivered"
    INVOICED = "invoiced"
    DELIVERED = "delivered"
    PAID = "paid"
    CANCELLED = "cancelled"


#: how far along an order each event is: the shop status follows the highest event that has
#: a rule, so a late event of a lower rank (``invoiced`` after ``delivered``) is recorded but
#: never moves the order back
EVENT_RANK: dict[OrderEvent, int] = {event: rank for rank, event in enumerate(OrderEvent)}


class DocumentState(_Model, frozen=True, kw_only=True):
    """What the ERP says of one document brygga created for a shop order (``StatusSource``)."""

    #: the external reference the document was created with
    reference: NonEmpty
    #: its number now (a draft's number until booked, then the booked one)
    number: NonEmpty
    booked: bool = False
    #: every event that has happened to it so far (never only the newest)
    events: frozenset[OrderEvent] = frozenset()
    tracking_number: str = ""
    carrier: str = ""


_ENCODER = msgspec.json.Encoder(decimal_format="string")


def encode(obj: msgspec.Struct) -> bytes:
    """JSON-encode a canonical object (Decimals as strings, so nothing is lost)."""
    return _ENCODER.encode(obj)


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into a canonical type, validating it."""
    return msgspec.json.decode(data, type=type_)
