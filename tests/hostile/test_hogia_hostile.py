"""Hostile Hogia Smart answers through the real orders flow: one clear error per record.

Three orders go from the Starweb simulator to the Hogia simulator; a rewriter in front of Hogia
garbles the answers to one record's requests (its contact search, contact create, reference
lookup, invoice create, the read of an article only it orders, or, for the shared OAuth2
token, the first record's token request). Hogia Smart's API is modelled (reference/erp-apis.md
§4.2, §9: its endpoints are unverified; the guesses are in ``brygga_hogia/wire.py``); the
error shapes garbled here are the two that third-party clients show (§4.2 [H4]: an array of
``{errorCode, message}`` or an RFC 7807 object with ``errors``). Outcomes as in the e-conomic
corpus:

- ``permanent``: the item is ``failed`` at once with a sentence naming what is wrong.
- ``transient``: the first attempt is ``retry``; the rewrite stops and the retry finishes with
  exactly one invoice (a garbled answer to a write means it probably happened: the retry
  finds it by its External reference instead of sending again).
- ``done``: not an error (over-wide searches are filtered to exact matches).

The other two records always end ``done`` with exactly one invoice each.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hostile_support import FlowEnv, Rewrite, Rewriter, proxied_routes

sys.path.append(str(Path(__file__).resolve().parents[1] / "plugins" / "hogia"))
from hogia_support import install

from brygga.store import ItemState
from brygga.sync.orders import document_reference

pytestmark = pytest.mark.anyio

#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}
Outcome = Literal["permanent", "transient", "done"]
Body = bytes | Callable[[bytes], bytes] | None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FlowEnv]:
    install(monkeypatch)
    proxies: dict[str, Rewriter] = {}
    async with FlowEnv.open(
        tmp_path,
        erp_kind="hogia",
        shop_options={"seed": 5},
        shop_config={"rate_limit": FAST},
        erp_config={"rate_limit": FAST},
        routes=proxied_routes(proxies),
    ) as opened:
        opened.proxy(proxies)
        yield opened


@dataclass(frozen=True)
class Victim:
    index: int
    order_id: str
    email: str


TARGETS: dict[str, Callable[[Victim], str]] = {
    "search": lambda v: rf"^GET /[^/]+/contacts\?[^\n]*emailAddress={v.email.split('@')[0]}%40",
    "create customer": lambda v: rf"^POST /[^/]+/contacts\n.*\"{v.email}\"",
    "lookup": lambda v: (
        rf"^GET /[^/]+/customerinvoices\?[^\n]*externalReference=[^\n&]*se%3A{v.order_id}\b"
    ),
    "create": lambda v: rf"^POST /[^/]+/customerinvoices\n.*se:{v.order_id}\"",
    # BOK-01 is on the victim's order only
    "article": lambda v: r"^GET /[^/]+/articles/BOK-01\b",
    # one token for every record: the first record to need it meets the rewrite
    "token": lambda v: r"^POST /connect/token",
}
SHARED = {"token"}
RECOVERY = {"lookup"}


def j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def page(rows: Any, **extra: Any) -> bytes:
    """A modelled list answer (wire assumption 2)."""
    return j({"items": rows, "page": 1, "pageSize": 100, "totalItems": len(rows), **extra})


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def strangers(body: bytes) -> bytes:
    return page([{"number": str(n), "emailAddress": f"x{n}@example.se"} for n in range(50_000)])


def external(value: Any, kind: str = "External") -> list[dict[str, Any]]:
    return [{"referenceType": kind, "value": value}]


def longer_reference(body: bytes) -> bytes:
    """What a "contains" search also returns: a longer reference that contains ours."""
    doc = json.loads(body)
    doc["items"] = [
        {
            "customerInvoiceId": "99",
            "customerInvoiceReferences": external(reference_of(row) + "0"),
        }
        for row in doc["items"]
    ] or [{"customerInvoiceId": "99", "customerInvoiceReferences": external("brygga:x:1")}]
    doc["totalItems"] = len(doc["items"])
    return j(doc)


def other_kind(body: bytes) -> bytes:
    """Our reference, but stored as another reference type: not brygga's."""
    doc = json.loads(body)
    doc["items"] = [
        {**row, "customerInvoiceReferences": external(reference_of(row), "Customer")}
        for row in doc["items"]
    ]
    return j(doc)


