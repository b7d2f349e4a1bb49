"""Stock and prices into Norce: a read of the SKU first, then one Connect import job.

Norce ignores stock and prices of SKUs it does not have ([NO7]) and a price of 0 ([NO8]),
so both are refused before anything is sent, with the fix. A value the SKU already has is
``unchanged`` and sends nothing. Otherwise one job per SKU (:mod:`brygga_norce.jobs`), never
a full file.

The imports name codes (``WarehouseCode``, ``LocationCode``, ``PriceListCode``), but the
Query rows carry ids (on-hand ``warehouseId``/``locationId``, price ``priceListId``/
``currencyId``; docs.norce.io/api-reference/query/openapi/schemas/clientproductskuonhandinfo,
…/query/openapi/products/products_productskus). So the codes are resolved to ids once per
adapter: the price list by its ``Agreement`` ("called Code in the admin tool, and in connect")
in ``Application/ClientPriceLists``, which also gives its ``CurrencyId``; the warehouse and
location in ``Application/ClientWarehouses`` (modelled: a warehouse's ``Code`` and its
``Locations``' ``LocationId``/``Code``). A code that cannot be resolved only means the value
is not known to be unchanged: the import is sent.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from brygga.errors import BryggaError, CredentialsRejected, PermanentError
from brygga.registers import PriceSink, StockSink, Written
from brygga_norce.calls import QUERY, NorceCalls
from brygga_norce.jobs import ImportJobs
from brygga_norce.wire import (
    PriceListRowWire,
    ProductSkuWire,
    QueryPageWire,
    WarehouseRowWire,
    decode,
    decode_query,
    decode_query_as,
)

if TYPE_CHECKING:
    from brygga_norce.adapter import NorceConfig

__all__ = ["NorceCatalog"]

log = logging.getLogger(__name__)


class NorceCatalog(NorceCalls, StockSink, PriceSink):
    """The StockSink and PriceSink of the Norce adapter; it sets ``config`` and ``jobs``."""

    config: NorceConfig
    jobs: ImportJobs
    #: codes resolved to Query ids: ("price", code) → (PriceListId, CurrencyId),
    #: ("place", warehouse, location) → (WarehouseId, LocationId); None: not resolvable
    _resolved: dict[tuple[str, ...], tuple[int, int | None] | None]

    async def _rows(self, path: str, params: dict[str, Any], what: str) -> list[Any]:
        response = await self._call("GET", f"{QUERY}/{path}", what, params=params)
        return decode(response.content, QueryPageWire, what).value

    async def _resolve(self, key: tuple[str, ...], what: str) -> tuple[int, int | None] | None:
        """The ids of ``key`` (see :attr:`_resolved`), read once; None when Norce has no such
        code or the Query API could not say (logged)."""
        if key in self._resolved:
            return self._resolved[key]
        found: tuple[int, int | None] | None = None
        try:
            if key[0] == "price":
                code = key[1].replace("'", "''")
                for raw in await self._rows(
                    "Application/ClientPriceLists", {"$filter": f"Agreement eq '{code}'"}, what
                ):
                    row = decode_query(raw, PriceListRowWire)
                    if row.agreement == key[1] and row.price_list_id is not None:
                        found = (row.price_list_id, row.currency_id)
            else:
                for raw in await self._rows("Application/ClientWarehouses", {}, what):
                    place = decode_query(raw, WarehouseRowWire)
                    if place.code != key[1] or place.warehouse_id is None:
                        continue
                    for location in place.locations or []:
                        if location.code == key[2] and location.location_id is not None:
                            found = (place.warehouse_id, location.location_id)
        except CredentialsRejected:
            raise
        except (BryggaError, ValueError, RecursionError) as exc:
            log.warning("%s: %s could not be resolved to Norce ids (%s)", what, key[1:], exc)
            return None
        if found is None:
            log.warning(
                "%s: Norce shows no %s %s; the value is sent without knowing whether it is "
                "unchanged",
                what,
                "price list" if key[0] == "price" else "warehouse/location",
                "/".join(key[1:]),
            )
        self._resolved[key] = found
        return found

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
        return decode_query_as(response.content, ProductSkuWire, what)

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
        place = await self._resolve(("place", self.config.warehouse, self.config.location), what)
        for row in current.on_hands or []:
            same = place is not None and (row.warehouse_id, row.location_id) == place
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
        listed = await self._resolve(("price", self.config.price_list), what)
        existing = [
            row
            for row in current.price_lists or []
            if listed is not None and row.price_list_id == listed[0]
        ]
        # the list's currency is its own (ClientPriceLists.CurrencyId); a row in another is
        # never taken as this price
        if any(
            row.price_sale == sale
            and (listed is None or listed[1] is None or row.currency_id == listed[1])
            and row.is_active is not False
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
        return "updated" if existing or listed is None else "created"
