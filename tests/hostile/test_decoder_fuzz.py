"""Fuzzed wire decoders: arbitrary or mutated payloads decode or raise the adapter's typed error.

Starweb: order JSON → OrderWire → canonical Order → ERP document (the flow's own steps), the
order list, statuses, tokens, external services and error bodies. e-conomic: every collection
and document the adapter reads, error documents, and paging over fuzzed pages. Anything but
PermanentError (TransientError where the adapter chooses so) is a crash path and fails here.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import anyio
import httpx
import msgspec
import pytest
from fuzz_support import ENCODER, FUZZ, bodies, encode, json_values, mutated, numbers
from hypothesis import given
from hypothesis import strategies as st

from brygga.config import FeeArticles
from brygga.errors import PermanentError, TransientError
from brygga.http.client import HttpContext, RemoteClient
from brygga.models import DocumentType
from brygga.sync.order_document import build_document
from brygga_economic import wire as eco
from brygga_economic.api import EconomicApi, describe_errors
from brygga_starweb.mapping import map_order
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.orders import ORDER_INCLUDES
from brygga_starweb.wire import (
    UnreadableRow,
    decode_error,
    decode_external_service,
    decode_order,
    decode_order_page,
    decode_statuses,
    decode_token,
)

# --- Starweb ---------------------------------------------------------------------------------


def _starweb_order() -> dict[str, Any]:
    sim = StarwebSimulator(seed=2)
    order_id = sim.place_order(
        lines=[("KAFFE-500", 2), ("TE-100", 1)],
        email="kund@example.se",
        freight=Decimal("49"),
        discount_percent=Decimal("10"),
        order_discount=Decimal("20"),
        org_number="556677-8899",
        company="Kaffebolaget AB",
    )
    wire = sim.order(order_id).wire(sim.state, ORDER_INCLUDES)
    return cast(dict[str, Any], msgspec.json.decode(ENCODER.encode({"data": wire})))


ORDER = _starweb_order()
ORDER_ID = str(ORDER["data"]["orderId"])
ORDER_PAGE = {
    "data": [
        {k: v for k, v in ORDER["data"].items() if k not in ("items", "addresses", "customer")},
        {"orderId": 7, "modifiedAt": "2026-02-02T10:00:00+01:00", "statusId": 1},
    ],
    "meta": {
        "pagination": {
            "current_page": 1,
            "per_page": 100,
            "total": 2,
            "count": 2,
            "total_pages": 1,
        }
    },
}
STATUSES = {
    "data": [{"statusId": 1, "idCode": "created", "languages": [{"langCode": "sv"}]}],
    "meta": ORDER_PAGE["meta"],
}


def _order_to_document(body: bytes) -> None:
    """The flow's steps for one fetched order; PermanentError is the only way out."""
    try:
        wire = decode_order(body, ORDER_ID)
        order = map_order(wire, "created")
        build_document(
            order,
            reference=f"brygga:demo:se:{ORDER_ID}",
            document_type=DocumentType.INVOICE,
            customer_number="1",
            fee_articles=FeeArticles(),
        )
    except PermanentError as exc:
        assert str(exc)


def test_the_valid_order_maps() -> None:
    _order_to_document(ENCODER.encode(ORDER))
    map_order(decode_order(ENCODER.encode(ORDER), ORDER_ID), "created")


@FUZZ
@given(bodies(ORDER))
def test_starweb_order_decodes_or_raises_permanent(body: bytes) -> None:
    _order_to_document(body)


@FUZZ
@given(mutated(ORDER["data"]["items"]["data"][0]))
def test_starweb_item_mutations_decode_or_raise_permanent(item: Any) -> None:
    doc = copy.deepcopy(ORDER)
    doc["data"]["items"]["data"][0] = item
    _order_to_document(encode(doc))


ITEM_NUMBERS = ["quantity", "unitPrice", "vatRate", "discount"]
ORDER_NUMBERS = [
    "totalAmount",
    "totalVat",
    "amountToPay",
    "amountPaid",
    "shippingCost",
    "shippingVatRate",
    "paymentFee",
    "paymentVatRate",
]


