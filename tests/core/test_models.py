"""Canonical models: JSON round trips keep every Decimal exactly; bad data is refused by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brygga.models import (
    Address,
    Customer,
    CustomerKind,
    DocumentRef,
    DocumentType,
    LineKind,
    Order,
    OrderChange,
    OrderLine,
    decode,
    encode,
)

# -- strategies ---------------------------------------------------------------------------

text = st.text(max_size=20)
non_empty = st.text(min_size=1, max_size=20)
currencies = st.sampled_from(["SEK", "NOK", "DKK", "EUR", "ISK"])
#: amounts as shops and ERPs write them: up to 4 places, including odd exponents and -0
amounts = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
) | st.sampled_from([Decimal("0.10"), Decimal("1E+2"), Decimal("-0"), Decimal("100.000")])
non_negative = st.decimals(
    min_value=Decimal(0), max_value=Decimal("100000"), places=2, allow_nan=False
)
vat_rates = st.sampled_from([Decimal(25), Decimal(12), Decimal(6), Decimal(0)]) | st.decimals(
    min_value=Decimal(0), max_value=Decimal(100), places=2, allow_nan=False
)
aware = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
)

addresses = st.builds(
    Address,
    name=text,
    company=text,
    street=text,
    street2=text,
    postal_code=text,
    city=text,
    country_code=st.sampled_from(["", "SE", "NO", "DK", "FI"]),
    phone=text,
)
customers = st.builds(
    Customer,
    shop_customer_id=st.none() | non_empty,
    kind=st.sampled_from(CustomerKind),
    email=text,
    name=text,
    org_number=text,
    vat_number=text,
    customer_number=text,
    billing=addresses,
    shipping=st.none() | addresses,
)
order_lines = st.builds(
    OrderLine,
    kind=st.sampled_from(LineKind),
    sku=text,
    name=text,
    quantity=amounts,
    unit_price=amounts,
    vat_rate=vat_rates,
    discount=non_negative,
)
orders = st.builds(
    Order,
    shop_order_id=non_empty,
    number=text,
    created_at=aware,
    modified_at=aware,
    status=text,
    currency=currencies,
    customer=customers,
    lines=st.lists(order_lines, max_size=5).map(tuple),
    total=amounts,
    total_vat=amounts,
    paid=st.booleans(),
    note=text,
    extra=st.dictionaries(text, text, max_size=3),
)
order_changes = st.builds(OrderChange, shop_order_id=non_empty, modified_at=aware, status=text)
document_refs = st.builds(
    DocumentRef,
    document_type=st.sampled_from(DocumentType),
    number=text,
    reference=text,
    booked=st.booleans(),
)


def _decimals(obj: Any) -> list[str]:
    """Every Decimal in a canonical object, as text, in a stable walk order."""
    found: list[str] = []
    if isinstance(obj, Decimal):
        found.append(str(obj))
    elif isinstance(obj, msgspec.Struct):
        for name in obj.__struct_fields__:
            found += _decimals(getattr(obj, name))
    elif isinstance(obj, tuple | list):
        for item in obj:
            found += _decimals(item)
    return found


def _json_strings(value: Any) -> list[str]:
    """Every string in a decoded JSON document, in the same walk order as the struct fields."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def _round_trip(obj: msgspec.Struct) -> None:
    data = encode(obj)
    back = decode(data, type(obj))
    assert back == obj
    # equal is not enough for Decimal (1.0 == 1.00): the text must survive too
    assert _decimals(back) == _decimals(obj)
    # and on the wire every amount is a JSON string, never a float
    assert not any(isinstance(v, float) for v in _json_numbers(json.loads(data)))
    strings = _json_strings(json.loads(data))
    for amount in _decimals(obj):
        assert amount in strings


def _json_numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _json_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _json_numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


# -- round trips ----------------------------------------------------------------------------


@settings(deadline=None)
@given(orders)
def test_order_round_trips(order: Order) -> None:
    _round_trip(order)


@settings(deadline=None)
@given(customers)
def test_customer_round_trips(customer: Customer) -> None:
    _round_trip(customer)


@settings(deadline=None)
@given(addresses)
def test_address_round_trips(address: Address) -> None:
    _round_trip(address)


@settings(deadline=None)
@given(order_changes)
def test_order_change_round_trips(change: OrderChange) -> None:
    _round_trip(change)


