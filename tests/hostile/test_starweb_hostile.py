"""Hostile Starweb orders through the real orders flow: one clear error per record, no crash.

Every case places three orders, corrupts the middle one (its JSON, or the raw answer to
``GET /orders/{id}``), polls and drains. The corrupted order's work item must end ``failed``
with a sentence that names the order and what is wrong (never a traceback or an "internal
error", which would mean a crash path); the other two must be ``done`` with exactly one
e-conomic document each. Cases that are legitimately not errors (RTL text, emoji, control
characters, a 100 kB description) must transfer instead.

None of our adapters speaks XML yet (Starweb and e-conomic are JSON only), so there is no
entity-expansion case; an XML body sent where JSON is expected is covered ("xml body").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hostile_support import FlowEnv, Rewrite, recompute_totals

from brygga.store import ItemState

pytestmark = pytest.mark.anyio

Mangle = Callable[[dict[str, Any]], None]
BodyFn = Callable[[bytes], bytes]


def full(fn: Mangle) -> Mangle:
    """Apply ``fn`` to the full order only (``GET /orders/{id}`` with items), not list rows."""

    def mangle(order: dict[str, Any]) -> None:
        if "items" in order:
            fn(order)

    return mangle


def setting(field: str, value: Any) -> Mangle:
    def mangle(order: dict[str, Any]) -> None:
        order[field] = value

    return full(mangle)


def removing(field: str) -> Mangle:
    def mangle(order: dict[str, Any]) -> None:
        del order[field]

    return full(mangle)


def item_setting(field: str, value: Any, *, totals: bool = False) -> Mangle:
    """Set a field of the first item; ``totals`` recomputes the order totals afterwards."""

    def mangle(order: dict[str, Any]) -> None:
        order["items"]["data"][0][field] = value
        if totals:
            recompute_totals(order)

    return full(mangle)


def items(fn: Callable[[list[dict[str, Any]]], Any], *, totals: bool = False) -> Mangle:
    def mangle(order: dict[str, Any]) -> None:
        result = fn(order["items"]["data"])
        if result is not None:
            order["items"]["data"] = result
        if totals:
            recompute_totals(order)

    return full(mangle)


def billing(field: str, value: Any) -> Mangle:
    def mangle(order: dict[str, Any]) -> None:
        for kind in ("customerInvoice", "originalInvoice"):
            address = order["addresses"]["data"].get(kind)
            if address:
                address[field] = value

    return full(mangle)


def both(*mangles: Mangle) -> Mangle:
    def mangle(order: dict[str, Any]) -> None:
        for fn in mangles:
            fn(order)

    return mangle


def envelope(fn: Callable[[dict[str, Any]], Any]) -> BodyFn:
    """Rewrite the decoded envelope ``{"data": ...}`` and encode it again."""

    def rewrite(body: bytes) -> bytes:
        return json.dumps(fn(json.loads(body))).encode()

    return rewrite


def raw_field(text: str) -> BodyFn:
    """Insert raw JSON text right after the order object's opening brace."""

    def rewrite(body: bytes) -> bytes:
        head = b'{"data":{'
        assert body.startswith(head), body[:40]
        return head + text.encode() + b"," + body[len(head) :]

    return rewrite


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Case:
    """One hostile order. ``expect`` is a fragment of the failed item's error (None: the
    order must transfer); ``check`` makes extra assertions on a transferred order."""

    name: str
    expect: str | None
    mangle: Mangle | None = None
    body: bytes | BodyFn | None = None
    status: int | None = None
    check: Callable[[FlowEnv, str], None] | None = None


def _customer_names(env: FlowEnv) -> list[str]:
    return [str(c.get("name", "")) for c in env.erp.customers()]


def _descriptions(env: FlowEnv, order_id: str) -> list[str]:
    reference = env.reference(order_id)
    [doc] = [d for d in env.erp.docs.all() if d.body["references"]["other"] == reference]
    return [str(line.get("description", "")) for line in doc.body["lines"]]


def _rtl_check(env: FlowEnv, order_id: str) -> None:
    assert any("שלום" in name or "مرحبا" in name for name in _customer_names(env))


def _emoji_check(env: FlowEnv, order_id: str) -> None:
    assert any("☕🇸🇪" in text for text in _descriptions(env, order_id))


def _control_check(env: FlowEnv, order_id: str) -> None:
    for name in _customer_names(env):
        assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in name), name
    for text in _descriptions(env, order_id):
        assert "\x00" not in text and "\x1b" not in text


def _long_description_check(env: FlowEnv, order_id: str) -> None:
    assert any(text.startswith("x" * 100) for text in _descriptions(env, order_id))