@FUZZ
@given(
    field=st.sampled_from(ITEM_NUMBERS + ORDER_NUMBERS),
    value=numbers,
    kind=st.sampled_from(["percent", "amount", None]),
)
def test_starweb_numbers_decode_or_raise_permanent(field: str, value: Any, kind: Any) -> None:
    doc = copy.deepcopy(ORDER)
    item = doc["data"]["items"]["data"][0]
    item["discountType"] = kind
    if field in ITEM_NUMBERS:
        item[field] = value
    else:
        doc["data"][field] = value
    _order_to_document(encode(doc))


@FUZZ
@given(bodies(ORDER_PAGE))
def test_starweb_order_page_decodes_or_raises_permanent(body: bytes) -> None:
    unreadable: list[UnreadableRow] = []
    try:
        rows, _ = decode_order_page(body, 1, unreadable)
    except PermanentError:
        return
    for row in unreadable:
        assert row.message and (row.order_id is None or row.order_id > 0)
    assert all(row.modified_at.tzinfo is not None for row in rows)
    # without a list for them, a bad row is the page's PermanentError (the old contract)
    with pytest.raises(PermanentError) if unreadable else contextlib.nullcontext():
        decode_order_page(body, 1)


@FUZZ
@given(
    bodies(STATUSES),
    bodies({"access_token": "x", "expires_in": 3600}),
    bodies({"data": {"serviceName": "brygga", "externalIdValue": "5", "readOnly": False}}),
    bodies({"error": "invalid_client", "error_description": "no"}),
)
def test_starweb_small_decoders(status: bytes, token: bytes, service: bytes, error: bytes) -> None:
    checks: list[tuple[Callable[[bytes], object], bytes]] = [
        (decode_statuses, status),
        (decode_token, token),
        (lambda b: decode_external_service(b, "Starweb order 1: external service"), service),
    ]
    for decode, body in checks:
        with contextlib.suppress(PermanentError):
            decode(body)
    found = decode_error(error)  # never raises
    assert isinstance(found.error, str)


# --- e-conomic -------------------------------------------------------------------------------

API = EconomicApi(cast(RemoteClient, None), ("app-secret", "grant-token"))

PAGINATION = {"skipPages": 0, "pageSize": 100, "results": 1, "nextPage": "http://erp.test/x"}
PAGES: dict[str, tuple[type[Any], Any]] = {
    "customers": (
        eco.Page[eco.CustomerOut],
        {
            "collection": [
                {
                    "customerNumber": 1,
                    "name": "A",
                    "email": "a@example.se",
                    "corporateIdentificationNumber": "556677-8899",
                }
            ],
            "pagination": PAGINATION,
        },
    ),
    "products": (
        eco.Page[eco.Product],
        {
            "collection": [
                {
                    "productNumber": "KAFFE-500",
                    "name": "Kaffe",
                    "salesPrice": 89.5,
                    "barred": False,
                    "productGroup": {"productGroupNumber": 1},
                }
            ],
            "pagination": PAGINATION,
        },
    ),
    "sales accounts": (
        eco.Page[eco.SalesAccount],
        {
            "collection": [
                {"account": {"accountNumber": 3001}, "salesVatZone": {"vatZoneNumber": 1}}
            ],
            "pagination": PAGINATION,
        },
    ),
    "accounts": (
        eco.Page[eco.Account],
        {
            "collection": [{"accountNumber": 3001, "vatAccount": {"vatCode": "U25"}}],
            "pagination": PAGINATION,
        },
    ),
    "vat": (
        eco.Page[eco.VatAccount],
        {
            "collection": [{"vatCode": "U25", "name": "Moms", "ratePercentage": 25}],
            "pagination": PAGINATION,
        },
    ),
    "drafts": (
        eco.Page[eco.DraftInvoice],
        {
            "collection": [{"draftInvoiceNumber": 5, "references": {"other": "brygga:a:b:1"}}],
            "pagination": PAGINATION,
        },
    ),
    "booked": (
        eco.Page[eco.BookedInvoice],
        {
            "collection": [{"bookedInvoiceNumber": 10001, "references": {"other": "r"}}],
            "pagination": PAGINATION,
        },
    ),
    "orders": (
        eco.Page[eco.Order],
        {"collection": [{"orderNumber": 3, "references": {"other": "r"}}]},
    ),
    "draft": (eco.DraftInvoice, {"draftInvoiceNumber": 5, "references": {"other": "r"}}),
    "customer": (eco.CustomerOut, {"customerNumber": 12, "name": "B"}),
    "product": (eco.Product, {"productNumber": "X", "salesPrice": 1}),
}
ERROR_DOC = {
    "message": "Validation failed.",
    "developerHint": "Inspect errors",
    "errorCode": "E04500",
    "logId": "abc",
    "errors": {
        "lines": [
            {
                "arrayIndex": 1,
                "quantity": {"errors": [{"message": "Too many", "errorCode": "E1", "value": 9}]},
            }
        ],
        "customer": {"errors": [{"message": "Unknown", "value": "app-secret"}]},
    },
}


