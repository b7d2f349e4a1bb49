"""Helpers of the Tryton tests: the plugin on sys.path and registered, adapters, documents."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

# Until pyproject.toml lists brygga_tryton (package + entry point), the plugin is imported
# from the source tree.
_PLUGINS = str(Path(__file__).resolve().parents[3] / "plugins")
if _PLUGINS not in sys.path:
    sys.path.insert(0, _PLUGINS)

from brygga.adapters import AdapterContext  # noqa: E402
from brygga.config import dec_hook  # noqa: E402
from brygga.documents import Document, DocumentLine  # noqa: E402
from brygga.http.client import HttpContext  # noqa: E402
from brygga.models import Address, Customer, DocumentType, LineKind  # noqa: E402
from brygga_tryton import plugin  # noqa: E402
from brygga_tryton.adapter import TrytonAdapter, TrytonConfig  # noqa: E402
from brygga_tryton.realserver import (  # noqa: E402
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
    "plugin",
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
