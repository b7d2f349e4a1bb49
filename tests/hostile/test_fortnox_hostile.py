"""Hostile Fortnox answers through the real orders flow: one clear error per record, no crash.

Three orders go from the simulated Starweb shop to the simulated Fortnox; a middleware in
front of the Fortnox simulator rewrites the answers to one record's requests (its customer
search, customer create, invoice create or reference lookup, or the article lookup of BOK-01,
which only its order contains). Outcomes as in the e-conomic corpus
(tests/hostile/test_economic_hostile.py):

- ``permanent``: the record fails at once with an error naming the problem;
- ``transient``: the first attempt is a retry with the error recorded, the rewrite then stops
  and the retry ends with exactly one invoice (a write whose answer was garbled is looked up
  by reference before it is sent again);
- ``done``: not an error (a substring match of the search, a 401 answered by one new token).

Documented behaviour the cases rely on (reference/erp-apis.md): wrapped answers and
``MetaInformation`` paging (§2.2, §2.3, [spec F1]); search parameters match substrings, so
exact matching is ours (§2.3, [doc F4] https://www.fortnox.se/developer/guides-and-good-to-
know/parameters); ``ErrorInformation`` errors with Swedish messages (§2.5, [doc F5]
https://www.fortnox.se/developer/guides-and-good-to-know/errors); 429 beyond the rate limit
(§2.4, [doc F6]). Token-endpoint hostility is tested in tests/plugins/fortnox (a garbled
token answer spends the tenant's refresh token, which would fail every record, not one).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hostile_support import FlowEnv, Rewrite, Rewriter, proxied_routes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "fortnox"))
from fortnox_support import registered  # (the plugin until its entry point exists)

from brygga.clock import FakeClock
from brygga.store import ItemState
from brygga.sync.orders import document_reference

pytestmark = pytest.mark.anyio

Outcome = Literal["permanent", "transient", "done"]
Body = bytes | Callable[[bytes], bytes] | None
#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}


@dataclass(frozen=True)
class Victim:
    index: int
    order_id: str
    email: str


TARGETS: dict[str, Callable[[Victim], str]] = {
    "search": lambda v: rf"^GET /3/customers\?[^\n]*email=kund{v.index}%40",
    "create customer": lambda v: rf"^POST /3/customers\n.*\"{v.email}\"",
    "invoice create": lambda v: rf"^POST /3/invoices\n.*se:{v.order_id}\"",
    "invoice lookup": lambda v: rf"^GET /3/invoices\?[^\n]*se%3A{v.order_id}\b",
    "article": lambda v: r"^GET /3/articles/BOK-01\b",
}
#: lookups by reference happen only after an earlier attempt recorded its intent
RECOVERY = {"invoice lookup"}


@dataclass(frozen=True)
class Case:
    """``expect`` is a fragment of the error; ``why`` says why the outcome is right."""

    name: str
    target: str
    outcome: Outcome
    expect: str
    why: str
    body: Body = None
    status: int | None = None
    content_type: str = "application/json"

    def rewrites(self) -> int | None:
        if self.status == 429:
            # one 429 is sent again in place by the HTTP layer (RFC 6585 §4: not processed);
            # only one that outlasts those repeats reaches the record as a retry
            return 4
        return 1 if self.outcome != "permanent" else None


def j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def error(code: int, message: str) -> bytes:
    return j({"ErrorInformation": {"error": 1, "message": message, "code": code}})


def customers(rows: list[dict[str, Any]], **meta: Any) -> bytes:
    info = {"@TotalResources": len(rows), "@TotalPages": 1, "@CurrentPage": 1, **meta}
    return j({"Customers": rows, "MetaInformation": info})


def invoices(rows: list[dict[str, Any]], **meta: Any) -> bytes:
    info = {"@TotalResources": len(rows), "@TotalPages": 1, "@CurrentPage": 1, **meta}
    return j({"Invoices": rows, "MetaInformation": info})


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


NOT_JSON = "a 2xx that is not JSON: a proxy or maintenance page; a retry can help"
SHAPE = "well-formed JSON of the wrong shape: Fortnox would answer the same again"
WRITE = "the write probably happened; the retry finds it by reference (no second document)"
REFUSED = "Fortnox refused the request with its error document; it will refuse it again"
SERVER = "a server error or 429: the client maps it to a TransientError"
EXACT = "the search matches substrings (reference §2.3); only an exact match counts"
HTML = b"<html><body>Underhall</body></html>"

CASES: list[Case] = [
    # --- customer search (GET /3/customers?email=) --------------------------------------
    Case("search: garbage", "search", "transient", "not JSON", NOT_JSON, b"garbage"),
    Case("search: empty", "search", "transient", "an empty answer", NOT_JSON, b""),
    Case(
        "search: HTML",
        "search",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        HTML,
        content_type="text/html",
    ),
    Case("search: truncated", "search", "transient", "not JSON", NOT_JSON, lambda b: b[:25]),
    Case("search: invalid UTF-8", "search", "transient", "not JSON", NOT_JSON, b"\xff\xfe{"),
    Case("search: 500", "search", "transient", "server error 500", SERVER, b"{}", status=500),
    Case("search: 503 HTML", "search", "transient", "server error 503", SERVER, HTML, status=503),
    Case(
        "search: 429",
        "search",
        "transient",
        "rate limited",
        SERVER,
        error(2000429, "För många anrop."),
        status=429,
    ),
    Case("search: JSON array", "search", "permanent", "unexpected answer", SHAPE, b"[]"),
    Case("search: empty object", "search", "permanent", "MetaInformation", SHAPE, b"{}"),
    Case(
        "search: Customers an object",
        "search",
        "permanent",
        "unexpected answer",
        SHAPE,
        j(
            {
                "Customers": {},
                "MetaInformation": {"@TotalResources": 0, "@TotalPages": 1, "@CurrentPage": 1},
            }
        ),
    ),
    Case(
        "search: meta as text",
        "search",
        "permanent",
        "unexpected answer",
        SHAPE,
        customers([], **{"@TotalPages": "many"}),
    ),
    Case(
        "search: number as int",
        "search",
        "permanent",
        "CustomerNumber",
        SHAPE,
        customers([{"CustomerNumber": 7, "Email": "kund1@example.se"}]),
    ),
    Case(
        "search: wrong page",
        "search",
        "permanent",
        "page 4",
        SHAPE,
        customers([], **{"@CurrentPage": 4}),
    ),
    Case("search: deep nesting", "search", "permanent", "unexpected answer", SHAPE, nested(5000)),
    Case(
        "search: substring stranger",
        "search",
        "done",
        "",
        EXACT,
        customers([{"CustomerNumber": "77", "Email": "xkund1@example.se.evil"}]),
    ),
    Case(
        "search: ignored filter",
        "search",
        "done",
        "",
        EXACT,
        customers(
            [{"CustomerNumber": str(n), "Email": f"other{n}@example.se"} for n in range(1, 2000)]
        ),
    ),
    Case(
        "search: 401 once",
        "search",
        "done",
        "",
        "a 401 gets one new token and one retry",
        error(2000311, "Kan inte logga in"),
        status=401,
    ),
    Case(
        "search: 403 licence",
        "search",
        "permanent",
        "licence",
        "a person must fix the integration's licence or scopes",
        error(2001101, "Saknar licens"),
        status=403,
    ),
    Case(
        "search: 400 Swedish",
        "search",
        "permanent",
        "Ogiltig parameter",
        REFUSED,
        error(2000588, "Ogiltig parameter i anropet."),
        status=400,
    ),
    # --- customer create (POST /3/customers) ---------------------------------------------
    Case(
        "create customer: HTML 201",
        "create customer",
        "transient",
        "looks the result up",
        WRITE,
        HTML,
    ),
    Case(
        "create customer: empty object",
        "create customer",
        "transient",
        "could not be read",
        WRITE,
        b"{}",
    ),
    Case(
        "create customer: number as int",
        "create customer",
        "transient",
        "could not be read",
        WRITE,
        j({"Customer": {"CustomerNumber": 5}}),
    ),
    Case(
        "create customer: error body in 201",
        "create customer",
        "transient",
        "could not be read",
        WRITE,
        error(2000637, "Kundnummer används redan."),
    ),
    Case(
        "create customer: 400",
        "create customer",
        "permanent",
        "Kundnummer",
        REFUSED,
        error(2000637, "Kundnummer används redan."),
        status=400,
    ),
    Case(
        "create customer: 500",
        "create customer",
        "transient",
        "server error 500",
        SERVER,
        b"{}",
        status=500,
    ),
    # --- invoice create (POST /3/invoices) -----------------------------------------------
    Case("invoice: HTML 201", "invoice create", "transient", "looks the result up", WRITE, HTML),
    Case("invoice: empty 201", "invoice create", "transient", "could not be read", WRITE, b""),
    Case("invoice: empty object", "invoice create", "transient", "could not be read", WRITE, b"{}"),
    Case(
        "invoice: number as int",
        "invoice create",
        "transient",
        "could not be read",
        WRITE,
        j({"Invoice": {"DocumentNumber": 12}}),
    ),
    Case(
        "invoice: Balance NaN",
        "invoice create",
        "transient",
        "could not be read",
        WRITE,
        b'{"Invoice": {"DocumentNumber": "12", "Balance": "NaN"}}',
    ),
    Case(
        "invoice: truncated",
        "invoice create",
        "transient",
        "could not be read",
        WRITE,
        lambda b: b[:30],
    ),
    Case(
        "invoice: VAT refused",
        "invoice create",
        "permanent",
        "Kunde inte hitta moms",
        REFUSED,
        error(2004001, "Kunde inte hitta moms"),
        status=400,
    ),
    Case(
        "invoice: fiscal year",
        "invoice create",
        "permanent",
        "räkenskapsår",
        REFUSED,
        error(2000310, "Det finns inget räkenskapsår för datumet"),
        status=400,
    ),
    Case(
        "invoice: 500", "invoice create", "transient", "server error 500", SERVER, b"{}", status=500
    ),
    Case("invoice: 429", "invoice create", "transient", "rate limited", SERVER, b"{}", status=429),
    Case(
        "invoice: secret echoed",
        "invoice create",
        "permanent",
        "***",
        "an answer that echoes the client secret is scrubbed",
        error(2000750, "ogiltig: sim-fortnox-client-secret"),
        status=400,
    ),
    # --- reference lookup after a killed send (GET /3/invoices?externalinvoicereference1=) --
    Case(
        "lookup: substring stranger",
        "invoice lookup",
        "done",
        "",
        EXACT,
        lambda b: invoices(
            [
                {
                    "DocumentNumber": "99",
                    "CustomerNumber": "1",
                    "ExternalInvoiceReference1": "brygga:demo:se:99999",
                }
            ]
        ),
    ),
    Case(
        "lookup: 500", "invoice lookup", "transient", "server error 500", SERVER, b"{}", status=500
    ),
    Case("lookup: HTML", "invoice lookup", "transient", "HTML or XML page", NOT_JSON, HTML),
    Case("lookup: empty object", "invoice lookup", "permanent", "MetaInformation", SHAPE, b"{}"),
    Case(
        "lookup: no DocumentNumber",
        "invoice lookup",
        "permanent",
        "DocumentNumber",
        SHAPE,
        invoices([{"ExternalInvoiceReference1": "x"}]),
    ),
    Case(
        "lookup: wrong page",
        "invoice lookup",
        "permanent",
        "page 3",
        SHAPE,
        invoices([], **{"@CurrentPage": 3}),
    ),
    # --- the article of one row (GET /3/articles/BOK-01) ---------------------------------
    Case(
        "article: missing",
        "article",
        "permanent",
        "BOK-01 does not exist",
        "an unknown article is fixed in Fortnox or the shop",
        error(2000428, "Kan inte hitta artikeln"),
        status=404,
    ),
    Case("article: 500", "article", "transient", "server error 500", SERVER, b"{}", status=500),
    Case("article: HTML", "article", "transient", "HTML or XML page", NOT_JSON, HTML),
    Case("article: empty object", "article", "permanent", "unexpected answer", SHAPE, b"{}"),
    Case(
        "article: no number",
        "article",
        "permanent",
        "ArticleNumber",
        SHAPE,
        j({"Article": {"Description": "Bok"}}),
    ),
    Case(
        "article: VAT NaN",
        "article",
        "permanent",
        "VAT",
        SHAPE,
        b'{"Article": {"ArticleNumber": "BOK-01", "VAT": "NaN"}}',
    ),
]


def test_enough_cases_and_every_one_explained() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
    assert all(case.why and case.target in TARGETS for case in CASES)


@pytest.fixture(autouse=True)
def _fortnox_plugin() -> Iterator[None]:
    with registered():
        yield


@pytest.fixture
async def fortnox_env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    proxies: dict[str, Rewriter] = {}
    async with FlowEnv.open(
        tmp_path,
        erp_kind="fortnox",
        # rate-limit waits move this clock instead of sleeping; a minute ahead of the shop, whose
        # orders must be in the past of the poll window
        clock=FakeClock(datetime.now(UTC) + timedelta(minutes=1)),
        shop_options={"seed": 5},
        shop_config={"rate_limit": FAST},
        erp_config={"rate_limit": FAST},
        # the documented 25/5 s window is tested in tests/plugins/fortnox; here answers
        erp_options={"rate_limit": None},
        routes=proxied_routes(proxies),
    ) as opened:
        opened.proxy(proxies)
        yield opened


def _place(env: FlowEnv, victim: int) -> list[str]:
    """Three orders; the victim's also has BOK-01 (6 %), which no other order has."""
    return [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)] + ([("BOK-01", 1)] if i == victim else []),
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
        for i in range(3)
    ]