def reference_of(row: dict[str, Any]) -> str:
    return str(row["customerInvoiceReferences"][0]["value"])


def problem(errors: Any, title: str = "Validation failed") -> bytes:
    return j({"title": title, "status": 400, "errors": errors})


@dataclass(frozen=True)
class Case:
    name: str
    target: str
    outcome: Outcome
    expect: str
    why: str
    body: Body = None
    status: int | None = None
    content_type: str = "application/json"
    times: int | None = 0

    def rewrites(self) -> int | None:
        if self.times != 0:
            return self.times
        return 1 if self.outcome == "transient" or self.target in SHARED else None


NOT_JSON = "a 2xx that is not JSON: a proxy or maintenance page; a retry can help"
SHAPE = "well-formed JSON of the wrong shape: the API would answer the same again"
WRITE = "the write probably happened; the retry finds it by reference (no second invoice)"
AUTH = "the credentials or the API client's rights must be fixed by a person"
REFUSED = "Hogia refused the request; it will refuse it again"
SERVER = "a server error or rate limit: the client maps it to a TransientError"

CASES: list[Case] = [
    # --- contact search ---------------------------------------------------------------
    Case("search: garbage", "search", "transient", "not JSON", NOT_JSON, b"garbage"),
    Case("search: empty body", "search", "transient", "an empty answer", NOT_JSON, b""),
    Case(
        "search: HTML",
        "search",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        b"<html><body>Underhall</body></html>",
        content_type="text/html",
    ),
    Case("search: XML", "search", "transient", "HTML or XML page", NOT_JSON, b"<?xml ?><a/>"),
    Case("search: truncated", "search", "transient", "not JSON", NOT_JSON, lambda b: b[:15]),
    Case(
        "search: invalid UTF-8",
        "search",
        "transient",
        "not JSON",
        NOT_JSON,
        b'{"items": [{"number": "5", "emailAddress": "\xff\xfe"}]}',
    ),
    Case("search: null", "search", "permanent", "got `null`", SHAPE, b"null"),
    Case("search: a list", "search", "permanent", "got `array`", SHAPE, b"[]"),
    Case("search: items missing", "search", "permanent", "`items`", SHAPE, j({"page": 1})),
    Case("search: items a string", "search", "permanent", "items", SHAPE, j({"items": "x"})),
    Case(
        "search: number a number",
        "search",
        "permanent",
        "number",
        SHAPE,
        page([{"number": 5, "emailAddress": "x@example.se"}]),
    ),
    Case("search: number empty", "search", "permanent", "number", SHAPE, page([{"number": ""}])),
    Case(
        "search: totalItems negative",
        "search",
        "permanent",
        "totalItems",
        SHAPE,
        page([], totalItems=-1),
    ),
    Case(
        "search: 200 with a problem body",
        "search",
        "permanent",
        "`items`",
        "a 200 carrying an error document is no search result; it must not read as "
        "'nobody found' (that would create a duplicate customer)",
        problem({"x": ["Internal error"]}),
    ),
    Case(
        "search: deeply nested",
        "search",
        "permanent",
        "nested too deeply",
        SHAPE,
        ('{"junk": ' + nested(10_000) + ', "items": []}').encode(),
    ),
    Case(
        "search: 50 000 strangers (filter ignored)",
        "search",
        "done",
        "",
        "only rows whose e-mail really equals the one searched count",
        strangers,
    ),
    Case(
        "search: the same page forever",
        "search",
        "permanent",
        "same page twice",
        "an API that repeats its pages would repeat them again: stop, never loop",
        page([{"number": "77", "emailAddress": "stranger@example.se"}], totalItems=10_000),
    ),
    Case(
        "search: 401 after a fresh token",
        "search",
        "permanent",
        "HTTP 401",
        "refused with a token fetched a moment ago: the API client needs fixing",
        b"[]",
        status=401,
    ),
    Case("search: 403 HTML", "search", "permanent", "HTTP 403", AUTH, b"<html/>", status=403),
    Case("search: 400 a list", "search", "permanent", "HTTP 400", REFUSED, b"[1, 2]", status=400),
    Case("search: 400 a string", "search", "permanent", "HTTP 400", REFUSED, b'"x"', status=400),
    Case(
        "search: 400 HTML",
        "search",
        "permanent",
        "HTML or XML page",
        REFUSED,
        b"<html>Bad Request</html>",
        status=400,
    ),
    Case(
        "search: 400 errors nested 900 deep",
        "search",
        "permanent",
        "HTTP 400",
        REFUSED,
        ('{"errors": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}").encode(),
        status=400,
    ),
    Case(
        "search: 400 with 100 000 errors (array form)",
        "search",
        "permanent",
        "and more",
        REFUSED,
        j([{"errorCode": f"E{n}", "message": "bad"} for n in range(100_000)]),
        status=400,
    ),
    Case(
        "search: 400 with a 1 MB title",
        "search",
        "permanent",
        "HTTP 400",
        REFUSED,
        problem({}, title="x" * 1_000_000),
        status=400,
    ),
    Case("search: 404", "search", "permanent", "HTTP 404", REFUSED, b"{}", status=404),
    Case(
        "search: 302 to another host",
        "search",
        "permanent",
        "HTTP 302",
        "redirects are never followed (another host could be anyone)",
        b"",
        status=302,
    ),
    Case("search: 500", "search", "transient", "server error 500", SERVER, b"{}", status=500),
    Case("search: 503 HTML", "search", "transient", "server error 503", SERVER, b"<", status=503),
    # one 429 is sent again in place by the HTTP layer (RFC 6585 §4: not processed), so only a
    # 429 that outlasts those repeats reaches the record as a retry
    Case(
        "search: 429 again and again",
        "search",
        "transient",
        "rate limited",
        SERVER,
        b"",
        status=429,
        times=4,
    ),
    Case("search: one 429", "search", "done", "", SERVER, b"", status=429, times=1),
    # --- contact create ---------------------------------------------------------------
    Case("create customer: garbage", "create customer", "transient", "accepted", WRITE, b"!"),
    Case(
        "create customer: number a number",
        "create customer",
        "transient",
        "number",
        WRITE,
        j({"number": 12}),
    ),
    Case(
        "create customer: 400 problem with a field",
        "create customer",
        "permanent",
        "emailAddress: Not an e-mail",
        REFUSED,
        problem({"emailAddress": ["Not an e-mail"]}),
        status=400,
    ),
    Case(
        "create customer: 400 array form",
        "create customer",
        "permanent",
        "E123: Bad contact",
        REFUSED,
        j([{"errorCode": "E123", "message": "Bad contact", "sequentialId": 1}]),
        status=400,
    ),
    # --- the lookup by reference after a killed send ----------------------------------
    Case("lookup: garbage", "lookup", "transient", "not JSON", NOT_JSON, b"?"),
    Case("lookup: HTML", "lookup", "transient", "HTML or XML page", NOT_JSON, b"<html></html>"),
    Case(
        "lookup: reference value a number",
        "lookup",
        "permanent",
        "value",
        SHAPE,
        page([{"customerInvoiceId": "5", "customerInvoiceReferences": external(5)}]),
    ),
    Case(
        "lookup: customerInvoiceId a number",
        "lookup",
        "permanent",
        "customerInvoiceId",
        SHAPE,
        page([{"customerInvoiceId": 5}]),
    ),
    Case(
        "lookup: a longer reference that contains ours",
        "lookup",
        "done",
        "",
        "the search may match substrings (wire assumption 3/4); only an exact match counts",
        longer_reference,
    ),
    Case(
        "lookup: our value under another reference type",
        "lookup",
        "done",
        "",
        "only an External reference is brygga's (wire assumption 4)",
        other_kind,
    ),
    Case(
        "lookup: the same page forever",
        "lookup",
        "permanent",
        "same page twice",
        "an API that repeats its pages would repeat them again: stop, never loop",
        page([{"customerInvoiceId": "5"}], totalItems=50),
    ),
    # --- invoice create ---------------------------------------------------------------
    Case("create: garbage", "create", "transient", "accepted", WRITE, b"garbage"),
    Case("create: empty", "create", "transient", "an empty answer", WRITE, b""),
    Case(
        "create: customerInvoiceId a number",
        "create",
        "transient",
        "customerInvoiceId",
        WRITE,
        j({"customerInvoiceId": 7}),
    ),
    Case(
        "create: 200 with a problem body",
        "create",
        "transient",
        "customerInvoiceId",
        WRITE,
        problem({"x": ["Something failed"]}),
    ),
    Case(
        "create: 400 errors a string",
        "create",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"errors": "no"}),
        status=400,
    ),
    Case(
        "create: 400 naming a row",
        "create",
        "permanent",
        "invoiceLines[1].quantity: Too many",
        REFUSED,
        problem({"invoiceLines[1].quantity": ["Too many"]}),
        status=400,
    ),
    Case("create: 403", "create", "permanent", "HTTP 403", AUTH, b"[]", status=403),
    # --- the article read (only the victim orders BOK-01) -----------------------------
    Case(
        "article: 404",
        "article",
        "permanent",
        "article BOK-01 does not exist in Hogia Smart",
        "a missing article must be created in Hogia Smart by a person",
        j([{"errorCode": "NotFound", "message": "No such article"}]),
        status=404,
    ),
    Case("article: garbage", "article", "transient", "not JSON", NOT_JSON, b"}{"),
    Case(
        "article: articleNumber missing",
        "article",
        "permanent",
        "articleNumber",
        SHAPE,
        j({"name": "x"}),
    ),
    Case("article: 500", "article", "transient", "server error 500", SERVER, b"{}", status=500),
    # --- the shared OAuth2 token (the first record meets it) --------------------------
    Case("token: garbage", "token", "transient", "not a token", NOT_JSON, b"<html>"),
    Case(
        "token: invalid_client",
        "token",
        "permanent",
        "client credentials",
        AUTH,
        j({"error": "invalid_client"}),
        status=400,
    ),
    Case(
        "token: access_token empty",
        "token",
        "permanent",
        "access_token",
        SHAPE,
        j({"access_token": "", "expires_in": 3600}),
    ),
    Case("token: 503", "token", "transient", "server error 503", SERVER, b"", status=503),
]


