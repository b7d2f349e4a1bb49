"""Hostile Norce pushes and Query answers through the real orders flow (shop-apis.md §4.3, §4.7).

Every case places three orders in the simulated Norce client, corrupts the middle one (its
pushed OrderRequest, the raw push, or the Query API's answer for it), lets Norce push to the
daemon's real webhook receiver (``_register_webhooks`` + ``create_app``), polls and drains
into the e-conomic simulator. Outcomes:

- ``refused``: the receiver answers 400 with a reason (the push can never be kept, e.g. no
  readable ClientOrderRef); the order is still in Norce, so the Query read path catches it
  up and it transfers once.
- a failure: the push was kept (200), and the order's work item ends ``failed`` with a
  sentence naming the order and what is wrong; no ERP document.
- ``None``: legitimately odd data that transfers.

The other two orders always transfer, exactly once each.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_support import FlowEnv, Rewrite, open_flow

from brygga.http.app import WebhookRegistry, create_app
from brygga.metrics import Metrics
from brygga.runtime.actor import _register_webhooks
from brygga.store import ItemState
from brygga.sync.flow import Flow

pytestmark = pytest.mark.anyio

TOKEN = "norce-hostile-0123456789abcdef"
RECEIVER = f"http://daemon/webhooks/demo/{TOKEN}"
#: generous rate limits over a short window (a new limiter's first request waits one window)
FAST = {"requests": 1_000, "per_seconds": 0.05}
REFUSED = "refused"

Mangle = Callable[[dict[str, Any]], None]
BodyFn = Callable[[bytes], bytes]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    async with open_flow(
        tmp_path,
        shop_kind="norce",
        shop_config={"rate_limit": FAST, "webhook_token": TOKEN},
        erp_config={"rate_limit": FAST},
    ) as opened:
        yield opened


def _receiver(env: FlowEnv) -> tuple[Flow, httpx.AsyncClient]:
    """The flow and the daemon's webhook endpoint for it, as the connection actor wires them."""
    flow = env.flow()
    registry = WebhookRegistry()
    _register_webhooks(env.loaded.connections[0], flow, registry)
    app = create_app(Metrics(), webhooks=registry)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daemon")
    return flow, client


# -- mangles -----------------------------------------------------------------------------------


def header(field: str, value: Any) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        body["Header"][field] = value

    return mangle


def setting(field: str, value: Any) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        body[field] = value

    return mangle


def removing(field: str) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        del body[field]

    return mangle


def item(field: str, value: Any) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        body["Items"][0][field] = value

    return mangle


def person(field: str, value: Any) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        body["Buyer"]["Person"][field] = value

    return mangle


def address(field: str, value: Any) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        body["Buyer"]["Person"]["Address"][field] = value

    return mangle


def both(*mangles: Mangle) -> Mangle:
    def mangle(body: dict[str, Any]) -> None:
        for fn in mangles:
            fn(body)

    return mangle


def full(fn: Mangle) -> Mangle:
    """A Query mangle for the order's full read only (``$expand=Items``), not list rows."""

    def mangle(row: dict[str, Any]) -> None:
        if "Items" in row:
            fn(row)

    return mangle


def vat_at(rate: str) -> Mangle:
    """The first row at ``rate`` % with a matching UnitVat."""

    def mangle(body: dict[str, Any]) -> None:
        row = body["Items"][0]
        row["VatRate"] = Decimal(rate)
        row["UnitVat"] = (Decimal(str(row["UnitPrice"])) * Decimal(rate) / 100).quantize(
            Decimal("0.0001")
        )

    return mangle


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=str).encode()


@dataclass(frozen=True)
class Case:
    """One hostile push or Query answer. ``expect``: a fragment of the failed item's error,
    REFUSED (a fragment ``refusal`` of the receiver's 400 answer; the order is caught up from
    Query), or None (it transfers). ``push``: a mangle of the OrderRequest; ``raw``: the raw
    push body from the real one; ``query``: a mangle of the Query JSON; ``query_body``: a raw
    answer to the victim's full Query read."""

    name: str
    expect: str | None
    push: Mangle | None = None
    raw: BodyFn | None = None
    query: Mangle | None = None
    query_body: bytes | BodyFn | None = None
    refusal: str = ""
    check: Callable[[FlowEnv, str], None] | None = None


