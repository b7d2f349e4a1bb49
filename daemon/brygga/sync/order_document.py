"""Turn a shop order into the ERP document: article numbers, fee rows, discounts, rounding.

Rows follow the per-row rounding of :class:`brygga.documents.DocumentLine`. Unit prices are
sent with two decimals (e-conomic's limit, and what every supported ERP accepts).

A row discount (the shop has already resolved it to an amount) is carried, in this order of
preference, as:

1. a two-decimal **discount percentage** on the row, when one gives exactly the shop's row net;
2. a two-decimal **reduced unit price** (``(quantity * price - discount) / quantity``), when one
   gives exactly the shop's row net; the description then says which discount it includes;
3. only when neither exists, the row at full price plus a separate **discount row** (the
   ``discount`` fee article, at the row's VAT rate).

Both 1 and 2 give the same row net and therefore the same row VAT as the shop, so the choice
between them is about what the invoice shows: a percentage keeps the list price and the
discount visible on the invoice, as on the shop's receipt and in the ERP's sales statistics,
while a reduced price hides the list price in the row text. Hence percentage first. Either
way no helper article is needed, which a discount row (one per VAT rate) does.

Whatever the shop's own rounding leaves between its grand total and the ERP's is closed by one
0 % rounding row (öresavrundning), so the document's total always equals the shop's to the öre.
VAT per rate equals the shop's whenever the shop rounds VAT per row (both simulators do),
except for a row whose unit price has more than two decimals, or whose amount discount neither
a two-decimal percentage nor a two-decimal reduced unit price reproduces (the case of a
separate discount row): such a row may leave VAT one öre off.
"""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import msgspec

from brygga.config import FeeArticles
from brygga.documents import CENT, Document, DocumentLine, Totals, round_money
from brygga.errors import PermanentError
from brygga.models import DocumentType, LineKind, Order, OrderLine

__all__ = ["build_document", "shop_row_net", "shop_totals"]

#: the default shop time zone (the ``timezone`` shop setting), which dates the documents
STOCKHOLM = ZoneInfo("Europe/Stockholm")

#: a larger difference is not rounding but a data error (cash rounding to whole kronor is < 1)
MAX_ROUNDING = Decimal(1)

#: the most decimals of a quantity an ERP row holds (weights in grams of a kilo price, ...)
QUANTITY_DECIMALS = 4

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


def _decimals(value: Decimal) -> int:
    """How many decimals ``value`` has once trailing zeros are dropped."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _nearest_first(center: Decimal, steps: int) -> list[Decimal]:
    """``center`` and its two-decimal neighbours up to ``steps`` cents away, nearest first."""
    out = [center]
    for k in range(1, steps + 1):
        out += [center + CENT * k, center - CENT * k]
    return out


def _percent_row(base: DocumentLine, target: Decimal) -> DocumentLine | None:
    """``base`` with the two-decimal discount percentage that gives net ``target``, if any."""
    gross = base.quantity * base.unit_price
    if gross <= 0:
        return None
    # centred on the discount the document needs, which differs from ``line.discount`` when
    # the shop's unit price had more than two decimals; a row of a few öre may need none
    center = min(max(((gross - target) / gross * 100).quantize(CENT), Decimal(0)), Decimal(100))
    for percent in _nearest_first(center, 25):
        if not Decimal(0) <= percent <= 100:
            continue
        candidate = msgspec.structs.replace(base, discount_percent=percent)
        if candidate.net_amount == target:
            return candidate
    return None


def _reduced_price_row(base: DocumentLine, target: Decimal) -> DocumentLine | None:
    """``base`` at the two-decimal reduced unit price that gives net ``target``, if any."""
    if not base.quantity:
        return None
    # an integer quantity allows only ``target / quantity`` itself; a fractional one (weights)
    # may round a neighbour to the target too
    # the row text names the reduction from the list price, which the price no longer shows
    reduction = round_money(base.quantity * base.unit_price - target)
    for price in _nearest_first((target / base.quantity).quantize(CENT), 2):
        candidate = msgspec.structs.replace(
            base, unit_price=price, description=f"{base.description} (rabatt {reduction} avdragen)"
        )
        if candidate.net_amount == target:
            return candidate
    return None


def _rows_for(line: OrderLine, article: str, fees: FeeArticles) -> list[DocumentLine]:
    base = DocumentLine(
        kind=line.kind,
        article_number=article,
        description=line.name or article,
        quantity=line.quantity,
        unit_price=round_money(line.unit_price),
        vat_rate=line.vat_rate,
    )
    if not line.discount:
        return [base]
    # One row with the shop's row net also has the shop's row VAT (both round net * rate).
    target = shop_row_net(line)
    try:
        exact = _percent_row(base, target) or _reduced_price_row(base, target)
    except InvalidOperation:  # a quotient beyond Decimal's precision: no exact two-decimal row
        exact = None
    if exact is not None:
        return [exact]
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
    timezone: tzinfo = STOCKHOLM,
    number_prefix: str = "",
) -> Document:
    """The ERP document for ``order``; raises PermanentError naming the order and line.

    ``number_prefix`` (the shop's ``[connection.orders.shops.<shop>] number_prefix``) goes
    before the shop's order number the document shows (``shop_order_number``), e.g. "NO-1001";
    the ``reference`` stays as given: it is the exactly-once handle, not a display number.

    The document date is the order's date in the shop's ``timezone``: an order placed at
    00:30 on 1 January in Stockholm belongs to the new year, although it is still 31 December
    in UTC.
    """
    if not order.lines:
        raise PermanentError(f"order {order.shop_order_id} has no lines; nothing to invoice")
    rows: list[DocumentLine] = []
    for index, line in enumerate(order.lines, start=1):
        if line.quantity == 0:
            continue
        if _decimals(line.quantity) > QUANTITY_DECIMALS:
            raise PermanentError(
                f"order {order.shop_order_id}, line {index} ({line.name or 'no name'}): quantity "
                f"{line.quantity} has more than {QUANTITY_DECIMALS} decimals, "
                "which no supported ERP stores; correct the quantity in the shop, then retry"
            )
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
        date=order.created_at.astimezone(timezone).date(),
        lines=tuple(rows),
        shop_order_id=order.shop_order_id,
        shop_order_number=f"{number_prefix}{order.number}" if order.number else "",
        book=book,
        note=order.note,
    )
