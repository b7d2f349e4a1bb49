"""Hostile-input helpers: an ASGI middleware that rewrites answers, and an orders-flow harness."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from brygga.testing import SimulatedConnection
from brygga.testing.simulators import Asgi, Message, Receive, Scope, Send

__all__ = [
    "ERP_URL",
    "FAST",
    "SHOP_URL",
    "Answer",
    "FlowEnv",
    "Rewrite",
    "Rewriter",
    "open_flow",
    "proxied_routes",
    "recompute_totals",
]

SHOP_URL = "http://shop.test/api/v2"
ERP_URL = "http://erp.test"
#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}

#: what a rewrite produces: (status, body, content type); a body function gets the real body
Answer = tuple[int, bytes, str]
BodyFn = Callable[[bytes], bytes]


@dataclass
class Rewrite:
    """Replace the answer to requests whose ``METHOD path?query`` (plus, after a newline, the
    request body) matches ``pattern``.

    ``status``/``body`` None keep the real ones; a callable body gets the real body. Without
    a ``status`` the real app runs first (a write still happens, as behind a proxy that
    garbles the answer); with one it does not (the request was refused). ``times`` None
    means every matching request.
    """

    pattern: str
    status: int | None = None
    body: bytes | BodyFn | None = None
    content_type: str = "application/json"
    times: int | None = None
    hits: int = 0

    def matches(self, line: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return re.search(self.pattern, line, re.S) is not None


@dataclass
class Rewriter:
    """ASGI middleware in front of a simulator: hostile answers on chosen requests."""

    app: Asgi
    rules: list[Rewrite] = field(default_factory=list)
    #: every request line seen, ``METHOD path?query``
    seen: list[str] = field(default_factory=list)

    def add(self, rule: Rewrite) -> Rewrite:
        self.rules.append(rule)
        return rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        line = f"{scope['method']} {scope['path']}" + (f"?{query}" if query else "")
        self.seen.append(line)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        text = line + "\n" + body.decode("utf-8", "replace")
        rule = next((r for r in self.rules if r.matches(text)), None)
        if rule is None:
            await self.app(scope, replay, send)
            return
        rule.hits += 1
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        if rule.status is None:
            await self.app(scope, replay, capture)
        real = b"".join(chunks)
        answer = rule.body(real) if callable(rule.body) else rule.body
        answer = real if answer is None else answer
        status = rule.status if rule.status is not None else int(started.get("status", 200))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", rule.content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def recompute_totals(order: dict[str, Any]) -> None:
    """Make a (mangled) Starweb order's totals agree with its rows again, per-row rounded, so
    a test reaches the ERP with a change that a total check would otherwise catch first."""
    rows: list[tuple[Decimal, Decimal]] = []
    for item in order["items"]["data"]:
        gross = Decimal(str(item["quantity"])) * Decimal(str(item["unitPrice"]))
        discount = Decimal(str(item.get("discount") or 0))
        if item.get("discountType") == "amount":
            net = gross - discount
        else:
            net = gross - gross * discount / 100
        rows.append((_money(net), Decimal(str(item["vatRate"]))))
    for amount, rate in (("shippingCost", "shippingVatRate"), ("paymentFee", "paymentVatRate")):
        rows.append((_money(Decimal(str(order[amount]))), Decimal(str(order[rate]))))
    net = sum((n for n, _ in rows), Decimal(0))
    vat = sum((_money(n * r / 100) for n, r in rows), Decimal(0))
    order["totalAmount"] = net
    order["totalVat"] = vat
    order["amountToPay"] = net + vat


@dataclass
class FlowEnv(SimulatedConnection):
    """Both simulators, each behind a :class:`Rewriter`, and orders flows over one store."""

    shop_proxy: Any = None
    erp_proxy: Any = None
    #: ``evil.test``: requests that reach it are a failed SSRF guard
    evil: Any = None

    @property
    def tmp(self) -> Path:
        return self.directory

    def documents_for(self, order_id: str) -> int:
        return self.copies(order_id)

    def proxy(self, proxies: dict[str, Rewriter]) -> None:
        self.shop_proxy, self.erp_proxy = proxies["shop"], proxies["erp"]
        self.evil = proxies.get("evil")


def proxied_routes(proxies: dict[str, Rewriter]) -> Any:
    """Routes that put a Rewriter in front of each simulator (and an ``evil.test`` host)."""

    def routes(shop: Any, erp: Any) -> dict[str, Any]:
        proxies.update(shop=Rewriter(shop.app), erp=Rewriter(erp.app), evil=Rewriter(erp.app))
        return {
            "shop.test": proxies["shop"],
            "erp.test": proxies["erp"],
            "evil.test": proxies["evil"],
        }

    return routes


@asynccontextmanager
async def open_flow(tmp_path: Path, **options: Any) -> AsyncIterator[FlowEnv]:
    """Both simulators behind their rewriters (and ``evil.test``), generous rate limits (the
    cases test answers, not pacing, and there are many); ``options`` go to
    :meth:`FlowEnv.open` (``erp_kind``, ``clock``, ``erp_options``, ``shop_config`` ...)."""
    proxies: dict[str, Rewriter] = {}
    settings: dict[str, Any] = {
        "shop_options": {"seed": 5},
        "shop_config": {"rate_limit": FAST},
        "erp_config": {"rate_limit": FAST},
        **options,
    }
    async with FlowEnv.open(tmp_path, routes=proxied_routes(proxies), **settings) as opened:
        opened.proxy(proxies)
        yield opened