def _names(env: FlowEnv) -> list[str]:
    return [str(c.get("name", "")) for c in env.erp.customers()]


CASES = [
    # --- pushes the receiver can never keep: 400 with the reason, caught up from Query ------
    Case(
        "xml push", REFUSED, raw=lambda b: b"<OrderRequest><Header/></OrderRequest>", refusal="REST"
    ),
    Case("non-JSON push", REFUSED, raw=lambda b: b"Bad gateway", refusal="ClientOrderRef"),
    Case("empty push", REFUSED, raw=lambda b: b"", refusal="ClientOrderRef"),
    Case("truncated push", REFUSED, raw=lambda b: b[: len(b) // 2], refusal="ClientOrderRef"),
    Case("push is a list", REFUSED, raw=lambda b: b"[" + b + b"]", refusal="ClientOrderRef"),
    Case("Header missing", REFUSED, push=removing("Header"), refusal="ClientOrderRef"),
    Case(
        "ClientOrderRef a string",
        REFUSED,
        push=header("ClientOrderRef", "x"),
        refusal="ClientOrderRef",
    ),
    Case(
        "ClientOrderRef missing",
        REFUSED,
        push=header("ClientOrderRef", None),
        refusal="ClientOrderRef",
    ),
    Case(
        "ClientOrderRef negative", REFUSED, push=header("ClientOrderRef", -7), refusal="basket id"
    ),
    Case("ClientOrderRef zero", REFUSED, push=header("ClientOrderRef", 0), refusal="basket id"),
    Case(
        "ClientOrderRef 10**30",
        REFUSED,
        push=header("ClientOrderRef", 10**30),
        refusal="ClientOrderRef",
    ),
    Case(
        "deeply nested junk",
        REFUSED,
        raw=lambda b: b'{"Junk": ' + nested(10_000).encode() + b", " + b[1:],
        refusal="ClientOrderRef",
    ),
    Case(
        "invalid UTF-8",
        REFUSED,
        raw=lambda b: b.replace(b"Storgatan", b"Storg\xff\xfetan"),
        refusal="UTF-8",
    ),
    Case(
        "6 MB push",
        REFUSED,
        raw=lambda b: b[:-1] + b', "Junk": "' + b"x" * 6_000_000 + b'"}',
        refusal="larger",
    ),
    # --- kept pushes that can never become an ERP document: one failed record -------------
    Case("Items missing", "Items", push=removing("Items")),
    Case("Items empty", "no Items", push=setting("Items", [])),
    Case("Items not a list", "Items", push=setting("Items", {"PartNo": "TE-100"})),
    Case("Quantity abc", "Quantity", push=item("Quantity", "abc")),
    Case("Quantity 0", "Quantity is 0", push=item("Quantity", 0)),
    Case("Quantity -5", "Quantity is -5", push=item("Quantity", -5)),
    Case("Quantity 1e12", "Quantity is", push=item("Quantity", 10**12)),
    Case("Quantity 1.5", "Quantity", push=item("Quantity", 1.5)),
    Case("Quantity missing", "Quantity is missing", push=item("Quantity", None)),
    Case("UnitPrice NaN", "UnitPrice", push=item("UnitPrice", "NaN")),
    Case("UnitPrice Infinity", "UnitPrice", push=item("UnitPrice", "Infinity")),
    Case("UnitPrice 1e30", "UnitPrice", push=item("UnitPrice", 10**30)),
    Case(
        "UnitPrice negative",
        "UnitPrice is -",
        push=both(item("UnitPrice", -5), item("UnitVat", None)),
    ),
    Case("UnitPrice a list", "UnitPrice", push=item("UnitPrice", [1])),
    Case("UnitPrice missing", "UnitPrice is missing", push=item("UnitPrice", None)),
    Case("VatRate 125", "VatRate is 125", push=item("VatRate", 125)),
    Case("VatRate -1", "VatRate is -1", push=item("VatRate", -1)),
    Case("VatRate 25%", "VatRate", push=item("VatRate", "25%")),
    Case("UnitVat not matching VatRate", "does not match", push=item("UnitVat", 999)),
    Case("VAT rate the ERP lacks (7.5 %)", "7.5 %", push=vat_at("7.5")),
    Case("unknown SKU", "does not exist in e-conomic", push=item("PartNo", "NO-SUCH-SKU")),
    Case("empty PartNo", "no PartNo", push=item("PartNo", "")),
    Case("PartNo null", "no PartNo", push=item("PartNo", None)),
    Case("PartNo a number", "PartNo", push=item("PartNo", 12345)),
    Case("Buyer missing", "Buyer", push=setting("Buyer", None)),
    Case("e-mail 300 characters", "e-mail", push=person("Email", "a" * 290 + "@example.se")),
    Case("country a name", "country", push=address("Country", "Sweden")),
    Case("currency SEKK", "currency", push=header("CurrencyCode", "SEKK")),
    Case(
        "currency nowhere",
        "no currency",
        push=both(
            header("CurrencyCode", None), lambda b: b["Payments"][0].update(CurrencyCode=None)
        ),
    ),
    Case("OrderDate garbage", "OrderDate", push=header("OrderDate", "yesterday")),
    Case("OrderDate year 0001", "OrderDate", push=header("OrderDate", "0001-01-01T00:00:00Z")),
    Case(
        "order-level Discounts",
        "Discounts",
        push=setting("Discounts", [{"Amount": 50, "Code": "X"}]),
    ),
    Case("Payment Amount garbage", "Amount", push=lambda b: b["Payments"][0].update(Amount="lots")),
    # --- odd but legitimate: it transfers ------------------------------------------------
    Case(
        "right-to-left name",
        None,
        push=person("FirstName", "שרה"),
        check=lambda env, ref: None if any("שרה" in n for n in _names(env)) else pytest.fail("RTL"),
    ),
    Case("emoji description", None, push=item("Description", "Kaffe ☕🔥")),
    Case(
        "control characters in the name",
        None,
        push=person("LastName", "Ny\x00gren\x1b[31m"),
        check=lambda env, ref: (
            None
            if not any("\x00" in n or "\x1b" in n for n in _names(env))
            else pytest.fail("control characters reached the ERP")
        ),
    ),
    Case("100 kB description", None, push=item("Description", "x" * 100_000)),
    Case("unknown extra fields", None, push=setting("Surprise", {"deep": [1, 2, {"x": None}]})),
    Case("OrderDate without offset", None, push=header("OrderDate", "2026-02-02T10:00:00")),
    Case("ClientOrderRef of another order", None, push=lambda b: None),  # see the test below
    # --- the Query API's answer for an order never pushed ------------------------------------
    Case("Query: rows missing", "without rows", query=full(lambda r: r.pop("Items"))),
    Case(
        "Query: PriceSale NaN",
        "PriceSale",
        query=full(lambda r: r["Items"][0].update(PriceSale="NaN")),
    ),
    Case("Query: StatusId garbage", "cannot be read", query=full(lambda r: r.update(StatusId="x"))),
    Case("Query: Buyer missing", "no Buyer", query=full(lambda r: r.update(Buyer=None))),
    Case(
        "Query: currency lower case", "currency", query=full(lambda r: r.update(CurrencyCode="sek"))
    ),
    Case(
        "Query: Created garbage", "cannot be read", query=full(lambda r: r.update(Created="soon"))
    ),
    Case(
        "Query: another order's QuotationId",
        "answered with order",
        query=full(lambda r: r.update(QuotationId=1)),
    ),
    Case("Query: non-JSON answer", "cannot read", query_body=b"<html>Bad gateway</html>"),
    Case("Query: value not a list", "cannot read", query_body=b'{"value": {"Id": 1}}'),
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


async def _push(env: FlowEnv, client: httpx.AsyncClient, victim: str, case: Case) -> None:
    """Norce pushes the orders; the victim's push as the case corrupts it."""
    sim = env.shop
    sim.configure_receiver(RECEIVER)
    if case.query is not None or case.query_body is not None:
        sim.pending.remove(int(victim))  # never pushed: only the read path knows it
    if case.name == "ClientOrderRef of another order":
        sim.mangle_push(victim, header("ClientOrderRef", int(sim.order_ids()[0])))
    elif case.push is not None:
        sim.mangle_push(victim, case.push)
    if case.raw is not None:
        sim.pending.remove(int(victim))
        body = case.raw(_json(sim.order_request(victim)))
        answer = await client.post(RECEIVER, content=body)
        assert answer.status_code == 400, answer.text
        assert case.refusal in answer.text, answer.text
    attempts = await sim.push_pending(client)
    if case.expect == REFUSED and case.raw is None:
        (refused,) = [a for a in attempts if a.status == 400]
        assert case.refusal in refused.body, refused.body
        sim.pending.clear()  # Norce gives up retrying in the end and escalates to support
    assert sim.pending == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_order_fails_alone(env: FlowEnv, case: Case) -> None:
    first, victim, last = _place(env)
    if case.query is not None:
        env.shop.mangle_order(victim, case.query)
    if case.query_body is not None:
        env.shop_proxy.add(
            Rewrite(
                rf"^GET \S*Orders/Orders\?\S*QuotationId\+eq\+{victim}&%24expand=Items",
                status=200,
                body=case.query_body,
            )
        )
    flow, client = _receiver(env)
    async with client:
        await _push(env, client, victim, case)
    assert await flow.poll_once("se") == 3
    await env.drain(flow)
    for ok in (first, last):
        assert (await env.item(ok)).state is ItemState.DONE, (await env.item(ok)).last_error
        assert env.documents_for(ok) == 1
    item = await env.item(victim)
    if case.expect in (None, REFUSED):
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


async def test_a_push_retried_three_times_is_one_order(env: FlowEnv) -> None:
    """[NO3]: Norce retries a push it got no answer to; receipt is idempotent (§4.7)."""
    refs = _place(env)
    flow, client = _receiver(env)
    async with client:
        env.shop.configure_receiver(RECEIVER)
        for _ in range(3):  # the answers were lost: Norce sends everything again
            env.shop.pending = [int(ref) for ref in refs]
            assert {a.status for a in await env.shop.push_pending(client)} == {200}
    assert await flow.poll_once("se") == 3
    await env.drain(flow)
    for ref in refs:
        assert (await env.item(ref)).state is ItemState.DONE
        assert env.documents_for(ref) == 1


async def test_a_push_after_the_catch_up_is_not_a_second_document(env: FlowEnv) -> None:
    refs = _place(env)
    flow, client = _receiver(env)
    assert await flow.poll_once("se") == 3  # found by the Query read path first
    await env.drain(flow)
    async with client:
        env.shop.configure_receiver(RECEIVER)
        await env.shop.push_pending(client)
    await flow.poll_once("se")
    await env.drain(flow)
    await env.drain(flow, "orders.writeback")
    for ref in refs:
        assert env.documents_for(ref) == 1
        assert env.shop.exported_document(ref)  # the export mark reached Norce


async def test_an_unreadable_query_row_does_not_stop_discovery(env: FlowEnv) -> None:
    first, victim, last = _place(env)
    env.shop.mangle_order(victim, lambda row: row.update(QuotationId="x", Created="?"))
    flow, _ = _receiver(env)
    assert await flow.poll_once("se") == 2
    await env.drain(flow)
    for ok in (first, last):
        assert env.documents_for(ok) == 1
