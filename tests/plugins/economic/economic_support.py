"""Helpers for the e-conomic plugin tests: config decoding and document builders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from brygga.documents import Document, DocumentLine
from brygga.models import Address, Customer, DocumentType, LineKind
from brygga.secrets import Secret, resolve_secret
from brygga_economic.adapter import EconomicConfig
from brygga_economic.simulator import EconomicSimulator

BASE_URL = "https://restapi.e-conomic.com"


def _dec_hook(type_: type, value: Any) -> Any:
    if type_ is Secret:
        return resolve_secret(value)
    raise NotImplementedError(type_)


def economic_config(sim: EconomicSimulator, **overrides: Any) -> EconomicConfig:
    """Decode the simulator's raw config table the way the config loader does."""
    raw = sim.adapter_config(BASE_URL) | overrides
    return msgspec.convert(raw, EconomicConfig, dec_hook=_dec_hook)


def customer(**fields: Any) -> Customer:
    base: dict[str, Any] = {
        "shop_customer_id": "sw-1",
        "email": "anna@example.se",
        "name": "Anna Andersson",
        "billing": Address(
            name="Anna Andersson",
            street="Storgatan 1",
            postal_code="111 22",
            city="Stockholm",
            country_code="SE",
        ),
    }
    return Customer(**(base | fields))


def row(
    sku: str,
    quantity: str,
    price: str,
    rate: str,
    *,
    kind: LineKind = LineKind.ITEM,
    discount: str = "0",
) -> DocumentLine:
    return DocumentLine(
        kind=kind,
        article_number=sku,
        description="",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        vat_rate=Decimal(rate),
        discount_percent=Decimal(discount),
    )


def document(
    customer_number: str,
    *lines: DocumentLine,
    reference: str = "test/se/1001",
    document_type: DocumentType = DocumentType.INVOICE,
    book: bool = False,
    shop_order_id: str = "1001",
) -> Document:
    return Document(
        reference=reference,
        document_type=document_type,
        customer_number=customer_number,
        customer=customer(),
        currency="SEK",
        date=date(2026, 1, 2),
        lines=lines or (row("KAFFE-500", "2", "89.00", "25"),),
        shop_order_id=shop_order_id,
        shop_order_number=shop_order_id,
        book=book,
    )


def draft_body(**overrides: Any) -> dict[str, Any]:
    """A valid draft invoice/order body for customer 1, overridable per key."""
    body: dict[str, Any] = {
        "date": "2026-01-02",
        "currency": "SEK",
        "customer": {"customerNumber": 1},
        "recipient": {"name": "Anna", "vatZone": {"vatZoneNumber": 1}},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "references": {"other": "ref-1"},
        "lines": [{"product": {"productNumber": "KAFFE-500"}, "quantity": 1, "unitNetPrice": 89}],
    }
    return body | overrides
