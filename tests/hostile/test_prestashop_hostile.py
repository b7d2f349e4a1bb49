"""Hostile PrestaShop answers through the real orders flow: one clear error per record.

Every case places three orders on the PrestaShop simulator, corrupts the middle one (a field
of its JSON, a row of its ``order_details``, a record it links to, or the raw answer to one of
its reads), polls and drains into the e-conomic simulator. The corrupted order's work item
must end ``failed`` with a sentence that names the order and what is wrong (never a traceback
or an "internal error"); the other two must be ``done`` with exactly one document each. Cases
that are legitimately not errors (control characters, emoji, a soft-deleted address, numbers
where PrestaShop usually sends strings) must transfer instead.

PrestaShop answers XML unless JSON is asked for (shop-apis.md §3.2); the adapter asks for JSON
and never parses XML, so an XML answer (with or without an entity bomb) is refused as "not
valid JSON". The empty-list quirk ``[]`` (§3.5, [PS17]) is tried where an object is expected.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostile_support import FlowEnv, Rewrite, open_flow

from brygga.clock import FakeClock
from brygga.store import ItemState

pytestmark = pytest.mark.anyio

Mangle = Callable[[dict[str, Any]], None]
BodyFn = Callable[[bytes], bytes]


@pytest.fixture
async def ps_env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    async with open_flow(
        tmp_path,
        shop_kind="prestashop",
        # one fake clock for the shop and the connection: rate-limit windows pass without
        # sleeping, and the shop's whole-second timestamps never straddle the poll window
        shop_options={"seed": 5, "clock": clock},
        clock=clock,
    ) as opened:
        yield opened


# -- how a case corrupts the victim -----------------------------------------------------


def full(fn: Mangle) -> Mangle:
    """Apply ``fn`` to the full record only (it has associations), not to list rows."""

    def mangle(row: dict[str, Any]) -> None:
        if "associations" in row:
            fn(row)

    return mangle


def setting(name: str, value: Any) -> Mangle:
    return full(lambda row: row.__setitem__(name, value))


def removing(name: str) -> Mangle:
    return full(lambda row: row.pop(name))


def plain(name: str, value: Any) -> Mangle:
    """Set a field of a record that has no associations (customers, addresses, cart rules)."""
    return lambda row: row.__setitem__(name, value)


def taxes(value: Any) -> Mangle:
    return full(lambda row: row["associations"].__setitem__("taxes", value))


def q(text: str) -> str:
    """A query fragment as httpx encodes it (``[`` → ``%5B``)."""
    return text.replace("[", "%5B").replace("]", "%5D")


@dataclass(frozen=True)
class Case:
    """One hostile order. ``target``: ``order`` (the order's JSON), ``detail`` (its first
    order_details row), ``customer``, ``address`` (invoice), ``cart_rule``; ``body``/``status``
    rewrite the raw answer to ``read`` (``order`` or ``details``). ``expect`` is a fragment of
    the failed item's error (None: the order must transfer)."""

    name: str
    expect: str | None
    mangle: Mangle | None = None
    target: str = "order"
    body: bytes | BodyFn | None = None
    status: int | None = None
    read: str = "order"
    check: Callable[[FlowEnv, str], None] | None = None


def _other_order(body: bytes) -> bytes:
    data = json.loads(body)
    data["order"]["id"] = 424242
    return json.dumps(data).encode()


def _descriptions(env: FlowEnv, order_id: str) -> list[str]:
    reference = env.reference(order_id)
    [doc] = [d for d in env.erp.docs.all() if d.body["references"]["other"] == reference]
    return [str(line.get("description", "")) for line in doc.body["lines"]]


def _no_control(env: FlowEnv, order_id: str) -> None:
    names = [str(c.get("name", "")) for c in env.erp.customers()]
    assert any("Anna" in n for n in names)
    for name in names:
        assert not any(ord(ch) < 32 for ch in name), name


def _emoji(env: FlowEnv, order_id: str) -> None:
    assert any("☕🇸🇪" in text for text in _descriptions(env, order_id))


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<prestashop><order><id>&c;</id></order></prestashop>"
)

