"""Hostile Specter answers through the real orders flow: one clear error per record, no crash.

Three orders go from the Starweb simulator to the Specter simulator; a rewriter in front of
Specter garbles the answers to one record's requests (its customer search, customer create,
reference lookup, invoice create, or the read of an article only it orders). Specter's API is
modelled (reference/erp-apis.md §3.4: shapes, paging and errors unknown; the guesses are in
``brygga_specter/wire.py``), so the cases garble the modelled shapes. Outcomes as in the
e-conomic corpus:

- ``permanent``: the item is ``failed`` at once with a sentence naming what is wrong.
- ``transient``: the first attempt is ``retry``; the rewrite stops and the retry finishes with
  exactly one document (a garbled answer to a write means it probably happened: the retry
  looks the document up by ExternalOrderNo, §3.4 "externalorderno is the natural dedupe key",
  instead of sending again).
- ``done``: not an error (an over-wide search is filtered to exact matches, §3.4).

The other two records always end ``done`` with exactly one document each.
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

sys.path.append(str(Path(__file__).resolve().parents[1] / "plugins" / "specter"))
from specter_support import install

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
        erp_kind="specter",
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
    "search": lambda v: rf"^GET /customers\?[^\n]*EmailAddress={v.email.split('@')[0]}%40",
    "create customer": lambda v: rf"^POST /customers\n.*\"{v.email}\"",
    "lookup": lambda v: rf"^GET /invoices\?[^\n]*ExternalOrderNo=[^\n&]*se%3A{v.order_id}\b",
    "create": lambda v: rf"^POST /invoices\n.*se:{v.order_id}\"",
    # BOK-01 is on the victim's order only
    "item": lambda v: r"^GET /items/BOK-01\b",
}
#: the reference lookup runs only when an earlier attempt recorded its intent (DESIGN §2.1)
RECOVERY = {"lookup"}


def j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def page(rows: Any, **extra: Any) -> bytes:
    """A modelled list answer (wire assumption 4)."""
    return j({"Data": rows, "Page": 1, "TotalPages": 1, **extra})


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def strangers(body: bytes) -> bytes:
    rows = [{"CustomerId": str(n), "EmailAddress": f"x{n}@example.se"} for n in range(50_000)]
    return page(rows)


def longer_reference(body: bytes) -> bytes:
    """What a "contains" search also returns: a longer reference that contains ours."""
    doc = json.loads(body)
    doc["Data"] = [
        {"InvoiceNo": "99", "ExternalOrderNo": row["ExternalOrderNo"] + "0", "Status": "Booked"}
        for row in doc["Data"]
    ] or [{"InvoiceNo": "99", "ExternalOrderNo": "brygga:demo:se:1", "Status": "Booked"}]
    return j(doc)


def errors(*items: dict[str, str]) -> bytes:
    return j({"Errors": list(items)})


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
        return 1 if self.outcome == "transient" else None


NOT_JSON = "a 2xx that is not JSON: a proxy or maintenance page; a retry can help"
SHAPE = "well-formed JSON of the wrong shape: the API would answer the same again"
WRITE = "the write probably happened; the retry finds it by ExternalOrderNo (no second one)"
AUTH = "the keys or the API user's rights must be fixed by a person"
REFUSED = "Specter refused the request; it will refuse it again"
SERVER = "a server error or rate limit: the client maps it to a TransientError"

CASES: list[Case] = [
    # --- customer search (e-mail first, §3.2) -------------------------------------------
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
        b'{"Data": [{"CustomerId": "5", "EmailAddress": "\xff\xfe"}]}',
    ),
    Case("search: null", "search", "permanent", "got `null`", SHAPE, b"null"),
    Case("search: a list", "search", "permanent", "got `array`", SHAPE, b"[]"),
    Case("search: Data missing", "search", "permanent", "`Data`", SHAPE, j({"Page": 1})),
    Case("search: Data a string", "search", "permanent", "Data", SHAPE, j({"Data": "none"})),
    Case(
        "search: CustomerId a number",
        "search",
        "permanent",
        "CustomerId",
        SHAPE,
        page([{"CustomerId": 5, "EmailAddress": "x@example.se"}]),
    ),
    Case(
        "search: CustomerId empty",
        "search",
        "permanent",
        "CustomerId",
        SHAPE,
        page([{"CustomerId": ""}]),
    ),
    Case(
        "search: CustomerId 1000 characters",
        "search",
        "permanent",
        "CustomerId",
        SHAPE,
        page([{"CustomerId": "9" * 1000}]),
    ),
    Case(
        "search: TotalPages negative",
        "search",
        "permanent",
        "TotalPages",
        SHAPE,
        page([], TotalPages=-1),
    ),
    Case(
        "search: 200 with an error body",
        "search",
        "permanent",
        "`Data`",
        "a 200 carrying an error document is no search result; it must not read as "
        "'nobody found' (that would create a duplicate customer)",
        errors({"Code": "Internal", "Message": "Internal error"}),
    ),
    Case(
        "search: deeply nested",
        "search",
        "permanent",
        "nested too deeply",
        SHAPE,
        ('{"junk": ' + nested(10_000) + ', "Data": []}').encode(),
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
        page([{"CustomerId": "77", "EmailAddress": "stranger@example.se"}], TotalPages=99),
    ),
    Case("search: 401", "search", "permanent", "HTTP 401", AUTH, b"{}", status=401),
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
        "search: 400 Errors nested 900 deep",
        "search",
        "permanent",
        "HTTP 400",
        REFUSED,
        ('{"Errors": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}").encode(),
        status=400,
    ),
    Case(
        "search: 400 with 100 000 errors",
        "search",
        "permanent",
        "and more",
        REFUSED,
        j({"Errors": [{"Message": f"bad {n}"} for n in range(100_000)]}),
        status=400,
    ),
    Case(
        "search: 400 with a 1 MB message",
        "search",
        "permanent",
        "HTTP 400",
        REFUSED,
        errors({"Message": "x" * 1_000_000}),
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
    # --- customer create (Specter matches again on its side, §3.2) ------------------------
    Case("create customer: garbage", "create customer", "transient", "accepted", WRITE, b"!"),
    Case(
        "create customer: CustomerId a number",
        "create customer",
        "transient",
        "CustomerId",
        WRITE,
        j({"CustomerId": 12}),
    ),
    Case(
        "create customer: an empty object",
        "create customer",
        "transient",
        "CustomerId",
        WRITE,
        b"{}",
    ),
    Case(
        "create customer: 400 with a field",
        "create customer",
        "permanent",
        "EmailAddress: Not an e-mail",
        REFUSED,
        errors({"Code": "Invalid", "Message": "Not an e-mail", "Field": "EmailAddress"}),
        status=400,
    ),
    Case(
        "create customer: 400 Errors a list of numbers",
        "create customer",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"Errors": [1, 2, 3]}),
        status=400,
    ),
    # --- the lookup by ExternalOrderNo after a killed send ------------------------------
    Case("lookup: garbage", "lookup", "transient", "not JSON", NOT_JSON, b"?"),
    Case("lookup: HTML", "lookup", "transient", "HTML or XML page", NOT_JSON, b"<html></html>"),
    Case(
        "lookup: ExternalOrderNo a number",
        "lookup",
        "permanent",
        "ExternalOrderNo",
        SHAPE,
        page([{"InvoiceNo": "5", "ExternalOrderNo": 5}]),
    ),
    Case(
        "lookup: InvoiceNo a number",
        "lookup",
        "permanent",
        "InvoiceNo",
        SHAPE,
        page([{"InvoiceNo": 5, "ExternalOrderNo": "x"}]),
    ),
    Case(
        "lookup: a longer reference that contains ours",
        "lookup",
        "done",
        "",
        "the search may match substrings (wire assumption 6); only an exact match counts, so "
        "the order is sent once and not bound to a stranger's invoice",
        longer_reference,
    ),
    Case(
        "lookup: the same page forever",
        "lookup",
        "permanent",
        "same page twice",
        "an API that repeats its pages would repeat them again: stop, never loop",
        page([{"InvoiceNo": "5", "ExternalOrderNo": "x"}], TotalPages=50),
    ),
    # --- invoice create ------------------------------------------------------------------
    Case("create: garbage", "create", "transient", "accepted", WRITE, b"garbage"),
    Case("create: empty", "create", "transient", "an empty answer", WRITE, b""),
    Case(
        "create: InvoiceNo a number",
        "create",
        "transient",
        "InvoiceNo",
        WRITE,
        j({"InvoiceNo": 70001}),
    ),
    Case(
        "create: 200 with an error body",
        "create",
        "transient",
        "InvoiceNo",
        WRITE,
        errors({"Code": "Internal", "Message": "Something failed"}),
    ),
    Case(
        "create: 400 Errors a string",
        "create",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"Errors": "no"}),
        status=400,
    ),
    Case(
        "create: 400 naming a row",
        "create",
        "permanent",
        "Rows[1].Quantity: Too many",
        REFUSED,
        errors({"Code": "Invalid", "Message": "Too many", "Field": "Rows[1].Quantity"}),
        status=400,
    ),
    Case("create: 401", "create", "permanent", "HTTP 401", AUTH, b"", status=401),
    Case("create: 403", "create", "permanent", "HTTP 403", AUTH, b"[]", status=403),
    # --- the article check (§3.2: articles must exist first) ----------------------------
    Case(
        "item: 404",
        "item",
        "permanent",
        "article BOK-01 does not exist in Specter",
        "a missing article must be created in Specter by a person",
        errors({"Code": "NotFound", "Message": "No such item"}),
        status=404,
    ),
    Case("item: garbage", "item", "transient", "not JSON", NOT_JSON, b"}{"),
    Case("item: ItemCode missing", "item", "permanent", "ItemCode", SHAPE, j({"Description": "x"})),
    Case("item: 500", "item", "transient", "server error 500", SERVER, b"{}", status=500),
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
async def test_hostile_specter_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    ids = _place(env, victim=1)
    victim = Victim(1, ids[1], "kund1@example.se")
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
