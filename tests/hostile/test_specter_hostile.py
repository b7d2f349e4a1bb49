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
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from erp_harness import NOT_JSON, SERVER, SHAPE, Case, ErpCorpus, Victim, common_cases, j, nested
from hostile_support import FlowEnv, open_flow

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    async with open_flow(tmp_path, erp_kind="specter") as opened:
        yield opened


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


def page(rows: Any, **extra: Any) -> bytes:
    """A modelled list answer (wire assumption 4)."""
    return j({"Data": rows, "Page": 1, "TotalPages": 1, **extra})


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


WRITE = "the write probably happened; the retry finds it by ExternalOrderNo (no second one)"
AUTH = "the keys or the API user's rights must be fixed by a person"
REFUSED = "Specter refused the request; it will refuse it again"

CASES: list[Case] = [
    # --- customer search (e-mail first, §3.2) -------------------------------------------
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
        b'{"Data": [{"CustomerId": "5", "EmailAddress": "\xff\xfe"}]}',
    ),
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
    # a 401 (the keys refused) holds the whole connection instead of failing one record:
    # tests/plugins/specter/test_specter_credentials_rejected.py
    Case("search: 400 a string", "search", "permanent", "HTTP 400", REFUSED, b'"x"', status=400),
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
    Case("search: 503 HTML", "search", "transient", "server error 503", SERVER, b"<", status=503),
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


CORPUS = ErpCorpus(TARGETS, recovery=RECOVERY)


def test_enough_cases_and_every_one_explained() -> None:
    CORPUS.check(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_specter_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    await CORPUS.run(env, case)
