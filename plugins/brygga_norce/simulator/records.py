"""Plain records of the simulated Norce Commerce client: SKUs, orders, import jobs, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "STATUS_IDS",
    "ApiError",
    "SimItem",
    "SimJob",
    "SimOnhand",
    "SimOrder",
    "SimPerson",
    "SimPrice",
    "SimSku",
    "iso",
]

#: Query order statuses (docs.norce.io/api-reference/schemas/queryorders, shop-apis.md §4.3)
#: and the SendOrderStatus names that move an order there. Acknowledged/ErpConfirmed set
#: Confirmed (§4.3: "an acknowledgement sets the order to Confirmed"); the others of the
#: documented list are accepted and leave the Query status as it is (modelled).
STATUS_IDS: dict[str, int] = {
    "Created": 0,
    "Allocation": 1,
    "Confirmed": 2,
    "Acknowledged": 2,
    "ErpConfirmed": 2,
    "Delivered": 4,
    "Invoiced": 5,
    "Cancelled": 6,
    "PartlyDelivered": 8,
}
#: SendOrderStatus ``OrderStatus`` values of the latest reference (shop-apis.md §4.3, [NO6])
SEND_STATUSES = frozenset(
    {
        "Allocation",
        "Confirmed",
        "BackOrder",
        "Delivered",
        "Invoiced",
        "Cancelled",
        "CreditControl",
        "PartlyDelivered",
        "Acknowledged",
        "ErpConfirmed",
        "ReadyForPickup",
        "PickedUp",
        "NotPickedUp",
        "OnHold",
        "WaitingForCancel",
        "WaitingForOnHoldRemoved",
        "CancelError",
        "AcknowledgementError",
        "ReadyForReservation",
        "Reserved",
    }
)


def iso(when: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, second precision, as the Query API shows times."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error answer: ``{"Message": ...}`` (Connect/Query) or an OAuth2 ``error``."""

    def __init__(self, status: int, message: str, *, oauth: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.oauth = oauth


@dataclass
class SimOnhand:
    warehouse: str
    location: str
    value: Decimal
    is_active: bool = True
    updated: datetime | None = None


@dataclass
class SimPrice:
    price_list: str
    currency: str
    price_sale: Decimal
    is_active: bool = True
    updated: datetime | None = None


@dataclass
class SimSku:
    part_no: str
    name: str
    price: Decimal
    vat_rate: Decimal
    onhands: list[SimOnhand] = field(default_factory=list)
    prices: list[SimPrice] = field(default_factory=list)


@dataclass
class SimPerson:
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    line1: str = "Storgatan 1"
    zip_code: str = "111 22"
    city: str = "Stockholm"
    country: str = "SE"
    company: str = ""
    company_code: str = ""
    vat_no: str = ""


@dataclass
class SimItem:
    line_no: int
    part_no: str
    name: str
    quantity: int
    unit_price: Decimal
    unit_price_original: Decimal
    vat_rate: Decimal
    type: str = "ErpStandard"
    type_group: str = "Physical"

    @property
    def unit_vat(self) -> Decimal:
        """VAT per unit, to Norce's 4 decimals."""
        return (self.unit_price * self.vat_rate / 100).quantize(Decimal("0.0001"))


@dataclass
class SimOrder:
    order_id: int
    basket_id: int
    application_id: int
    currency: str
    buyer: SimPerson
    items: list[SimItem]
    created: datetime
    updated: datetime
    status_id: int = 0
    erp_order_no: str = ""
    paid: bool = True
    status_log: list[dict[str, Any]] = field(default_factory=list)
    #: CreateDeliveryNote bodies and CancelOrder bodies the order received
    delivery_notes: list[dict[str, Any]] = field(default_factory=list)
    cancels: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> tuple[Decimal, Decimal]:
        """(total incl. VAT, VAT): the sum of the lines (shop-apis.md §7.1, inferred)."""
        net = sum((i.quantity * i.unit_price for i in self.items), Decimal(0))
        vat = sum((i.quantity * i.unit_vat for i in self.items), Decimal(0))
        return net + vat, vat


@dataclass
class SimJob:
    job_id: int
    kind: str
    rows: list[dict[str, Any]]
    header: dict[str, Any]
    created: datetime
    #: Job/Get calls left before the job runs (a real import runs on a worker, later)
    polls_left: int
    status_id: int = 1
    finished: bool = False
    fail: int = 0
    updates: int = 0
    inserts: int = 0
    stop: datetime | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    #: a test makes the job fail when it runs (``StatusId`` 3) with this message
    fail_with: str = ""