CASES: list[Case] = [
    # --- the answer is not an order object ---------------------------------------------
    Case("html body", "not valid JSON", body=b"<html><body>Bad gateway</body></html>"),
    Case(
        "xml body (output_format ignored)",
        "looks like XML",
        body=b'<?xml version="1.0"?><prestashop><order><id>2</id></order></prestashop>',
    ),
    Case("xml entity bomb", "looks like XML", body=BOMB),
    Case("empty body", "not valid JSON", body=b""),
    Case("truncated JSON", "not valid JSON", body=lambda b: b[: len(b) // 2]),
    Case("trailing garbage", "not valid JSON", body=lambda b: b + b"}{"),
    Case("invalid UTF-8", "not valid JSON", body=lambda b: b.replace(b"Bank wire", b"Ban\xff\xfe")),
    Case(
        "deeply nested", "nested too deeply", body=b'{"order": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    ),
    Case("empty-list quirk for the order", "no 'order' object", body=b"[]"),
    Case("order is a list", "no 'order' object", body=b'{"order": []}'),
    Case("order is null", "no 'order' object", body=b'{"order": null}'),
    Case("a list answer for a detail", "no 'order' object", body=b'{"orders": [{"id": 2}]}'),
    Case("another order's id", "another order", body=_other_order),
    Case(
        "400 with an errors body",
        "code 87",
        status=400,
        body=b'{"errors": [{"code": 87, "message": "Id(s) not exists: 2"}]}',
    ),
    Case("404", "does not exist", status=404, body=b'{"errors": []}'),
    Case(
        "403 key not linked to the shop",
        "403",
        status=403,
        body=b'{"errors": [{"code": 132, "message": "no access to this shop"}]}',
    ),
    # --- order fields --------------------------------------------------------------------
    Case(
        "total a word", "total_paid_tax_incl is abc", mangle=setting("total_paid_tax_incl", "abc")
    ),
    Case("total NaN", "total_paid_tax_incl", mangle=setting("total_paid_tax_incl", "NaN")),
    Case("total 1e400", "total_paid_tax_incl", mangle=setting("total_paid_tax_incl", "1e400")),
    Case("total a list", "total_paid_tax_incl", mangle=setting("total_paid_tax_incl", [1])),
    Case("total missing", "total_paid_tax_incl is missing", mangle=removing("total_paid_tax_incl")),
    Case("total negative", "valid total", mangle=setting("total_paid_tax_incl", "-5.000000")),
    Case("excl above incl", "valid total", mangle=setting("total_paid_tax_excl", "99999.000000")),
    Case("date_add zeros", "date_add", mangle=setting("date_add", "0000-00-00 00:00:00")),
    Case(
        "date_add ISO with offset",
        "date_add",
        mangle=setting("date_add", "2026-02-02T10:00:00+01:00"),
    ),
    Case("date_upd garbage", "date_upd", mangle=setting("date_upd", "tomorrow")),
    Case("date_add missing", "date_add is missing", mangle=removing("date_add")),
    Case("unknown currency", "currency 999 does not exist", mangle=setting("id_currency", "999")),
    Case("unknown customer", "customer 999", mangle=setting("id_customer", "999")),
    Case("unknown invoice address", "address 999", mangle=setting("id_address_invoice", "999")),
    Case("address id a word", "id_address_invoice is x", mangle=setting("id_address_invoice", "x")),
    Case("carrier id a list", "id_carrier", mangle=setting("id_carrier", [2])),
    Case(
        "negative shipping",
        "total_shipping_tax_excl",
        mangle=setting("total_shipping_tax_excl", "-49.000000"),
    ),
    Case("carrier tax rate 250", "carrier_tax_rate 250", mangle=setting("carrier_tax_rate", "250")),
    Case("huge reference", "characters long", mangle=setting("reference", "R" * 200_000)),
    Case("note an object", "note is", mangle=setting("note", {"a": 1})),
    # --- order_details rows --------------------------------------------------------------
    Case(
        "quantity negative",
        "product_quantity is -2",
        target="detail",
        mangle=setting("product_quantity", "-2"),
    ),
    Case(
        "quantity a fraction",
        "product_quantity is 1.5",
        target="detail",
        mangle=setting("product_quantity", "1.5"),
    ),
    Case(
        "quantity zero",
        "product_quantity is 0",
        target="detail",
        mangle=setting("product_quantity", "0"),
    ),
    Case(
        "quantity a word",
        "product_quantity is many",
        target="detail",
        mangle=setting("product_quantity", "many"),
    ),
    Case(
        "negative unit price",
        "negative price",
        target="detail",
        mangle=setting("unit_price_tax_excl", "-10.000000"),
    ),
    Case(
        "no reference",
        "no product reference",
        target="detail",
        mangle=setting("product_reference", ""),
    ),
    Case(
        "unknown SKU",
        "does not exist in e-conomic",
        target="detail",
        mangle=setting("product_reference", "NO-SUCH-SKU"),
    ),
    Case("unknown tax", "tax 999 does not exist", target="detail", mangle=taxes([{"id": "999"}])),
    Case("two taxes", "2 taxes", target="detail", mangle=taxes([{"id": "1"}, {"id": "2"}])),
    Case(
        "tax id a word",
        "taxes association: id is moms",
        target="detail",
        mangle=taxes([{"id": "moms"}]),
    ),
    Case(
        "no taxes and a rate no VAT fits",
        "no VAT rate fits",
        target="detail",
        mangle=full(
            lambda row: (
                row["associations"].pop("taxes"),
                row.__setitem__("total_price_tax_incl", "100.370000"),
            )
        ),
    ),
    Case(
        "huge product name",
        "characters long",
        target="detail",
        mangle=setting("product_name", "x" * 200_000),
    ),
    Case("empty-list quirk for the rows", "no rows", read="details", body=b"[]"),
    Case("rows an empty object", "no rows", read="details", body=b'{"order_details": {}}'),
    Case(
        "rows a string",
        "no 'order_details' list",
        read="details",
        body=b'{"order_details": "none"}',
    ),
    Case(
        "row a string",
        "row 1: the row is not an object",
        read="details",
        body=b'{"order_details": ["row"]}',
    ),
    # --- linked records ------------------------------------------------------------------
    Case(
        "e-mail 300 characters",
        "not a valid e-mail",
        target="customer",
        mangle=plain("email", "a" * 290 + "@example.se"),
    ),
    Case(
        "e-mail without @", "not a valid e-mail", target="customer", mangle=plain("email", "nobody")
    ),
    Case(
        "cart rule value a word",
        "value_tax_excl is free",
        target="cart_rule",
        mangle=plain("value_tax_excl", "free"),
    ),
    Case(
        "cart rule negative",
        "value_tax_excl is -10",
        target="cart_rule",
        mangle=plain("value_tax_excl", "-10.000000"),
    ),
    # --- not errors: these transfer ------------------------------------------------------
    Case(
        "control characters in the name",
        None,
        target="customer",
        mangle=plain("firstname", "An\x00na\x1b"),
        check=_no_control,
    ),
    Case(
        "emoji in the product name",
        None,
        target="detail",
        mangle=setting("product_name", "Kaffe ☕🇸🇪"),
        check=_emoji,
    ),
    Case("soft-deleted address", None, target="address", mangle=plain("deleted", "1")),
    Case("ids as numbers", None, mangle=full(lambda row: row.update(id_currency=1, id_carrier=2))),
]


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def _place(env: FlowEnv) -> list[str]:
    from decimal import Decimal

    placed = [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)],
            email=f"kund{i}@example.se",
            name=f"Anna Kund{i}",
            freight=Decimal("49.00"),
            discount_percent=Decimal("10"),
        )
        for i in range(3)
    ]
    env.clock.advance(5)  # type: ignore[attr-defined]
    return placed


