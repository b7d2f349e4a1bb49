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

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from erp_harness import NOT_JSON, Case, ErpCorpus, Victim, j, nested
from hostile_support import FlowEnv, open_flow

from brygga.clock import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    async with open_flow(
        tmp_path,
        erp_kind="fortnox",
        # rate-limit waits move this clock instead of sleeping; a minute ahead of the shop, whose
        # orders must be in the past of the poll window
        clock=FakeClock(datetime.now(UTC) + timedelta(minutes=1)),
        # the documented 25/5 s window is tested in tests/plugins/fortnox; here answers
        erp_options={"rate_limit": None},
    ) as opened:
        yield opened


TARGETS: dict[str, Callable[[Victim], str]] = {
    "search": lambda v: rf"^GET /3/customers\?[^\n]*email=kund{v.index}%40",
    "create customer": lambda v: rf"^POST /3/customers\n.*\"{v.email}\"",
    "invoice create": lambda v: rf"^POST /3/invoices\n.*se:{v.order_id}\"",
    "invoice lookup": lambda v: rf"^GET /3/invoices\?[^\n]*se%3A{v.order_id}\b",
    "article": lambda v: r"^GET /3/articles/BOK-01\b",
}
#: lookups by reference happen only after an earlier attempt recorded its intent
RECOVERY = {"invoice lookup"}


def error(code: int, message: str) -> bytes:
    return j({"ErrorInformation": {"error": 1, "message": message, "code": code}})


def customers(rows: list[dict[str, Any]], **meta: Any) -> bytes:
    info = {"@TotalResources": len(rows), "@TotalPages": 1, "@CurrentPage": 1, **meta}
    return j({"Customers": rows, "MetaInformation": info})


def invoices(rows: list[dict[str, Any]], **meta: Any) -> bytes:
    info = {"@TotalResources": len(rows), "@TotalPages": 1, "@CurrentPage": 1, **meta}
    return j({"Invoices": rows, "MetaInformation": info})


SHAPE = "well-formed JSON of the wrong shape: Fortnox would answer the same again"
WRITE = "the write probably happened; the retry finds it by reference (no second document)"
REFUSED = "Fortnox refused the request with its error document; it will refuse it again"
SERVER = "a server error or 429: the client maps it to a TransientError"
EXACT = "the search matches substrings (reference §2.3); only an exact match counts"
HTML = b"<html><body>Underhall</body></html>"

CASES: list[Case] = [
    # --- customer search (GET /3/customers?email=) --------------------------------------
    # (a case that ends done rewrites one answer: times=1)
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
    # one 429 is sent again in place by the HTTP layer (RFC 6585 §4: not processed); only one
    # that outlasts those repeats (4) reaches the record as a retry
    Case(
        "search: 429",
        "search",
        "transient",
        "rate limited",
        SERVER,
        error(2000429, "För många anrop."),
        status=429,
        times=4,
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
    Case(
        "search: deep nesting",
        "search",
        "permanent",
        "unexpected answer",
        SHAPE,
        nested(5000).encode(),
    ),
    Case(
        "search: substring stranger",
        "search",
        "done",
        "",
        EXACT,
        customers([{"CustomerNumber": "77", "Email": "xkund1@example.se.evil"}]),
        times=1,
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
        times=1,
    ),
    Case(
        "search: 401 once",
        "search",
        "done",
        "",
        "a 401 gets one new token and one retry",
        error(2000311, "Kan inte logga in"),
        status=401,
        times=1,
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
    Case(
        "invoice: 429",
        "invoice create",
        "transient",
        "rate limited",
        SERVER,
        b"{}",
        status=429,
        times=4,
    ),
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
        times=1,
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


CORPUS = ErpCorpus(
    TARGETS, recovery=RECOVERY, email_key="Email", secrets=("sim-fortnox-client-secret",)
)


def test_enough_cases_and_every_one_explained() -> None:
    CORPUS.check(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_fortnox_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    await CORPUS.run(env, case)
