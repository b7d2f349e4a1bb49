"""Property tests: the ERP document reproduces the shop's totals and VAT per rate to the öre."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brygga.config import FeeArticles
from brygga.documents import Totals, round_money
from brygga.errors import PermanentError
from brygga.models import Customer, DocumentType, LineKind, Order, OrderLine
from brygga.sync.order_document import build_document, shop_totals

RATES = [Decimal(25), Decimal(12), Decimal(6), Decimal(0)]
T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def _order(lines: list[OrderLine], *, total_adjust: Decimal = Decimal(0)) -> Order:
    base = Order(
        shop_order_id="1001",
        created_at=T0,
        modified_at=T0,
        status="paid",
        currency="SEK",
        customer=Customer(email="a@example.se", name="A"),
        lines=tuple(lines),
        total=Decimal(0),
        total_vat=Decimal(0),
    )
    totals = shop_totals(base)
    return Order(
        **{
            **{f: getattr(base, f) for f in base.__struct_fields__},
            "total": totals.gross + total_adjust,
            "total_vat": totals.vat,
        }
    )


def _build(order: Order) -> Totals:
    document = build_document(
        order,
        reference="brygga:c:se:1001",
        document_type=DocumentType.INVOICE,
        customer_number="7",
        fee_articles=FeeArticles(),
    )
    return document.totals


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2)


@st.composite
def item_lines(draw: st.DrawFn) -> OrderLine:
    quantity = Decimal(draw(st.integers(min_value=1, max_value=40)))
    unit = draw(money)
    rate = draw(st.sampled_from(RATES))
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    discount = Decimal(0)
    if kind == "percent":
        percent = Decimal(draw(st.integers(min_value=1, max_value=90)))
        discount = quantity * unit * percent / 100
    elif kind == "amount":
        discount = draw(st.decimals(min_value=Decimal("0.01"), max_value=quantity * unit, places=2))
    return OrderLine(
        sku=f"SKU-{rate}", quantity=quantity, unit_price=unit, vat_rate=rate, discount=discount
    )


@st.composite
def carts(draw: st.DrawFn) -> list[OrderLine]:
    lines = draw(st.lists(item_lines(), min_size=1, max_size=12))
    if draw(st.booleans()):
        lines.append(
            OrderLine(
                kind=LineKind.FREIGHT,
                quantity=Decimal(1),
                unit_price=draw(money),
                vat_rate=Decimal(25),
            )
        )
    if draw(st.booleans()):
        lines.append(
            OrderLine(
                kind=LineKind.FEE,
                quantity=Decimal(1),
                unit_price=draw(money),
                vat_rate=draw(st.sampled_from(RATES)),
            )
        )
    return lines


@settings(max_examples=300, deadline=None)
@given(carts())
def test_document_equals_shop_to_the_ore(lines: list[OrderLine]) -> None:
    order = _order(lines)
    document = build_document(
        order,
        reference="r",
        document_type=DocumentType.INVOICE,
        customer_number="7",
        fee_articles=FeeArticles(),
    )
    totals = document.totals
    shop = shop_totals(order)
    assert totals.gross == order.total
    discount_rows = sum(1 for row in document.lines if row.kind is LineKind.DISCOUNT)
    for rate, vat in shop.vat_by_rate.items():
        # exact unless a discount had to become its own row (see the module docstring)
        assert abs(totals.vat_by_rate.get(rate, Decimal(0)) - vat) <= Decimal("0.01") * (
            discount_rows
        )
    if not discount_rows:
        assert totals.vat_by_rate == shop.vat_by_rate
        assert all(row.kind is not LineKind.ROUNDING for row in document.lines)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=20),
            st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(999), places=4),
            st.sampled_from(RATES),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_sub_ore_unit_prices_get_a_rounding_row(rows: list[tuple[int, Decimal, Decimal]]) -> None:
    lines = [OrderLine(sku="X", quantity=Decimal(q), unit_price=u, vat_rate=r) for q, u, r in rows]
    order = _order(lines)
    document = build_document(
        order,
        reference="r",
        document_type=DocumentType.INVOICE,
        customer_number="7",
        fee_articles=FeeArticles(rounding="ore"),
    )
    assert document.totals.gross == round_money(order.total)
    rounding = [row for row in document.lines if row.kind is LineKind.ROUNDING]
    assert len(rounding) <= 1
    assert all(row.article_number == "ore" and row.vat_rate == 0 for row in rounding)


def test_fee_rows_use_configured_articles() -> None:
    order = _order(
        [
            OrderLine(
                sku="KAFFE", quantity=Decimal(2), unit_price=Decimal("89.00"), vat_rate=Decimal(25)
            ),
            OrderLine(
                kind=LineKind.FREIGHT,
                quantity=Decimal(1),
                unit_price=Decimal(49),
                vat_rate=Decimal(25),
            ),
            OrderLine(
                kind=LineKind.FEE, quantity=Decimal(1), unit_price=Decimal(19), vat_rate=Decimal(25)
            ),
            OrderLine(
                kind=LineKind.DISCOUNT,
                quantity=Decimal(1),
                unit_price=Decimal(-20),
                vat_rate=Decimal(25),
            ),
        ]
    )
    document = build_document(
        order,
        reference="r",
        document_type=DocumentType.ORDER,
        customer_number="7",
        fee_articles=FeeArticles(freight="FRAKT", handling="AVG", discount="RAB"),
    )
    assert [row.article_number for row in document.lines] == ["KAFFE", "FRAKT", "AVG", "RAB"]
    assert document.totals.gross == Decimal("282.50")


def test_item_without_sku_is_a_permanent_error_naming_order_and_line() -> None:
    order = _order(
        [
            OrderLine(sku="A", quantity=Decimal(1), unit_price=Decimal(10), vat_rate=Decimal(25)),
            OrderLine(
                name="Presentkort",
                quantity=Decimal(1),
                unit_price=Decimal(10),
                vat_rate=Decimal(25),
            ),
        ]
    )
    with pytest.raises(PermanentError, match=r"order 1001, line 2 \(Presentkort\).*SKU"):
        build_document(
            order,
            reference="r",
            document_type=DocumentType.INVOICE,
            customer_number="7",
            fee_articles=FeeArticles(),
        )


def test_total_far_from_rows_is_a_data_error_not_rounding() -> None:
    order = _order(
        [OrderLine(sku="A", quantity=Decimal(1), unit_price=Decimal(10), vat_rate=Decimal(25))],
        total_adjust=Decimal(40),
    )
    with pytest.raises(PermanentError, match="differs from the sum of its rows"):
        _build(order)


def test_cash_rounding_below_one_krona_becomes_a_rounding_row() -> None:
    order = _order(
        [
            OrderLine(
                sku="A", quantity=Decimal(1), unit_price=Decimal("10.10"), vat_rate=Decimal(25)
            )
        ],
        total_adjust=Decimal("-0.63"),
    )
    assert _build(order).gross == order.total