def _corrupt(env: FlowEnv, case: Case, victim: str) -> None:
    shop = env.shop
    if case.mangle is not None:
        order = shop.order(victim)
        row_id = {
            "order": victim,
            "detail": shop.details(victim)[0]["id"],
            "customer": order["id_customer"],
            "address": order["id_address_invoice"],
            "cart_rule": next(
                r["id"]
                for r in shop.state.table("order_cart_rules").values()
                if r["id_order"] == victim
            ),
        }[case.target]
        resource = {
            "order": "orders",
            "detail": "order_details",
            "customer": "customers",
            "address": "addresses",
            "cart_rule": "order_cart_rules",
        }[case.target]
        shop.mangle(resource, row_id, case.mangle)
    if case.body is not None or case.status is not None:
        pattern = (
            rf"^GET /api/orders/{victim}(\?|$)"
            if case.read == "order"
            else rf"^GET /api/order_details\?.*{q(f'filter[id_order]=[{victim}]')}"
        )
        env.shop_proxy.add(Rewrite(pattern, status=case.status, body=case.body))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_order_fails_alone(ps_env: FlowEnv, case: Case) -> None:
    env = ps_env
    first, victim, last = _place(env)
    _corrupt(env, case, victim)
    flow = env.flow()
    assert await flow.poll_once("se") == 3
    await env.drain(flow)
    await env.drain(flow, "orders.writeback")
    for ok in (first, last):
        item = await env.item(ok)
        assert item.state is ItemState.DONE, item.last_error
        assert env.documents_for(ok) == 1
        assert env.shop.exported_document(ok) is not None
    item = await env.item(victim)
    if case.expect is None:
        assert item.state is ItemState.DONE, item.last_error
        assert env.documents_for(victim) == 1
        if case.check is not None:
            case.check(env, victim)
        return
    assert item.state is ItemState.FAILED, f"{item.state}: {item.last_error}"
    message = item.last_error
    assert f"order {victim}" in message.lower(), message
    assert case.expect in message, message
    assert "internal error" not in message and "Traceback" not in message, message
    assert env.documents_for(victim) == 0
    assert env.shop.exported_document(victim) is None


