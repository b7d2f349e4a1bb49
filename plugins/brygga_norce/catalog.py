"""Stock and prices into Norce: a read of the SKU first, then one Connect import job.

Norce ignores stock and prices of SKUs it does not have ([NO7]) and a price of 0 ([NO8]),
so both are refused before anything is sent, with the fix. A value the SKU already has is
``unchanged`` and sends nothing. Otherwise one job per SKU (:mod:`brygga_norce.jobs`), never
a full file.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from brygga.errors import PermanentError
from brygga.registers import PriceSink, StockSink, Written
from brygga_norce.calls import QUERY, NorceCalls
from brygga_norce.jobs import ImportJobs
from brygga_norce.wire import ProductSkuWire, decode

if TYPE_CHECKING:
    from brygga_norce.adapter import NorceConfig

__all__ = ["NorceCatalog"]


class NorceCatalog(NorceCalls, StockSink, PriceSink):
    """The StockSink and PriceSink of the Norce adapter; it sets ``config`` and ``jobs``."""

    config: NorceConfig
    jobs: ImportJobs

    async def _sku(self, sku: str, expand: str, what: str) -> ProductSkuWire:
        key = quote("ProductSkus('" + sku.replace("'", "''") + "')", safe="'()")
        response = await self._call(
            "GET", f"{QUERY}/Products/{key}", what, params={"$expand": expand}, ok=(200, 404)
        )
        if response.status_code == 404:
            raise PermanentError(
                f"{what}: Norce has no SKU {sku!r} (Norce ignores stock and prices of unknown "
                "SKUs); create the product in Norce first, or fix the SKU in the ERP"
            )
        return decode(response.content, ProductSkuWire, what)

    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        """Set the on-hand value of ``sku`` at ``warehouse``/``location`` by an import job."""
        what = f"Norce SKU {sku!r}: stock {quantity}"
        if not (self.config.warehouse and self.config.location):
            raise PermanentError(
                f"{what}: set warehouse and location (the WarehouseCode and LocationCode of "
                f"the stock) for Norce shop {self.shop}"
            )
        if not quantity.is_finite():
            raise PermanentError(f"{what}: not a number")
        current = await self._sku(sku, "OnHands", what)
        place = (self.config.warehouse, self.config.location)
        for row in current.on_hands or []:
            same = (row.warehouse_code, row.location_code) == place
            if same and row.is_active is not False and row.on_hand_value == quantity:
                return "unchanged"
        rows = [
            {
                "PartNo": sku,
                "WarehouseCode": self.config.warehouse,
                "LocationCode": self.config.location,
                "OnhandValue": quantity,
            }
        ]
        header = self.jobs.header(SkuOnhandFieldsThatAreSet=[3])
        key = f"{self.config.warehouse}/{self.config.location}/{sku}"
        outcome = await self.jobs.run("stock", key, "Product/ImportOnhands", header, rows, what)
        if outcome.warnings:
            raise PermanentError(f"{what}: Norce ignored it ({'; '.join(outcome.warnings)[:300]})")
        return "updated"

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """Set ``PriceSale`` (excl. VAT) in ``price_list`` by an import job."""
        what = f"Norce SKU {sku!r}: price {price} {currency}"
        if not self.config.price_list:
            raise PermanentError(
                f"{what}: set price_list (the Norce PriceListCode prices go to) for Norce "
                f"shop {self.shop}"
            )
        if not price.is_finite() or price <= 0:
            raise PermanentError(
                f"{what}: Norce ignores a price of 0 (and takes none below), so it can never "
                "be set this way; give the article a price in the ERP, or deactivate it in "
                "Norce Admin"
            )
        sale = price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        current = await self._sku(sku, "PriceLists", what)
        existing = [
            row
            for row in current.price_lists or []
            if row.price_list_code == self.config.price_list
        ]
        if any(
            row.price_sale == sale and row.currency_code == currency and row.is_active is not False
            for row in existing
        ):
            return "unchanged"
        rows: list[dict[str, Any]] = [
            {
                "PartNo": sku,
                "PriceListCode": self.config.price_list,
                "PriceSale": sale,
                "CurrencyCode": currency,
                "IsActive": True,
            }
        ]
        if campaign_price is not None and campaign_price > 0 and self.config.campaign_price_list:
            rows.append(
                {
                    **rows[0],
                    "PriceListCode": self.config.campaign_price_list,
                    "PriceSale": campaign_price,
                }
            )
        header = self.jobs.header()
        key = f"{self.config.price_list}/{currency}/{sku}"
        await self.jobs.run("price", key, "Product/ImportSkuPriceLists", header, rows, what)
        return "updated" if existing else "created"
