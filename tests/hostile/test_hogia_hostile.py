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
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from erp_harness import NOT_JSON, SERVER, SHAPE, Case, ErpCorpus, Victim, common_cases, j, nested
from hostile_support import FlowEnv, open_flow

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    async with open_flow(tmp_path, erp_kind="hogia") as opened:
        yield opened


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


def page(rows: Any, **extra: Any) -> bytes:
    """A modelled list answer (wire assumption 2)."""
    return j({"items": rows, "page": 1, "pageSize": 100, "totalItems": len(rows), **extra})


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


WRITE = "the write probably happened; the retry finds it by reference (no second invoice)"
AUTH = "the credentials or the API client's rights must be fixed by a person"
REFUSED = "Hogia refused the request; it will refuse it again"

CASES: list[Case] = [
    # --- contact search ---------------------------------------------------------------
    *common_cases("search", auth=AUTH, refused=REFUSED),
    Case(
        "search: HTML",
        "search",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        b"<html><body>Underhall</body></html>",
        content_type="text/html",
    ),
    Case("search: truncated", "search", "transient", "not JSON", NOT_JSON, lambda b: b[:15]),
    Case(
        "search: invalid UTF-8",
        "search",
        "transient",
        "not JSON",
        NOT_JSON,
        b'{"items": [{"number": "5", "emailAddress": "\xff\xfe"}]}',
    ),
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
    # a 401 to a fresh token, and the token endpoint's invalid_client, hold the whole
    # connection instead of failing one record: tests/plugins/hogia/
    # test_hogia_credentials_rejected.py (and tests/sync/test_credentials_rejected.py)
    Case("search: 400 a string", "search", "permanent", "HTTP 400", REFUSED, b'"x"', status=400),
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
    Case("search: 503 HTML", "search", "transient", "server error 503", SERVER, b"<", status=503),
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
        "token: unsupported_grant_type",
        "token",
        "permanent",
        "check token_url",
        "a token endpoint that refuses the request, not the client, needs a person",
        j({"error": "unsupported_grant_type"}),
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


CORPUS = ErpCorpus(TARGETS, shared=SHARED, recovery=RECOVERY)


def test_enough_cases_and_every_one_explained() -> None:
    CORPUS.check(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_hogia_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    await CORPUS.run(env, case)
