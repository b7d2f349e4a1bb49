"""Turn a shop order into the ERP document: article numbers, fee rows, discounts, rounding.

Rows follow the per-row rounding of :class:`brygga.documents.DocumentLine`. Unit prices are
sent with two decimals (e-conomic's limit, and what every supported ERP accepts). A row
discount becomes a discount percentage when that reproduces the shop's row total exactly, and
otherwise a separate discount row. Whatever the shop's own rounding leaves between its grand
total and the ERP's is closed by one 0 % rounding row (öresavrundning), so the document's
total always equals the shop's to the öre; VAT per rate equals the shop's whenever the shop
rounds VAT per row (both simulators do) — except that a row whose unit price has more than two
decimals, or whose amount discount no two-decimal percentage reproduces (it becomes a separate
discount row), may leave VAT one öre off for that row.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from brygga.config import FeeArticles
from brygga.documents import CENT, Document, DocumentLine, Totals, round_money
from brygga.errors import PermanentError
from brygga.models import DocumentType, LineKind, Order, OrderLine

__all__ = ["build_document", "shop_row_net", "shop_totals"]

#: a larger difference is not rounding but a data error (cash rounding to whole kronor is < 1)
MAX_ROUNDING = Decimal(1)

_FEE_ARTICLE = {
    LineKind.FREIGHT: "freight",
    LineKind.FEE: "handling",
    LineKind.DISCOUNT: "discount",
    LineKind.ROUNDING: "rounding",
}


def shop_row_net(line: OrderLine) -> Decimal:
    """The shop's row total excluding VAT, rounded per row."""
    return round_money(line.quantity * line.unit_price - line.discount)


def shop_totals(order: Order) -> Totals:
    """Net and VAT per rate as a per-row-rounding shop computes them from the lines."""
    net = Decimal(0)
    vat_by_rate: dict[Decimal, Decimal] = {}
    for line in order.lines:
        row = shop_row_net(line)
        net += row
        vat_by_rate[line.vat_rate] = vat_by_rate.get(line.vat_rate, Decimal(0)) + round_money(
            row * line.vat_rate / 100
        )
    return Totals(net=net, vat=sum(vat_by_rate.values(), Decimal(0)), vat_by_rate=vat_by_rate)


def _article(line: OrderLine, index: int, order: Order, fees: FeeArticles) -> str:
    if line.kind is LineKind.ITEM:
        if not line.sku.strip():
            raise PermanentError(
                f"order {order.shop_order_id}, line {index} ({line.name or 'no name'}): the "
                "product has no SKU; give it an article number in the shop, then retry the order"
            )
        return line.sku.strip()
    return str(getattr(fees, _FEE_ARTICLE[line.kind]))


def _percent_candidates(discount: Decimal, gross: Decimal) -> list[Decimal]:
    """Two-decimal discount percentages near ``discount / gross``, nearest first."""
    if gross <= 0:
        return []
    exact = (discount / gross * 100).quantize(CENT)
    steps = [Decimal(0)]
    for k in range(1, 26):
        steps += [CENT * k, -CENT * k]
    return [exact + step for step in steps if Decimal(0) <= exact + step <= 100]


def _rows_for(line: OrderLine, article: str, fees: FeeArticles) -> list[DocumentLine]:
    unit = round_money(line.unit_price)
    base = DocumentLine(
        kind=line.kind,
        article_number=article,
        description=line.name or article,
        quantity=line.quantity,
        unit_price=unit,
        vat_rate=line.vat_rate,
    )
    if not line.discount:
        return [base]
    target = shop_row_net(line)
    for percent in _percent_candidates(line.discount, line.quantity * unit):
        with_percent = DocumentLine(
            kind=line.kind,
            article_number=article,
            description=base.description,
            quantity=line.quantity,
            unit_price=unit,
            vat_rate=line.vat_rate,
            discount_percent=percent,
        )
        if with_percent.net_amount == target:
            return [with_percent]
    discount_row = DocumentLine(
        kind=LineKind.DISCOUNT,
        article_number=fees.discount,
        description=f"Rabatt {base.description}",
        quantity=Decimal(1),
        unit_price=-round_money(line.discount),
        vat_rate=line.vat_rate,
    )
    return [base, discount_row]


def build_document(
    order: Order,
    *,
    reference: str,
    document_type: DocumentType,
    customer_number: str,
    fee_articles: FeeArticles,
    book: bool = False,
) -> Document:
    """The ERP document for ``order``; raises PermanentError naming the order and line."""
    if not order.lines:
        raise PermanentError(f"order {order.shop_order_id} has no lines; nothing to invoice")
    rows: list[DocumentLine] = []
    for index, line in enumerate(order.lines, start=1):
        if line.quantity == 0:
            continue
        rows.extend(_rows_for(line, _article(line, index, order, fee_articles), fee_articles))
    computed = Totals.of(rows).gross
    gap = round_money(order.total) - computed
    if abs(gap) >= MAX_ROUNDING:
        raise PermanentError(
            f"order {order.shop_order_id}: the shop's total {order.total} {order.currency} differs "
            f"from the sum of its rows ({computed}) by {gap}; a row is missing or mis-priced in "
            "the shop data. Check the order in the shop, then retry it"
        )
    if gap:
        rows.append(
            DocumentLine(
                kind=LineKind.ROUNDING,
                article_number=fee_articles.rounding,
                description="Öresavrundning",
                quantity=Decimal(1),
                unit_price=gap,
                vat_rate=Decimal(0),
            )
        )
    return Document(
        reference=reference,
        document_type=document_type,
        customer_number=customer_number,
        customer=order.customer,
        currency=order.currency,
        date=order.created_at.astimezone(UTC).date(),
        lines=tuple(rows),
        shop_order_id=order.shop_order_id,
        shop_order_number=order.number,
        book=book,
        note=order.note,
    )
