"""In-memory state of the Starweb simulator: orders, customers and statuses, as Starweb shapes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from brygga.clock import Clock
from brygga.documents import round_money
from brygga_starweb.simulator.records import (
    ApiError,
    SimAddress,
    SimCustomer,
    SimStatus,
    StatusChange,
    iso,
)

__all__ = ["ADDRESS_KINDS", "Knobs", "OrderState", "SimItem", "SimOrder"]

ADDRESS_KINDS = (
    "originalInvoice",
    "originalDelivery",
    "customerInvoice",
    "customerDelivery",
    "paymentMethodInvoice",
    "paymentMethodDelivery",
)


@dataclass
class SimItem:
    item_id: int
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    vat_rate: Decimal
    discount: Decimal = Decimal(0)
    discount_type: str = "percent"
    sort_index: int = 0

    @property
    def net(self) -> Decimal:
        """Row net excl. VAT, rounded per row like ``brygga.documents.DocumentLine``."""
        gross = self.quantity * self.unit_price
        reduction = (
            gross * self.discount / 100 if self.discount_type == "percent" else self.discount
        )
        return round_money(gross - reduction)

    def wire(self) -> dict[str, Any]:
        return {
            "itemId": self.item_id,
            "sku": self.sku,
            "description": self.description,
            "quantity": self.quantity,
            "unitSymbol": "st",
            "unitPrice": self.unit_price,
            "vatRate": self.vat_rate,
            "discount": self.discount,
            "discountType": self.discount_type,
            "sortIndex": self.sort_index,
        }


@dataclass
class SimOrder:
    order_id: int
    created_at: datetime
    modified_at: datetime
    status_id: int
    customer_id: int | None
    email: str
    items: list[SimItem]
    addresses: dict[str, SimAddress]
    national_id_no: str = ""
    vat_no: str = ""
    is_complete: bool = True
    currency: str = "SEK"
    payment_status: str = "reserved"
    amount_paid: Decimal = Decimal(0)
    shipping_method: str = "PostNord MyPack"
    shipping_cost: Decimal = Decimal(0)
    shipping_vat_rate: Decimal = Decimal(25)
    payment_method: str = "Klarna"
    payment_fee: Decimal = Decimal(0)
    payment_vat_rate: Decimal = Decimal(25)
    discount_code: str = ""
    tracker_type: int | None = None
    tracking_no: str = ""
    internal_comment: str = ""
    is_read: bool = False
    external_services: dict[str, tuple[str, bool]] = field(default_factory=dict)
    status_changes: list[StatusChange] = field(default_factory=list)

    def rows(self) -> list[tuple[Decimal, Decimal]]:
        """(net, VAT) per row: items, then shipping and payment fee, each rounded per row."""
        rows = [(item.net, item.vat_rate) for item in self.items]
        rows.append((round_money(self.shipping_cost), self.shipping_vat_rate))
        rows.append((round_money(self.payment_fee), self.payment_vat_rate))
        return [(net, round_money(net * rate / 100)) for net, rate in rows]

    def totals(self) -> tuple[Decimal, Decimal]:
        """(totalAmount excl. VAT, totalVat)."""
        rows = self.rows()
        return sum((n for n, _ in rows), Decimal(0)), sum((v for _, v in rows), Decimal(0))

    @property
    def amount_to_pay(self) -> Decimal:
        net, vat = self.totals()
        return net + vat

    def external_services_wire(self) -> list[dict[str, Any]]:
        return [
            {"serviceName": name, "externalIdValue": value, "readOnly": read_only}
            for name, (value, read_only) in self.external_services.items()
        ]

    def wire(self, state: OrderState, includes: frozenset[str] = frozenset()) -> dict[str, Any]:
        net, vat = self.totals()
        to_pay = net + vat
        out: dict[str, Any] = {
            "orderId": self.order_id,
            "createdAt": iso(self.created_at),
            "modifiedAt": iso(self.modified_at),
            "customerId": self.customer_id,
            "statusId": self.status_id,
            "isComplete": self.is_complete,
            "paymentStatus": self.payment_status,
            "paymentReference": f"sim-{self.order_id}",
            "isRead": self.is_read,
            "currencyCode": self.currency,
            "currencyExchangeRate": 1,
            "currencyPrecision": 2,
            "baseCurrencyCode": self.currency,
            "shopCountryCode": "SE",
            "langCode": "sv",
            "totalAmount": net,
            "totalVat": vat,
            "amountToPay": to_pay,
            "amountPaid": self.amount_paid,
            "totalAmountInBaseCurrency": net,
            "totalVatInBaseCurrency": vat,
            "amountToPayInBaseCurrency": to_pay,
            "amountPaidInBaseCurrency": self.amount_paid,
            "shippingMethodId": 1,
            "shippingMethodName": self.shipping_method,
            "shippingCost": self.shipping_cost,
            "shippingVatRate": self.shipping_vat_rate,
            "shippingTrackerType": self.tracker_type,
            "shippingTrackingNo": self.tracking_no or None,
            "paymentMethodId": 1,
            "paymentMethodIdCode": "klarna_checkout",
            "paymentMethodName": self.payment_method,
            "paymentFee": self.payment_fee,
            "paymentVatRate": self.payment_vat_rate,
            "discountCode": self.discount_code or None,
            "originalCustomerEmail": self.email,
            "originalCustomerNationalIdNo": self.national_id_no,
            "originalCustomerVatNo": self.vat_no,
            "originalCustomerCustomInfo1": "",
            "originalCustomerCustomInfo2": "",
            "customInfo1": "",
            "customInfo2": "",
            "customInfo3": "",
            "customInfo4": "",
            "internalComment": self.internal_comment,
            "hasComments": bool(self.internal_comment),
            "totalWeight": 0,
        }
        if "items" in includes:
            out["items"] = {"data": [item.wire() for item in self.items]}
        if "addresses" in includes:
            out["addresses"] = {
                "data": {
                    kind: self.addresses.get(kind, SimAddress()).wire() for kind in ADDRESS_KINDS
                }
            }
        if "customer" in includes:
            customer = state.customers.get(self.customer_id) if self.customer_id else None
            out["customer"] = {"data": customer.wire() if customer else None}
        if "status" in includes:
            out["status"] = {"data": state.status(self.status_id).wire()}
        if "externalServices" in includes:
            out["externalServices"] = {"data": self.external_services_wire()}
        return out


class OrderState:
    """Orders, customers and statuses of one simulated shop, with id counters and a clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.orders: dict[int, SimOrder] = {}
        self.customers: dict[int, SimCustomer] = {}
        self.statuses: dict[int, SimStatus] = {
            s.status_id: s
            for s in (
                SimStatus(1, "created", "Ny", True),
                SimStatus(2, "picking", "Plockas", False),
                SimStatus(3, "completed", "Skickad", True),
                SimStatus(4, "canceled", "Makulerad", True),
            )
        }
        #: ``sendEmailsOnStatusChange``: sticky for this and all future calls
        self.send_emails_on_status_change = True
        self._next_order = 1001
        self._next_item = 1
        self._next_customer = 501

    def now(self) -> datetime:
        """The clock's time at Starweb's resolution (whole seconds)."""
        return self.clock.now().replace(microsecond=0)

    def next_order_id(self) -> int:
        self._next_order += 1
        return self._next_order - 1

    def next_item_id(self) -> int:
        self._next_item += 1
        return self._next_item - 1

    def next_customer_id(self) -> int:
        self._next_customer += 1
        return self._next_customer - 1

    def order(self, order_id: int) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "not_found", f"Order {order_id} was not found")
        return order

    def status(self, status_id: int) -> SimStatus:
        status = self.statuses.get(status_id)
        if status is None:
            raise ApiError(400, "invalid_request", f"statusId {status_id} does not exist")
        return status

    def status_by_code(self, id_code: str) -> SimStatus:
        for status in self.statuses.values():
            if status.id_code == id_code:
                return status
        raise KeyError(f"no simulated order status with idCode {id_code!r}")

    def touch(self, order: SimOrder) -> None:
        order.modified_at = self.now()

    def change_status(
        self,
        order: SimOrder,
        status: SimStatus,
        *,
        send_email: bool | None,
        process_payment: bool,
    ) -> None:
        """Apply a status change requested through the API, performing its side effects."""
        email_requested = self.send_emails_on_status_change if send_email is None else send_email
        action = ""
        if process_payment and order.payment_status == "reserved":
            if status.id_code == "completed":
                action = "captured"
                order.amount_paid = order.amount_to_pay
            elif status.id_code == "canceled":
                action = "canceled"
            order.payment_status = action or order.payment_status
        order.status_id = status.status_id
        order.status_changes.append(
            StatusChange(
                status=status.id_code,
                email_requested=email_requested,
                capture_requested=process_payment,
                email_sent=email_requested and status.should_send_email,
                payment_action=action,
                tracking_number=order.tracking_no,
            )
        )


@dataclass
class Knobs:
    """Simulator settings tests may change at any time (hostile-server behaviour)."""

    page_size: int = 100
    #: ``filterSku`` matches any variant's SKU (True) or only the primary variant's (False);
    #: the spec says neither, so adapters must not rely on the first
    filter_sku_matches_variants: bool = True
    #: page N+1 repeats the last row of page N
    duplicate_pages: bool = False
    #: how many more order list pages touch (bump ``modifiedAt`` of) the first row of the
    #: next page after being served, so that row jumps to the front while the client pages
    drift: int = 0
    #: shuffles rows with equal sort keys in ``GET /orders``, anew for every request (the
    #: spec names no tie-breaker); None orders ties by orderId
    ties: random.Random | None = None
    #: called with the page number after each ``GET /orders`` page is computed
    on_orders_page: Callable[[int], None] | None = None
    #: called with the page number after each ``GET /products`` page is computed
    on_products_page: Callable[[int], None] | None = None
    #: per order id: mutates the emitted order JSON (garbage-payload tests)
    manglers: dict[int, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