def big_order(order: dict[str, Any]) -> None:
    order["items"]["data"] = [
        dict(order["items"]["data"][0], itemId=n, sortIndex=n) for n in range(10_000)
    ]
    recompute_totals(order)


def _ten_thousand_rows(env: FlowEnv, order_id: str) -> None:
    assert len(_descriptions(env, order_id)) == 10_001  # the items and the freight row


CASES: list[Case] = [
    # --- the body is not an order at all -------------------------------------------------
    Case("non-JSON body", "payload", body=b"<html><body>Bad gateway</body></html>"),
    Case("xml body", "payload", body=b"<?xml version='1.0'?><order><id>1</id></order>"),
    Case("empty body", "payload", body=b""),
    Case("truncated JSON", "payload", body=lambda b: b[: len(b) // 2]),
    Case("trailing garbage", "payload", body=lambda b: b + b"}{"),
    Case(
        "invalid UTF-8",
        "not valid UTF-8",
        body=lambda b: b.replace(b"Storgatan", b"Storg\xff\xfetan"),
    ),
    Case("top-level list", "payload", body=b"[]"),
    Case("data missing", "data", body=b'{"meta": {}}'),
    Case("data a list", "payload", body=envelope(lambda e: {"data": [e["data"]]})),
    Case("data null", "payload", body=b'{"data": null}'),
    Case("data a string", "payload", body=b'{"data": "order"}'),
    Case(
        "deeply nested data",
        "nested too deeply",
        body=('{"data": ' + nested(10_000) + "}").encode(),
    ),
    Case(
        "deeply nested unknown field",
        "nested too deeply",
        body=raw_field('"junk": ' + nested(10_000)),
    ),
    Case(
        "10 000 nested objects",
        "nested too deeply",
        body=raw_field('"junk": ' + '{"a":' * 10_000 + "1" + "}" * 10_000),
    ),
    # --- the order object has wrong or missing fields ------------------------------------
    Case("orderId a string", "orderId", mangle=setting("orderId", "abc")),
    Case("orderId of another order", "another order", mangle=setting("orderId", 999_999)),
    Case("orderId missing", "orderId", mangle=removing("orderId")),
    Case("orderId huge", "orderId", mangle=setting("orderId", 10**30)),
    # msgspec keeps the last of duplicate keys: a duplicate before the real one is harmless
    Case("duplicate orderId key, real one last", None, body=raw_field('"orderId": 1')),
    Case(
        "duplicate orderId key, another order last",
        "another order",
        body=lambda b: b[: b.rindex(b"}}")] + b', "orderId": 777}}',
    ),
    Case("items not a list", "items", mangle=setting("items", {"data": "abc"})),
    Case("items missing", "no items", mangle=removing("items")),
    Case("items empty", "differs from the sum", mangle=items(lambda rows: [])),
    Case("item quantity abc", "quantity", mangle=item_setting("quantity", "abc")),
    Case("item quantity null", "quantity", mangle=item_setting("quantity", None)),
    Case("item quantity -5", "differs from the sum", mangle=item_setting("quantity", -5)),
    Case("item quantity 1e12", "quantity", mangle=item_setting("quantity", 10**12)),
    Case(
        "item quantity 1e400",
        "quantity",
        body=lambda b: b.replace(b'"quantity":1,', b'"quantity":1e400,', 1),
    ),
    Case("item quantity NaN string", "quantity", mangle=item_setting("quantity", "NaN")),
    Case("item unitPrice NaN", "unitPrice", mangle=item_setting("unitPrice", "NaN")),
    Case("item unitPrice inf", "unitPrice", mangle=item_setting("unitPrice", "inf")),
    Case("item unitPrice -Infinity", "unitPrice", mangle=item_setting("unitPrice", "-Infinity")),
    Case("item unitPrice huge", "unitPrice", mangle=item_setting("unitPrice", 10**30)),
    Case("item unitPrice a list", "unitPrice", mangle=item_setting("unitPrice", [1])),
    Case("vatRate 125", "vatRate is 125", mangle=item_setting("vatRate", 125)),
    Case("vatRate -1", "vatRate is -1", mangle=item_setting("vatRate", -1)),
    Case("vatRate 25%", "vatRate", mangle=item_setting("vatRate", "25%")),
    Case(
        "VAT rate the ERP lacks (7.5 %)",
        "7.5 %",
        mangle=item_setting("vatRate", Decimal("7.5"), totals=True),
    ),
    Case(
        "freight VAT rate the ERP lacks",
        "freight row has 7.5 % VAT",
        mangle=both(
            setting("shippingVatRate", Decimal("7.5")), items(lambda rows: None, totals=True)
        ),
    ),
    Case("unknown SKU", "does not exist in e-conomic", mangle=item_setting("sku", "NO-SUCH-SKU")),
    Case("empty SKU", "no SKU", mangle=item_setting("sku", "")),
    Case("SKU null", "no SKU", mangle=item_setting("sku", None)),
    Case("SKU a number", "sku", mangle=item_setting("sku", 12345)),
    Case(
        "discount greater than the row total",
        "discount",
        mangle=both(item_setting("discountType", "amount"), item_setting("discount", 100_000)),
    ),
    Case("percent discount 150", "more than 100 %", mangle=item_setting("discount", 150)),
    Case("negative discount", "discount is -10", mangle=item_setting("discount", -10)),
    Case("discountType unknown", "discountType", mangle=item_setting("discountType", "bogo")),
    Case("sortIndex a float", "sortIndex", mangle=item_setting("sortIndex", 1.5)),
    Case(
        "10 000 items",
        "differs from the sum",
        mangle=items(lambda rows: [dict(rows[0], itemId=n) for n in range(10_000)]),
    ),
    Case(
        "10 000 items with matching totals",
        None,
        mangle=full(big_order),
        check=_ten_thousand_rows,
    ),
    # --- dates, money, currency -----------------------------------------------------------
    Case(
        "createdAt without offset", "createdAt", mangle=setting("createdAt", "2026-02-02T10:00:00")
    ),
    Case("createdAt garbage", "createdAt", mangle=setting("createdAt", "yesterday")),
    Case(
        "createdAt year 0001", "createdAt", mangle=setting("createdAt", "0001-01-01T00:00:00+01:00")
    ),
    Case(
        "createdAt year 0001 UTC", "createdAt", mangle=setting("createdAt", "0001-01-01T00:00:00Z")
    ),
    Case("createdAt a number", "createdAt", mangle=setting("createdAt", 1_700_000_000)),
    Case("modifiedAt null", "modifiedAt", mangle=setting("modifiedAt", None)),
    Case("currency SEKK", "currencyCode", mangle=setting("currencyCode", "SEKK")),
    Case("currency missing", "currencyCode", mangle=removing("currencyCode")),
    Case("currency lower case", "currencyCode", mangle=setting("currencyCode", "sek")),
    Case("negative shipping cost", "shippingCost is -49", mangle=setting("shippingCost", -49)),
    Case("shipping VAT rate 300", "shippingVatRate is 300", mangle=setting("shippingVatRate", 300)),
    Case("amountToPay garbage", "amountToPay", mangle=setting("amountToPay", "lots")),
    Case("amountToPay missing", "amountToPay", mangle=removing("amountToPay")),
    Case("amountToPay wrong", "differs from the sum", mangle=setting("amountToPay", 1)),
    Case("totalVat NaN", "totalVat", mangle=setting("totalVat", "NaN")),
    # --- customer and addresses -----------------------------------------------------------
    Case(
        "customer email 10 kB",
        "e-mail is 10011 characters",
        mangle=both(
            setting("originalCustomerEmail", "a" * 10_000 + "@example.se"),
            full(lambda o: o["customer"]["data"].update(email="a" * 10_000 + "@example.se")),
        ),
    ),
    Case("addresses missing", None, mangle=removing("addresses")),
    Case("addresses data null", "addresses", mangle=setting("addresses", {"data": None})),
    Case("country code SWE", "countryCode", mangle=billing("countryCode", "SWE")),
    Case("customer a list", "customer", mangle=setting("customer", {"data": []})),
    Case(
        "customer type unknown",
        "type",
        mangle=full(
            lambda o: o["customer"]["data"].update(type="robot") if o["customer"]["data"] else None
        ),
    ),
    Case("status a string", "status", mangle=setting("statusId", "paid")),
    Case(
        "externalServices garbage",
        "externalServices",
        mangle=setting("externalServices", {"data": [1, 2]}),
    ),
    # --- text that must go through ----------------------------------------------------------
    Case(
        "RTL names",
        None,
        mangle=both(billing("firstName", "שלום"), billing("lastName", "مرحبا")),
        check=_rtl_check,
    ),
    Case(
        "emoji description",
        None,
        mangle=item_setting("description", "Kaffe ☕🇸🇪 👍🏽"),
        check=_emoji_check,
    ),
    Case(
        "NUL and control characters in names and e-mail",
        None,
        mangle=both(
            billing("firstName", "An\x00na\x07"),
            billing("lastName", "\x1b[31mSvensson"),
            item_setting("description", "Kaffe\x00\x08\x1b"),
            setting("originalCustomerEmail", "kund\x00@example.se"),
        ),
        check=_control_check,
    ),
    Case(
        "100 kB description",
        None,
        mangle=item_setting("description", "x" * 100_000),
        check=_long_description_check,
    ),
    Case(
        "lone surrogate in a name",
        "payload",
        body=lambda b: b.replace(b"Storgatan 1", b"Storgatan \\ud800", 1),
    ),
    # --- HTTP-level trouble -------------------------------------------------------------------
    Case("404 on the order", "does not exist", status=404),
    Case("400 with an HTML body", "400", status=400, body=b"<html>oops</html>"),
]


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def _place(env: FlowEnv) -> list[str]:
    return [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)],
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
        for i in range(3)
    ]


