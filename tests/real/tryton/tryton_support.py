"""Helpers of the Tryton tests: adapters and documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from brygga.adapters import AdapterContext
from brygga.config import dec_hook
from brygga.documents import Document, DocumentLine
from brygga.http.client import HttpContext
from brygga.models import Address, Customer, DocumentType, LineKind
from brygga_tryton.adapter import TrytonAdapter, TrytonConfig
from brygga_tryton.realserver import (
    TrytonServer,
    TrytonUnavailable,
    running_tryton,
)

__all__ = [
    "TrytonServer",
    "TrytonUnavailable",
    "customer",
    "document",
    "open_adapter",
    "running_tryton",
]


def config_of(server: TrytonServer, **extra: Any) -> TrytonConfig:
    return msgspec.convert(
        server.adapter_config(**extra), TrytonConfig, dec_hook=dec_hook(Path.cwd())
    )


@asynccontextmanager
async def open_adapter(
    server: TrytonServer,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **extra: Any,
) -> AsyncIterator[TrytonAdapter]:
    context = AdapterContext(
        connection="test", instance="tryton", http=HttpContext(transport=transport)
    )
    # a loopback server needs no politeness: the default 10/s would make each test wait a
    # window at start and between bursts
    extra.setdefault("rate_limit", {"requests": 200, "per_seconds": 0.05})
    adapter = TrytonAdapter(config_of(server, **extra), context)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def customer(email: str, *, org: str = "", name: str = "Anna Andersson") -> Customer:
    return Customer(
        email=email,
        name=name,
        org_number=org,
        billing=Address(
            name=name,
            street="Storgatan 1",
            postal_code="111 22",
            city="Stockholm",
            country_code="SE",
            phone="+46701234567",
        ),
    )


def document(
    reference: str,
    customer_number: str,
    lines: list[tuple[str, str, str, str]],
    *,
    kind: DocumentType = DocumentType.ORDER,
    book: bool = True,
    email: str = "anna@example.se",
    discount: str = "0",
) -> Document:
    """A document with rows (sku, quantity, unit price excl. VAT, VAT rate)."""
    return Document(
        reference=reference,
        document_type=kind,
        customer_number=customer_number,
        customer=customer(email),
        currency="SEK",
        date=date.today(),
        lines=tuple(
            DocumentLine(
                kind=LineKind.ITEM,
                article_number=sku,
                description=f"Article {sku}",
                quantity=Decimal(quantity),
                unit_price=Decimal(price),
                vat_rate=Decimal(rate),
                discount_percent=Decimal(discount),
            )
            for sku, quantity, price, rate in lines
        ),
        shop_order_id=reference.rsplit("/", 1)[-1],
        shop_order_number=reference.rsplit("/", 1)[-1],
        book=book,
    )