def _response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("kind", sorted(PAGES))
@FUZZ
@given(data=st.data(), status=st.sampled_from([200, 201, 204, 299]), write=st.booleans())
def test_economic_answers_decode_or_raise_typed(
    kind: str, data: st.DataObject, status: int, write: bool
) -> None:
    type_, base = PAGES[kind]
    body = data.draw(bodies(base))
    try:
        _use_numbers(API.decode(_response(status, body), type_, f"the {kind}", write=write))
    except PermanentError as exc:
        assert not write, "an unreadable answer to a write must be transient"
        assert "app-secret" not in str(exc) and "grant-token" not in str(exc)
    except TransientError as exc:
        assert "app-secret" not in str(exc) and "grant-token" not in str(exc)
    with contextlib.suppress(PermanentError, TransientError):
        API.decode_any(_response(status, body), f"the {kind}")


def _use_numbers(value: Any) -> None:
    """Compare every Decimal the way the adapter does (a signalling NaN raises here)."""
    if isinstance(value, Decimal):
        assert value == value or value.is_nan()
        assert value != Decimal(25) or value.is_finite()
    elif isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            _use_numbers(getattr(value, field))
    elif isinstance(value, list | tuple):
        for item in value:
            _use_numbers(item)


@FUZZ
@given(
    kind=st.sampled_from(["products", "vat"]),
    field=st.sampled_from(["salesPrice", "ratePercentage"]),
    value=numbers,
)
def test_economic_numbers_decode_or_raise_permanent(kind: str, field: str, value: Any) -> None:
    type_, base = PAGES[kind]
    doc = copy.deepcopy(base)
    doc["collection"][0][field] = value
    try:
        decoded = API.decode(_response(200, encode(doc)), type_, f"the {kind}")
    except (PermanentError, TransientError):
        return
    _use_numbers(decoded)


@FUZZ
@given(body=bodies(ERROR_DOC), status=st.integers(300, 499))
def test_economic_error_documents_become_one_short_sentence(body: bytes, status: int) -> None:
    error = API.fail(_response(status, body), "the invoice for order 7")
    text = str(error)
    assert isinstance(error, PermanentError)
    assert f"HTTP {status}" in text and len(text) <= 2000
    assert "app-secret" not in text


@FUZZ
@given(mutated(ERROR_DOC["errors"]) | json_values)
def test_describe_errors_never_raises(errors: Any) -> None:
    assert all(isinstance(line, str) for line in describe_errors(errors))


def _deep(depth: int) -> Any:
    node: Any = {"errors": [{"message": "deep"}]}
    for _ in range(depth):
        node = {"a": node}
    return node


def test_describe_errors_on_a_document_deeper_than_the_stack() -> None:
    assert describe_errors(_deep(5_000)) == []


@st.composite
def page_sequences(draw: st.DrawFn) -> list[bytes]:
    _, base = PAGES["customers"]
    return draw(st.lists(bodies(base), min_size=1, max_size=4))


@FUZZ
@given(pages=page_sequences())
def test_economic_paging_over_fuzzed_pages_ends(pages: list[bytes]) -> None:
    """Paging ends (the last page repeats forever) with items or a typed error."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return _response(200, pages[min(len(requests), len(pages)) - 1])

    async def walk() -> None:
        client = RemoteClient(
            system="economic",
            base_url="http://erp.test",
            context=HttpContext(transport=httpx.MockTransport(answer)),
            account="fuzz",
        )
        api = EconomicApi(client, ())
        try:
            async for item in api.pages("customers", eco.CustomerOut, "the customers"):
                assert item.customer_number >= 1
        except (PermanentError, TransientError):
            pass
        finally:
            await client.aclose()

    anyio.run(walk)
    assert len(requests) <= len(pages) + 1
    assert all(r.url.host == "erp.test" for r in requests)