@pytest.mark.orders_read_alone
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_order_fails_alone(env: FlowEnv, case: Case) -> None:
    first, victim, last = _place(env)
    if case.mangle is not None:
        env.shop.mangle_order(victim, case.mangle)
    if case.body is not None or case.status is not None:
        env.shop_proxy.add(
            Rewrite(rf"^GET /api/v2/orders/{victim}(\?|$)", status=case.status, body=case.body)
        )
    flow = env.flow()
    assert await flow.poll_once("se") == 3
    await env.drain(flow)
    for ok in (first, last):
        assert (await env.item(ok)).state is ItemState.DONE
        assert env.documents_for(ok) == 1
    item = await env.item(victim)
    if case.expect is None:
        assert item.state is ItemState.DONE, item.last_error
        assert env.documents_for(victim) == 1
        if case.check is not None:
            case.check(env, victim)
        return
    assert item.state is ItemState.FAILED, f"{item.state}: {item.last_error}"
    message = item.last_error
    assert victim in message, message
    assert case.expect in message, message
    assert "internal error" not in message and "Traceback" not in message, message
    assert env.documents_for(victim) == 0


def listed(fn: Mangle) -> Mangle:
    """Apply ``fn`` to the order's row in ``GET /orders`` only (no items there)."""

    def mangle(order: dict[str, Any]) -> None:
        if "items" not in order:
            fn(order)

    return mangle


