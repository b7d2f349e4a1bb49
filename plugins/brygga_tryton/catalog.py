"""Tryton products, list prices and stock quantities (ProductSource, StockSource).

From trytond 8.2 ``modules/product`` and ``modules/stock`` (reference erp-apis.md §5.4,
real-peers.md §A step 4 and gotcha 5):

- An article is a ``product.product`` (a variant) with its ``code`` as the SKU; name, list price
  (excluding VAT, in the company's currency) and customer taxes come from its
  ``product.template`` (the variant's own ``list_price`` reads back empty). The VAT rate is the
  template's single percentage customer tax, else unknown (None). Deactivated products are
  read too (``active`` in [true, false]), so a deactivation reaches the shop.
- Changed articles: products or templates whose ``write_date`` or ``create_date`` (naive
  UTC) fall in the window (Tryton sets ``write_date`` only on a write, never on create).
- Stock: ``quantity`` (on hand) or ``forecast_quantity`` (on hand less what confirmed sales
  will take, plus expected receipts) of the product, computed by Tryton for the context
  ``locations = [warehouse]``; which one is the adapter's ``stock_quantity`` (default
  ``forecast``, [chosen]: confirmed sales are already taken off). Changed stock: stock moves
  created or written in the window.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.clock import Clock
from brygga.errors import PermanentError
from brygga_tryton import wire
from brygga_tryton.api import TrytonApi

__all__ = ["TrytonCatalog"]

log = logging.getLogger(__name__)

PAGE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALL = ["active", "in", [True, False]]
_PRODUCT_FIELDS = ["id", "code", "name", "template", "active", "write_date", "create_date"]


def _window(since: datetime, until: datetime, prefix: str = "") -> list[Any]:
    low, high = wire.naive_utc(since), wire.naive_utc(until)
    return [
        "OR",
        [[f"{prefix}write_date", ">=", low], [f"{prefix}write_date", "<", high]],
        [[f"{prefix}create_date", ">=", low], [f"{prefix}create_date", "<", high]],
    ]


def _latest(*moments: datetime | None) -> datetime:
    return max((m for m in moments if m is not None), default=_EPOCH)


class TrytonCatalog:
    """Articles and stock of one Tryton database."""

    def __init__(
        self,
        api: TrytonApi,
        clock: Clock,
        *,
        warehouse: str = "",
        stock_quantity: Literal["forecast", "available"] = "forecast",
    ) -> None:
        self.api = api
        self.clock = clock
        self.warehouse_code = warehouse
        self.stock_quantity = stock_quantity
        self._warehouse: int | None = None
        self._currency: str | None = None

    # --- stock -----------------------------------------------------------------------------

    async def warehouse(self) -> int:
        if self._warehouse is None:
            domain: list[Any] = [["type", "=", "warehouse"]]
            if self.warehouse_code:
                domain.append(["code", "=", self.warehouse_code])
            rows = await self.api.search_read("stock.location", domain, ["id"], wire.IdRow)
            if not rows:
                which = f"with code {self.warehouse_code!r}" if self.warehouse_code else "at all"
                raise PermanentError(
                    f"Tryton has no warehouse {which}; correct [connection.erp] warehouse"
                )
            self._warehouse = rows[0].id
        return self._warehouse

    async def _levels(self, domain: list[Any]) -> list[StockLevel]:
        context = {"locations": [await self.warehouse()]}
        field = "forecast_quantity" if self.stock_quantity == "forecast" else "quantity"
        rows = await self.api.search_read(
            "product.product",
            domain,
            ["id", "code", "template", field],
            wire.ProductRow,
            context=context,
        )
        now = self.clock.now()
        levels = []
        for row in rows:
            quantity = row.forecast_quantity if field == "forecast_quantity" else row.quantity
            if not row.code or quantity is None:
                continue
            levels.append(
                StockLevel(sku=row.code, quantity=Decimal(repr(quantity)), modified_at=now)
            )
        return levels

    async def stock_of(self, sku: str) -> StockLevel | None:
        levels = [lv for lv in await self._levels([["code", "=", sku], _ALL]) if lv.sku == sku]
        return levels[0] if levels else None

    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        offset = 0
        while True:
            moves = await self.api.search_read(
                "stock.move",
                _window(since, until),
                ["id", "product"],
                wire.MoveRow,
                offset=offset,
                limit=PAGE,
            )
            products = sorted({m.product for m in moves})
            if products:
                for level in await self._levels([["id", "in", products], _ALL]):
                    yield level
            if len(moves) < PAGE:
                return
            offset += PAGE

    # --- articles --------------------------------------------------------------------------

    async def currency(self) -> str:
        if self._currency is None:
            company = (await self.api.context()).get("company")
            if not isinstance(company, int):
                raise PermanentError(
                    "the Tryton user has no current company; set one in the user's preferences"
                )
            rows = await self.api.read(
                "company.company", [company], ["id", "currency"], wire.CompanyRow
            )
            currencies = await self.api.read(
                "currency.currency", [rows[0].currency], ["id", "code"], wire.CurrencyRow
            )
            self._currency = currencies[0].code
        return self._currency

    async def _articles(self, products: Sequence[wire.ProductRow]) -> list[Article]:
        templates = {
            t.id: t
            for t in await self.api.read(
                "product.template",
                sorted({p.template for p in products}),
                ["id", "list_price", "account_category", "write_date", "create_date"],
                wire.TemplateRow,
                context={"active_test": False},
            )
        }
        taxes = await self.api.customer_taxes(list(templates.values()))
        currency = await self.currency()
        articles = []
        for product in products:
            if not product.code:
                continue
            template = templates.get(product.template)
            rates: set[Decimal] = {
                tax.rate
                for tax in taxes.get(product.template, [])
                if tax.type == "percentage" and tax.rate is not None
            }
            rate = next(iter(rates)) * 100 if len(rates) == 1 else None
            articles.append(
                Article(
                    sku=product.code,
                    name=product.name or product.code,
                    currency=currency,
                    price=template.list_price if template else None,
                    vat_rate=rate.normalize() if rate is not None else None,
                    active=product.active,
                    modified_at=_latest(
                        product.write_date,
                        product.create_date,
                        template.write_date if template else None,
                        template.create_date if template else None,
                    ),
                )
            )
        return articles

    async def fetch_article(self, sku: str) -> Article | None:
        rows = await self.api.search_read(
            "product.product", [["code", "=", sku], _ALL], _PRODUCT_FIELDS, wire.ProductRow
        )
        exact = [r for r in rows if r.code == sku]
        if not exact:
            return None
        return (await self._articles(exact[:1]))[0]

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        domain = [_ALL, ["OR", _window(since, until), _window(since, until, "template.")]]
        offset = 0
        while True:
            rows = await self.api.search_read(
                "product.product",
                domain,
                _PRODUCT_FIELDS,
                wire.ProductRow,
                offset=offset,
                limit=PAGE,
            )
            for article in await self._articles(rows) if rows else []:
                yield ArticleChange(sku=article.sku, modified_at=article.modified_at)
            if len(rows) < PAGE:
                return
            offset += PAGE

    async def all_articles(self) -> AsyncIterator[Article]:
        last = 0
        while True:
            rows = await self.api.search_read(
                "product.product",
                [_ALL, ["id", ">", last]],
                _PRODUCT_FIELDS,
                wire.ProductRow,
                limit=PAGE,
            )
            for article in await self._articles(rows) if rows else []:
                yield article
            if len(rows) < PAGE:
                return
            last = rows[-1].id