async def _killed_mid_send(env: FlowEnv, flow: Any, order_id: str) -> None:
    """The victim as a killed process left it: claimed with its intent, then recovered."""
    item = await env.item(order_id)
    reference = document_reference("demo", "se", order_id)
    now = flow.clock.now()
    claimed = await env.store.items.claim_one(
        item.id, now=now, run_id="killed", intent=lambda _: reference
    )
    assert claimed is not None
    assert await env.store.items.recover(connection="demo", run_id=flow.run_id, now=now) == 1


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_fortnox_answer_fails_one_record(fortnox_env: FlowEnv, case: Case) -> None:
    env = fortnox_env
    index = 1
    ids = _place(env, index)
    victim = Victim(index, ids[index], f"kund{index}@example.se")
    rule = env.erp_proxy.add(
        Rewrite(
            TARGETS[case.target](victim),
            status=case.status,
            body=case.body,
            content_type=case.content_type,
            times=case.rewrites(),
        )
    )
    flow = env.flow()
    assert await flow.poll_once("se") == 3
    if case.target in RECOVERY:
        await _killed_mid_send(env, flow, victim.order_id)
    await env.drain(flow)
    assert rule.hits >= 1, "the rewrite never fired: the case tests nothing"
    assert env.evil.seen == [], "a link to another host was followed"
    for i, order_id in enumerate(ids):
        if i != index:
            assert (await env.item(order_id)).state is ItemState.DONE
            assert env.documents_for(order_id) == 1
    item = await env.item(victim.order_id)
    events = await env.store.events.for_record("demo", "orders", "se", victim.order_id)
    messages = [event.message for event in events]
    assert not any("internal error" in m or "Traceback" in m for m in messages), messages
    assert not any("sim-fortnox-client-secret" in m for m in messages), messages
    if case.outcome == "permanent":
        assert item.state is ItemState.FAILED, f"{item.state}: {item.last_error}"
        assert case.expect in item.last_error, item.last_error
        assert env.documents_for(victim.order_id) == 0
        assert len(item.last_error) < 2500
        return
    assert item.state is ItemState.DONE, f"{item.state}: {item.last_error}"
    assert env.documents_for(victim.order_id) == 1
    found = [c for c in env.erp.customers() if c.get("Email") == victim.email]
    assert len(found) == 1, found
    if case.outcome == "transient":
        retries = [e.message for e in events if e.kind == "retry"]
        assert len(retries) == 1 and case.expect in retries[0], messages
