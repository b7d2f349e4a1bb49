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

import importlib.metadata  # noqa: E402

import pytest  # noqa: E402

import brygga.commands.common  # noqa: E402
import brygga.commands.plugins_cmd  # noqa: E402
import brygga.testing.conformance.harness as harness  # noqa: E402
import brygga.testing.connection  # noqa: E402
from brygga.adapters import AdapterContext  # noqa: E402
from brygga.config import dec_hook  # noqa: E402
from brygga.documents import Document, DocumentLine  # noqa: E402
from brygga.http.client import HttpContext  # noqa: E402
from brygga.models import Address, Customer, DocumentType, LineKind  # noqa: E402
from brygga.plugins import PluginHost  # noqa: E402
from brygga_tryton import plugin  # noqa: E402
from brygga_tryton.adapter import TrytonAdapter, TrytonConfig  # noqa: E402
from brygga_tryton.realserver import (  # noqa: E402
    TrytonServer,
    TrytonUnavailable,
    running_tryton,
)

__all__ = [
    "HostWithPlugin",
    "TrytonServer",
    "TrytonUnavailable",
    "customer",
    "document",
    "install",
    "open_adapter",
    "plugin",
    "running_tryton",
]


KIND = "tryton"


def registered() -> bool:
    """Whether an installed entry point provides the kind already."""
    return any(ep.name == KIND for ep in importlib.metadata.entry_points(group="brygga"))


class HostWithPlugin(PluginHost):
    """A PluginHost that also loads this plugin in-process."""

    def __init__(self, **options: Any) -> None:
        extra = [*options.pop("extra", ()), (KIND, plugin)]
        super().__init__(extra=extra, **options)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the plugin on the hosts tests build, for one test (until the entry point
    ``tryton = "brygga_tryton.plugin"`` is in pyproject.toml)."""
    if registered():
        return
    host = HostWithPlugin()
    monkeypatch.setattr(harness, "_plugin_host", lambda: host)
    monkeypatch.setattr(brygga.testing.connection, "PluginHost", HostWithPlugin)
    monkeypatch.setattr(brygga.commands.common, "PluginHost", HostWithPlugin)
    monkeypatch.setattr(brygga.commands.plugins_cmd, "PluginHost", HostWithPlugin)


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
