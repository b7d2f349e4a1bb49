"""Hostile e-conomic answers through the real orders flow: one clear error per record, no crash.

Three orders are transferred; a middleware in front of the e-conomic simulator rewrites the
answers to one record's requests (its customer search, customer create, draft create or
reference lookups, or the documented VAT chain of an article only it orders; for the shared,
cached product catalog, the first record's). Each case says how the record must end and why:

- ``permanent``: the item is ``failed`` at once; a retry would get the same answer.
- ``transient``: the first attempt is ``retry`` with the error recorded; the rewrite then
  stops (as a proxy hiccup would) and the retry finishes with exactly one document. Used
  where a retry can help: 5xx/429, a 2xx that is not JSON at all (a proxy or maintenance
  page, a cut-off answer), and any unreadable 2xx answer to a *write*, which probably
  happened; the retry looks the result up by reference instead of writing twice.
- ``done``: not an error (a ``nextPage`` link to another host is never followed, a search
  answer that ignored its filter matches nobody, an enormous catalog is just big).

The other two records always end ``done`` with exactly one document each. No case may end
with an "internal error" (a crash path). None of our adapters speaks XML, so there is no
entity-expansion case; an XML body where JSON is expected is covered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from erp_harness import NOT_JSON, SERVER, SHAPE, Case, ErpCorpus, Victim, common_cases, j, nested
from hostile_support import FlowEnv

pytestmark = pytest.mark.anyio

#: request patterns (``METHOD path?query`` newline body) that belong to one record
TARGETS: dict[str, Callable[[Victim], str]] = {
    "search": lambda v: rf"^GET /customers\?[^\n]*{v.email.split('@')[0]}%40",
    "create customer": lambda v: rf"^POST /customers\n.*\"{v.email}\"",
    "drafts lookup": lambda v: rf"^GET /invoices/drafts\?[^\n]*se%3A{v.order_id}\b",
    "booked lookup": lambda v: rf"^GET /invoices/booked\?[^\n]*se%3A{v.order_id}\b",
    "draft create": lambda v: rf"^POST /invoices/drafts\n.*se:{v.order_id}\"",
    # shared and cached per adapter: the first record to need it meets the rewrite
    "products": lambda v: r"^GET /products\?",
    # the documented VAT chain (e-conomic/slate source/includes/_product-groups.md,
    # _accounts.md, _vat-accounts.md) of BOK-01 (product group 3, account 3003, VAT code U6),
    # which only the victim's order contains
    "sales accounts": lambda v: r"^GET /product-groups/3/sales-accounts\?",
    "account": lambda v: r"^GET /accounts/3003\b",
    "vat account": lambda v: r"^GET /vat-accounts/U6\b",
}
SHARED = {"products"}
#: lookups by reference happen only when an earlier attempt recorded its intent (DESIGN §2.1
#: step 5): for these cases the victim's first send was cut off by a killed process
RECOVERY = {"drafts lookup", "booked lookup"}
#: cases on the VAT chain of an article only the victim orders
CHAIN = {"sales accounts", "account", "vat account"}


def page(collection: Any, **pagination: Any) -> bytes:
    return j({"collection": collection, "pagination": pagination})


def with_next(link: str) -> Callable[[bytes], bytes]:
    """The real page, plus a stranger customer and ``nextPage`` pointing at ``link``."""

    def rewrite(body: bytes) -> bytes:
        doc = json.loads(body)
        doc["collection"].append({"customerNumber": 77, "email": "stranger@example.se"})
        doc["pagination"]["nextPage"] = link
        return j(doc)

    return rewrite


def many_customers(body: bytes) -> bytes:
    rows = [{"customerNumber": n, "email": f"other{n}@example.se"} for n in range(1, 50_001)]
    return page(rows, results=len(rows))


def many_products(body: bytes) -> bytes:
    rows = [{"productNumber": f"BOGUS-{n}", "name": "x"} for n in range(100_000)]
    return page(rows, results=len(rows))


def odd_reference(body: bytes) -> bytes:
    return page([{"bookedInvoiceNumber": 5, "references": {"other": "brygga:demo:se:999"}}])


def validation_400(body: bytes) -> bytes:
    return j(
        {
            "message": "Validation failed.",
            "errors": {
                "lines": [
                    {"arrayIndex": 1, "quantity": {"errors": [{"message": "Too many"}]}},
                ]
            },
        }
    )


WRITE = "the write probably happened; the retry finds it by reference (no second document)"
AUTH = "the tokens or the app's role must be fixed by a person"
REFUSED = "e-conomic refused the request; it will refuse it again"
NO_RATE = (
    "a broken link of the documented VAT chain means no VAT rate: no document is made with "
    "a guessed rate, and the fix is in e-conomic (read again before the record fails)"
)

CASES: list[Case] = [
    # --- customer search -----------------------------------------------------------------
    *common_cases("search", auth=AUTH, refused=REFUSED),
    Case(
        "search: HTML",
        "search",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        b"<html><body>Maintenance</body></html>",
        content_type="text/html",
    ),
    Case("search: truncated", "search", "transient", "not JSON", NOT_JSON, lambda b: b[:20]),
    Case(
        "search: invalid UTF-8",
        "search",
        "transient",
        "not JSON",
        NOT_JSON,
        b'{"collection": [{"customerNumber": 5, "email": "\xff\xfe"}]}',
    ),
    Case(
        "search: collection missing",
        "search",
        "permanent",
        "`collection`",
        SHAPE,
        j({"pagination": {"results": 0}}),
    ),
    Case(
        "search: collection a string",
        "search",
        "permanent",
        "collection`",
        SHAPE,
        j({"collection": "none"}),
    ),
    Case(
        "search: customerNumber a string",
        "search",
        "permanent",
        "customerNumber",
        SHAPE,
        page([{"customerNumber": "abc", "email": "x@example.se"}]),
    ),
    Case(
        "search: customerNumber 0",
        "search",
        "permanent",
        "customerNumber",
        SHAPE,
        page([{"customerNumber": 0}]),
    ),
    Case(
        "search: customerNumber huge",
        "search",
        "permanent",
        "customerNumber",
        SHAPE,
        page([{"customerNumber": 10**20}]),
    ),
    Case(
        "search: 200 with an error body",
        "search",
        "permanent",
        "it said: Internal error",
        "a 200 carrying an error document is not a search result; it must not read as "
        "'nobody found' (that would create a duplicate customer)",
        j({"message": "Internal error", "errorCode": "E00500"}),
    ),
    Case(
        "search: deeply nested",
        "search",
        "permanent",
        "nested too deeply",
        SHAPE,
        ('{"junk": ' + nested(10_000) + ', "collection": []}').encode(),
    ),
    Case(
        "search: 50 000 strangers (filter ignored)",
        "search",
        "done",
        "",
        "only rows whose e-mail really matches count, so the order gets its own customer",
        many_customers,
    ),
    Case(
        "search: nextPage on another host",
        "search",
        "done",
        "",
        "nextPage links are never followed; the next page is asked of the base URL",
        with_next("http://evil.test/customers?skippages=1&pagesize=100"),
        times=1,
    ),
    Case(
        "search: nextPage loop",
        "search",
        "permanent",
        "same page twice",
        "an API that repeats its pages would repeat them again: stop, never loop",
        page(
            [{"customerNumber": 77, "email": "stranger@example.se"}],
            nextPage="http://erp.test/customers?skippages=0&pagesize=100",
        ),
    ),
    # a 401 (refused tokens) holds the whole connection instead of failing one record:
    # tests/sync/test_credentials_rejected.py and tests/plugins/economic
    Case("search: 400 a string", "search", "permanent", "HTTP 400", REFUSED, b'"bad"', status=400),
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
        "search: 400 with 100 000 errors",
        "search",
        "permanent",
        "and more",
        REFUSED,
        j({"errors": {"errors": [{"message": f"bad {n}"} for n in range(100_000)]}}),
        status=400,
    ),
    Case(
        "search: 400 with a 1 MB message",
        "search",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"message": "x" * 1_000_000}),
        status=400,
    ),
    Case("search: 503 HTML", "search", "transient", "server error 503", SERVER, b"<h", status=503),
    # --- customer create -----------------------------------------------------------------
    Case("create customer: garbage", "create customer", "transient", "accepted", WRITE, b"!"),
    Case(
        "create customer: customerNumber a string",
        "create customer",
        "transient",
        "customerNumber",
        WRITE,
        j({"customerNumber": "abc"}),
    ),
    Case(
        "create customer: 400 annotated",
        "create customer",
        "permanent",
        "email: Not an e-mail",
        REFUSED,
        j({"errors": {"email": {"errors": [{"message": "Not an e-mail"}]}}}),
        status=400,
    ),
    Case(
        "create customer: 400 errors a list of numbers",
        "create customer",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"errors": [1, 2, 3]}),
        status=400,
    ),
    # --- reference lookups before the create ---------------------------------------------
    Case("drafts lookup: garbage", "drafts lookup", "transient", "not JSON", NOT_JSON, b"?"),
    Case(
        "booked lookup: HTML",
        "booked lookup",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        b"<html></html>",
    ),
    Case(
        "booked lookup: references.other a number",
        "booked lookup",
        "permanent",
        "references",
        SHAPE,
        page([{"bookedInvoiceNumber": 5, "references": {"other": 5}}]),
    ),
    Case(
        "booked lookup: bookedInvoiceNumber a string",
        "booked lookup",
        "permanent",
        "bookedInvoiceNumber",
        SHAPE,
        page([{"bookedInvoiceNumber": "x", "references": {"other": "x"}}]),
    ),
    Case(
        "booked lookup: another reference (filter ignored)",
        "booked lookup",
        "done",
        "",
        "only an exact reference match counts",
        odd_reference,
    ),
    Case(
        "booked lookup: nextPage loop",
        "booked lookup",
        "permanent",
        "same page twice",
        "an API that repeats its pages would repeat them again: stop, never loop",
        page(
            [{"bookedInvoiceNumber": 5, "references": {"other": "x"}}],
            nextPage="http://erp.test/invoices/booked?skippages=0",
        ),
    ),
    # --- draft create --------------------------------------------------------------------
    Case("draft create: garbage", "draft create", "transient", "accepted", WRITE, b"garbage"),
    Case("draft create: empty", "draft create", "transient", "an empty answer", WRITE, b""),
    Case(
        "draft create: draftInvoiceNumber a string",
        "draft create",
        "transient",
        "draftInvoiceNumber",
        WRITE,
        j({"draftInvoiceNumber": "abc"}),
    ),
    Case(
        "draft create: draftInvoiceNumber -1",
        "draft create",
        "transient",
        "draftInvoiceNumber",
        WRITE,
        j({"draftInvoiceNumber": -1}),
    ),
    Case(
        "draft create: 200 with an error body",
        "draft create",
        "transient",
        "draftInvoiceNumber",
        WRITE,
        j({"message": "Validation failed", "errorCode": "E04500"}),
    ),
    Case(
        "draft create: 400 errors a string",
        "draft create",
        "permanent",
        "HTTP 400",
        REFUSED,
        j({"errors": "no"}),
        status=400,
    ),
    Case(
        "draft create: 400 annotated rows",
        "draft create",
        "permanent",
        "row 2 quantity: Too many",
        REFUSED,
        validation_400,
        status=400,
    ),
    Case("draft create: 403", "draft create", "permanent", "HTTP 403", AUTH, b"[]", status=403),
    # --- the shared catalog (the first record meets it) ---------------------------------
    Case("products: garbage", "products", "transient", "not JSON", NOT_JSON, b"\x00\x01"),
    Case(
        "products: collection missing",
        "products",
        "permanent",
        "`collection`",
        SHAPE,
        j({"pagination": {}}),
    ),
    Case(
        "products: salesPrice NaN",
        "products",
        "permanent",
        "salesPrice",
        SHAPE,
        page([{"productNumber": "X", "salesPrice": "NaN"}]),
    ),
    Case(
        "products: 100 000 strangers",
        "products",
        "done",
        "",
        "an article missing from the list is looked up by number before it counts as unknown",
        many_products,
    ),
    # --- the VAT chain (only the victim's BOK-01 row uses this path) ----------------------
    Case(
        "sales accounts: HTML",
        "sales accounts",
        "transient",
        "HTML or XML page",
        NOT_JSON,
        b"<html>",
    ),
    Case(
        "sales accounts: collection missing",
        "sales accounts",
        "permanent",
        "`collection`",
        SHAPE,
        j({"pagination": {}}),
    ),
    Case(
        "sales accounts: accountNumber a string",
        "sales accounts",
        "permanent",
        "accountNumber",
        SHAPE,
        page([{"account": {"accountNumber": "x"}, "salesVatZone": {"vatZoneNumber": 1}}]),
    ),
    Case(
        "sales accounts: 404",
        "sales accounts",
        "permanent",
        "product group 3 does not exist",
        NO_RATE,
        b"{}",
        status=404,
    ),
    Case(
        "sales accounts: none for the zone",
        "sales accounts",
        "permanent",
        "no sales account for VAT zone 1",
        NO_RATE,
        page([{"account": {"accountNumber": 3108}, "salesVatZone": {"vatZoneNumber": 2}}]),
    ),
    Case(
        "account: without vatAccount",
        "account",
        "permanent",
        "3003 has no VAT code",
        NO_RATE,
        j({"accountNumber": 3003, "name": "Försäljning"}),
    ),
    Case("account: 404", "account", "permanent", "3003 does not exist", NO_RATE, b"", status=404),
    Case(
        "account: vatCode a number",
        "account",
        "permanent",
        "vatCode",
        SHAPE,
        j({"accountNumber": 3003, "vatAccount": {"vatCode": 6}}),
    ),
    Case("account: 500", "account", "transient", "server error 500", SERVER, b"{}", status=500),
    Case("vat account: garbage", "vat account", "transient", "not JSON", NOT_JSON, b"}{"),
    Case(
        "vat account: ratePercentage sNaN",
        "vat account",
        "permanent",
        "ratePercentage",
        SHAPE,
        j({"vatCode": "U6", "ratePercentage": "sNaN"}),
    ),
    Case(
        "vat account: 404",
        "vat account",
        "permanent",
        "VAT code U6 of its sales account 3003 does not exist",
        NO_RATE,
        b"{}",
        status=404,
    ),
]


CORPUS = ErpCorpus(TARGETS, shared=SHARED, recovery=RECOVERY, book_for=CHAIN)


def test_enough_cases_and_every_one_explained() -> None:
    CORPUS.check(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_hostile_erp_answer_fails_one_record(env: FlowEnv, case: Case) -> None:
    await CORPUS.run(env, case)