def test_enough_cases_and_every_one_explained() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
    assert all(case.why and case.target in TARGETS for case in CASES)


def _place(env: FlowEnv, victim: int) -> list[str]:
    return [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)] + ([("BOK-01", 1)] if i == victim else []),
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
        for i in range(3)
    ]


async def _killed_mid_send(env: FlowEnv, flow: Any, order_id: str) -> None:
    """The victim as a killed process left it: claimed with its intent, the send's outcome
    unknown; recovered with no settle time left, so the next attempt looks it up first."""
    item = await env.item(order_id)
    reference = document_reference("demo", "se", order_id)
    now = flow.clock.now()
    claimed = await env.store.items.claim_one(
        item.id, now=now, run_id="killed", intent=lambda _: reference
    )
    assert claimed is not None
    assert await env.store.items.recover(connection="demo", run_id=flow.run_id, now=now) == 1


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_hogia_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    index = 0 if case.target in SHARED else 1
    ids = _place(env, victim=index)
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
    for i, order_id in enumerate(ids):
        if i != victim.index:
            assert (await env.item(order_id)).state is ItemState.DONE
            assert env.documents_for(order_id) == 1
    item = await env.item(victim.order_id)
    events = await env.store.events.for_record("demo", "orders", "se", victim.order_id)
    messages = [event.message for event in events]
    assert not any("internal error" in m or "Traceback" in m for m in messages), messages
    if case.outcome == "permanent":
        assert item.state is ItemState.FAILED, f"{item.state}: {item.last_error}"
        assert case.expect in item.last_error, item.last_error
        assert item.attempts == (2 if case.target in RECOVERY else 1)
        assert env.documents_for(victim.order_id) == 0
        assert len(item.last_error) < 2500
        return
    assert item.state is ItemState.DONE, f"{item.state}: {item.last_error}"
    assert env.documents_for(victim.order_id) == 1
    customers = [c for c in env.erp.customers() if c.get("email") == victim.email]
    assert len(customers) == 1, customers
    if case.outcome == "transient":
        retries = [e.message for e in events if e.kind == "retry"]
        assert len(retries) == 1 and case.expect in retries[0], messages
