"""The Starweb simulator's catalog control surface: products, prices and stock, as in the admin."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from brygga_starweb.simulator.catalog import (
    ECOMMERCE_LOCATION,
    IN_STOCK,
    MASTER_PRICELIST,
    OUT_OF_STOCK,
    CatalogState,
    SimProduct,
    SimVariant,
)
from brygga_starweb.simulator.state import OrderState

__all__ = ["CatalogAdmin"]


class CatalogAdmin:
    """Tests and the demo read and edit the catalog here, as a merchant in the Starweb admin
    would: every edit bumps the product's ``modifiedAt`` (nothing is logged as a request)."""

    catalog: CatalogState
    state: OrderState

    def _now(self) -> datetime:
        """The shop's clock (whole seconds, as Starweb's timestamps)."""
        return self.state.now()

    def _found(self, sku: str) -> tuple[SimProduct, SimVariant]:
        found = self.catalog.find_sku(sku)
        if found is None:
            raise KeyError(f"SKU {sku!r} is not in the simulated catalog")
        return found

    def add_product(
        self,
        sku: str,
        name: str,
        *,
        price: Decimal,
        vat_rate: Decimal | None = Decimal(25),
        product: str = "",
        variant: str = "",
        stock: Decimal | None = None,
        ean: str = "",
    ) -> SimProduct:
        """Add ``sku`` (price excl. VAT, in the master price list). With ``product``, the SKU
        becomes a variant named ``variant`` of the product whose ``externalId`` is ``product``
        (created when missing). ``stock`` puts a level at the e-commerce stock location."""
        now = self._now()
        group = next(
            (p for p in self.catalog.products.values() if product and p.external_id == product),
            None,
        )
        if group is None:
            group = self.catalog.add_product(name, vat_rate, now)
            group.external_id = product
        added = self.catalog.add_variant(group, sku, name=variant)
        added.ean = ean
        added.prices[MASTER_PRICELIST] = (price, None)
        if stock is not None:
            self._put_stock(added, stock)
        group.modified_at = now
        return group

    def variant(self, sku: str) -> SimVariant:
        """The variant's state object (tests may edit it; call :meth:`touch_product`)."""
        return self._found(sku)[1]

    def catalog_product(self, sku: str) -> SimProduct:
        """The product holding ``sku`` (tests may edit it; call :meth:`touch_product`)."""
        return self._found(sku)[0]

    def touch_product(self, sku: str) -> None:
        """Bump the product's ``modifiedAt`` to now, as any admin edit would."""
        self._found(sku)[0].modified_at = self._now()

    def set_price(
        self,
        sku: str,
        price: Decimal,
        special: Decimal | None = None,
        *,
        pricelist_id: int = MASTER_PRICELIST,
    ) -> None:
        """Set the SKU's price (and special price) excl. VAT in a price list."""
        if pricelist_id not in self.catalog.pricelists:
            raise KeyError(f"no simulated price list {pricelist_id}")
        product, variant = self._found(sku)
        variant.prices[pricelist_id] = (price, special)
        product.modified_at = self._now()

    def price(
        self, sku: str, *, pricelist_id: int = MASTER_PRICELIST
    ) -> tuple[Decimal, Decimal | None] | None:
        """(priceExVat, specialPriceExVat) of the SKU in a price list, or None."""
        return self._found(sku)[1].prices.get(pricelist_id)

    def set_stock(self, sku: str, quantity: Decimal) -> None:
        """Set the level at the e-commerce stock location."""
        product, variant = self._found(sku)
        self._put_stock(variant, quantity)
        product.modified_at = self._now()

    def stock(self, sku: str) -> Decimal | None:
        """The level at the e-commerce stock location, or None when the SKU has none."""
        level = self._found(sku)[1].stocks.get(ECOMMERCE_LOCATION)
        return None if level is None else level[1]

    def _put_stock(self, variant: SimVariant, quantity: Decimal) -> None:
        status = IN_STOCK if quantity > 0 else OUT_OF_STOCK
        variant.stocks[ECOMMERCE_LOCATION] = (status, quantity)
        variant.stock_quantity = int(quantity)
        variant.stock_status_id = status