async def test_a_garbage_row_in_the_order_list_does_not_stop_the_others(
    ps_env: FlowEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """A list row whose date cannot be read is still reported: its transfer fails with the
    reason (an error record naming the order), and the rest transfer."""
    env = ps_env
    first, victim, last = _place(env)
    env.shop.mangle("orders", victim, lambda row: row.update(date_upd="soon"))
    flow = env.flow()
    assert await flow.poll_once("se") == 3
    await env.drain(flow)
    for ok in (first, last):
        assert (await env.item(ok)).state is ItemState.DONE
    item = await env.item(victim)
    assert item.state is ItemState.FAILED
    assert f"PrestaShop order {victim}: date_upd is soon" in item.last_error
    assert any(f"PrestaShop order {victim}" in r.getMessage() for r in caplog.records)


async def test_a_list_row_without_an_id_is_skipped(
    ps_env: FlowEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = ps_env
    first, victim, last = _place(env)
    env.shop.mangle("orders", victim, lambda row: row.update(id="x"))
    flow = env.flow()
    assert await flow.poll_once("se") == 2
    await env.drain(flow)
    for ok in (first, last):
        assert (await env.item(ok)).state is ItemState.DONE
    assert any("skipped an order-list row" in r.getMessage() for r in caplog.records)


async def test_the_empty_list_quirk_on_the_order_list_is_no_orders(ps_env: FlowEnv) -> None:
    env = ps_env
    _place(env)
    env.shop_proxy.add(Rewrite(r"^GET /api/orders\?", body=b"[]"))
    assert await env.flow().poll_once("se") == 0