@dataclass(frozen=True)
class ListCase:
    """A garbage row in the order list. ``state`` is what becomes of the victim's work item
    (None: it gets none, as no order id can be read); ``full`` also corrupts the full order."""

    name: str
    row: Mangle
    state: ItemState | None
    expect: str = ""
    full: Mangle | None = None


LIST_CASES = [
    ListCase("orderId unreadable", lambda o: o.update(orderId="abc"), None),
    ListCase("orderId missing", lambda o: o.pop("orderId"), None),
    ListCase("row is a string", lambda o: o.clear(), None),
    ListCase("modifiedAt garbage", lambda o: o.update(modifiedAt="soon"), ItemState.DONE),
    ListCase("statusId garbage", lambda o: o.update(statusId=[]), ItemState.DONE),
    ListCase("included status garbage", lambda o: o.update(status={"data": 5}), ItemState.DONE),
    ListCase(
        "modifiedAt garbage in the list and the order",
        lambda o: o.update(modifiedAt="soon"),
        ItemState.FAILED,
        expect="modifiedAt",
        full=lambda o: o.update(modifiedAt="soon"),
    ),
]


@pytest.mark.orders_read_alone
@pytest.mark.parametrize("case", LIST_CASES, ids=[case.name for case in LIST_CASES])
async def test_garbage_row_in_the_order_list_does_not_stop_discovery(
    env: FlowEnv, case: ListCase, caplog: pytest.LogCaptureFixture
) -> None:
    first, victim, last = _place(env)

    def mangle(order: dict[str, Any]) -> None:
        if "items" not in order:
            case.row(order)
        elif case.full is not None:
            case.full(order)

    env.shop.mangle_order(victim, mangle)
    if case.name == "row is a string":
        env.shop_proxy.add(
            Rewrite(
                r"^GET /api/v2/orders\?",
                body=envelope(
                    lambda e: dict(e, data=["garbage" if r == {} else r for r in e["data"]])
                ),
            )
        )
    flow = env.flow()
    assert await flow.poll_once("se") == (2 if case.state is None else 3)
    await env.drain(flow)
    for ok in (first, last):
        assert (await env.item(ok)).state is ItemState.DONE
        assert env.documents_for(ok) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("skipped an order-list row" in w for w in warnings), warnings
    if case.state is None:
        assert any("page 1, row 2" in w for w in warnings), warnings
        assert (
            await env.store.items.find(
                connection="demo", register="orders", instance="se", external_id=victim
            )
            is None
        )
        return
    assert any(f"Starweb order {victim}" in w for w in warnings), warnings
    item = await env.item(victim)
    assert item.state is case.state, item.last_error
    assert case.expect in item.last_error
    assert env.documents_for(victim) == (1 if case.state is ItemState.DONE else 0)