@settings(deadline=None)
@given(document_refs)
def test_document_ref_round_trips(ref: DocumentRef) -> None:
    _round_trip(ref)


def test_decimals_are_strings_on_the_wire() -> None:
    line = OrderLine(quantity=Decimal(1), unit_price=Decimal("199.90"), vat_rate=Decimal(25))
    assert json.loads(encode(line))["unit_price"] == "199.90"
    assert str(decode(encode(line), OrderLine).unit_price) == "199.90"


def test_decoded_times_are_aware() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    change = OrderChange(shop_order_id="1", modified_at=when, status="paid")
    back = decode(encode(change), OrderChange)
    assert back.modified_at.utcoffset() == timedelta(0)
    assert back.modified_at == when


# -- rejections ----------------------------------------------------------------------------------


def _order_json(**changes: Any) -> dict[str, Any]:
    line = {"sku": "A1", "quantity": "1", "unit_price": "100", "vat_rate": "25"}
    line.update(changes.pop("line", {}))
    order: dict[str, Any] = {
        "shop_order_id": "1001",
        "created_at": "2024-05-01T10:00:00Z",
        "modified_at": "2024-05-01T10:00:00Z",
        "status": "paid",
        "currency": "SEK",
        "customer": {"email": "a@example.se"},
        "lines": [line],
        "total": "125",
        "total_vat": "25",
    }
    order.update(changes)
    return order


def _rejected(data: dict[str, Any], type_: type[Any] = Order) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        decode(json.dumps(data), type_)
    return str(info.value)


def test_valid_order_json_decodes() -> None:
    order = decode(json.dumps(_order_json()), Order)
    assert order.lines[0].net_amount == Decimal(100)


def test_naive_datetime_is_rejected_naming_the_field() -> None:
    message = _rejected(_order_json(created_at="2024-05-01T10:00:00"))
    assert "timezone" in message
    assert "$.created_at" in message


@pytest.mark.parametrize("rate", ["125", "-1", "100.01"])
def test_out_of_range_vat_is_rejected_naming_the_field(rate: str) -> None:
    message = _rejected(_order_json(line={"vat_rate": rate}))
    assert "vat_rate" in message
    assert "$.lines[0]" in message
    assert rate in message


def test_vat_of_100_and_0_are_allowed() -> None:
    for rate in ("0", "100"):
        assert decode(json.dumps(_order_json(line={"vat_rate": rate})), Order)


def test_negative_discount_is_rejected_naming_the_field() -> None:
    message = _rejected(_order_json(line={"discount": "-5"}))
    assert "discount" in message
    assert "$.lines[0]" in message


def test_unknown_fields_are_rejected_naming_the_field() -> None:
    assert "`totl`" in _rejected(_order_json(totl="125"))
    nested = _rejected(_order_json(line={"colour": "red"}))
    assert "`colour`" in nested
    assert "$.lines[0]" in nested


@pytest.mark.parametrize("currency", ["sek", "SEKR", "S1K", ""])
def test_bad_currency_codes_are_rejected_naming_the_field(currency: str) -> None:
    assert "$.currency" in _rejected(_order_json(currency=currency))


def test_bad_country_code_is_rejected_naming_the_field() -> None:
    message = _rejected(_order_json(customer={"billing": {"country_code": "Sweden"}}))
    assert "$.customer.billing.country_code" in message


def test_empty_identifiers_are_rejected() -> None:
    assert "$.shop_order_id" in _rejected(_order_json(shop_order_id=""))
    change = {"shop_order_id": "", "modified_at": "2024-05-01T10:00:00Z", "status": "paid"}
    assert "$.shop_order_id" in _rejected(change, OrderChange)


def test_json_numbers_keep_their_text() -> None:
    """A vendor's ``1.10`` becomes Decimal("1.10"), not the float nearest to it."""
    line = '{"quantity": 1, "unit_price": %s, "vat_rate": 25}'
    assert str(decode(line % "1.10", OrderLine).unit_price) == "1.10"
    assert decode(line % "0.1", OrderLine).unit_price == Decimal("0.1")


def test_models_are_frozen() -> None:
    change = OrderChange(shop_order_id="1", modified_at=datetime.now(UTC), status="paid")
    with pytest.raises(AttributeError):
        change.status = "shipped"  # type: ignore[misc]
