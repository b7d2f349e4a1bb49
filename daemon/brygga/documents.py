"""The ERP document an order becomes: rows with article numbers, ready for an ERP adapter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from brygga.models import Customer, DocumentType, LineKind, check_vat_rate

__all__ = ["Document", "DocumentLine", "Totals", "round_money"]

CENT = Decimal("0.01")


def round_money(amount: Decimal) -> Decimal:
    """Round to öre/cents, half away from zero (as Nordic ERPs and shops do)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class DocumentLine(msgspec.Struct, frozen=True, kw_only=True):
    """One ERP row. ``unit_price`` excludes VAT and has at most two decimals.

    The row's net amount is ``round(quantity * unit_price * (1 - discount_percent/100))``
    and its VAT ``round(net * vat_rate / 100)``: the per-row rounding every supported ERP uses.
    """

    kind: LineKind
    article_number: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    discount_percent: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        check_vat_rate(self.vat_rate)

    @property
    def net_amount(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return round_money(gross - gross * self.discount_percent / 100)

    @property
    def vat_amount(self) -> Decimal:
        return round_money(self.net_amount * self.vat_rate / 100)


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    net: Decimal
    vat: Decimal
    vat_by_rate: dict[Decimal, Decimal]

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    @classmethod
    def of(cls, lines: Iterable[DocumentLine]) -> Totals:
        net = Decimal(0)
        vat_by_rate: dict[Decimal, Decimal] = {}
        for line in lines:
            net += line.net_amount
            vat_by_rate[line.vat_rate] = vat_by_rate.get(line.vat_rate, Decimal(0)) + (
                line.vat_amount
            )
        return cls(net=net, vat=sum(vat_by_rate.values(), Decimal(0)), vat_by_rate=vat_by_rate)


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """What the orders flow asks an ERP adapter to create.

    ``reference`` is the idempotency handle written to the ERP's external-reference field
    (derived from connection, shop and shop order id); ``find_document(reference)`` must find it.
    """

    reference: str
    document_type: DocumentType
    customer_number: str
    customer: Customer
    currency: str
    date: date
    lines: tuple[DocumentLine, ...]
    shop_order_id: str
    shop_order_number: str = ""
    book: bool = False
    note: str = ""

    @property
    def totals(self) -> Totals:
        return Totals.of(self.lines)
