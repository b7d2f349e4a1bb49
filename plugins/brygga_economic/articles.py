"""Which e-conomic article each document row uses, checked against the row's VAT rate."""

from __future__ import annotations

from decimal import Decimal

from brygga.documents import Document, DocumentLine
from brygga.errors import PermanentError
from brygga.models import LineKind
from brygga_economic import wire
from brygga_economic.api import EconomicApi

__all__ = ["ArticleCatalog", "rate_text"]

_KIND_NAMES = {
    LineKind.FREIGHT: "freight",
    LineKind.FEE: "fee",
    LineKind.DISCOUNT: "discount",
    LineKind.ROUNDING: "rounding",
}


def rate_text(rate: Decimal) -> str:
    """A VAT rate as people and article numbers write it: 25, 12, 6, 0, 12.5."""
    return format(rate.normalize(), "f")


class ArticleCatalog:
    """Products and product-group VAT rates, cached per adapter instance.

    The first use reads every product (paged); an article missing from the cache is looked up
    once more by number before it is declared unknown, so articles created later are found.
    A product's VAT rate is its group's ``vatAccount`` rate (see the simulator's notes).
    """

    def __init__(self, api: EconomicApi, *, page_size: int, vat_articles: bool) -> None:
        self.api = api
        self.page_size = page_size
        self.vat_articles = vat_articles
        self._products: dict[str, wire.Product] | None = None
        self._group_rates: dict[int, Decimal | None] | None = None

    async def product(self, number: str) -> wire.Product | None:
        if self._products is None:
            self._products = {
                p.product_number: p
                async for p in self.api.pages(
                    "products", wire.Product, "the product list", page_size=self.page_size
                )
            }
        found = self._products.get(number)
        if found is not None:
            return found
        if not number or len(number) > 25:
            return None
        response = await self.api.request("GET", f"products/{wire.encode_product_number(number)}")
        if response.status_code == 404:
            return None
        found = self.api.decode(response, wire.Product, f"product {number}")
        self._products[number] = found
        return found

    async def rate(self, product: wire.Product) -> Decimal | None:
        """The VAT rate of a product's group, or None when e-conomic has none for it."""
        if product.product_group is None:
            return None
        group = product.product_group.product_group_number
        if self._group_rates is None or group not in self._group_rates:
            await self._load_rates()
        assert self._group_rates is not None
        return self._group_rates.get(group)

    async def _load_rates(self) -> None:
        accounts = {
            a.vat_code: a.rate_percentage
            async for a in self.api.pages(
                "vat-accounts", wire.VatAccount, "the VAT accounts", page_size=self.page_size
            )
        }
        self._group_rates = {
            g.product_group_number: (
                accounts.get(g.vat_account.vat_code) if g.vat_account else None
            )
            async for g in self.api.pages(
                "product-groups", wire.ProductGroup, "the product groups", page_size=self.page_size
            )
        }

    async def article_for(
        self, document: Document, row: int, line: DocumentLine, *, domestic: bool
    ) -> wire.Product:
        """The product to put on ``line`` (row numbers are 1-based), or a PermanentError that
        names the order, the row and the fix."""
        where = f"Order {document.shop_order_id} row {row}"
        rate = line.vat_rate
        number = line.article_number
        product = await self.product(number)
        if line.kind == LineKind.ITEM:
            if product is None:
                raise PermanentError(
                    f"{where}: article {number!r} does not exist in e-conomic; create article "
                    f"{number} in e-conomic in a product group with {rate_text(rate)} % VAT, "
                    "or correct the SKU in the shop."
                )
            if domestic:
                await self._check_rate(where, product, rate)
            return product

        kind = _KIND_NAMES.get(line.kind, str(line.kind))
        if product is not None and (not domestic or await self.rate(product) == rate):
            return product
        if not domestic:
            raise PermanentError(
                f"{where}: the {kind} article {number!r} does not exist in e-conomic; create "
                f"article {number} in e-conomic."
            )
        alternative = f"{number}-{rate_text(rate)}"
        if self.vat_articles:
            other = await self.product(alternative)
            if other is not None:
                await self._check_rate(where, other, rate)
                return other
        if product is None:
            fix = (
                f"add article {alternative} (or {number}) with a {rate_text(rate)} % product group"
                if self.vat_articles
                else f"add article {number} with a {rate_text(rate)} % product group"
            )
            raise PermanentError(
                f"{where}: there is no e-conomic article for the {kind} row at "
                f"{rate_text(rate)} % VAT (article {number!r} does not exist); {fix}."
            )
        has = await self.rate(product)
        has_text = "no VAT rate" if has is None else f"{rate_text(has)} % VAT"
        if self.vat_articles:
            fix = f"add article {alternative} with a {rate_text(rate)} % product group"
        else:
            fix = (
                f"move {number} to a {rate_text(rate)} % product group, or set "
                f"vat_articles = true and add article {alternative}"
            )
        raise PermanentError(
            f"{where}: the {kind} row has {rate_text(rate)} % VAT but article {number!r} has "
            f"{has_text} in e-conomic; {fix}."
        )

    async def _check_rate(self, where: str, product: wire.Product, rate: Decimal) -> None:
        has = await self.rate(product)
        if has == rate:
            return
        number = product.product_number
        group = product.product_group.product_group_number if product.product_group else None
        if has is None:
            raise PermanentError(
                f"{where}: article {number!r} has no VAT rate in e-conomic (product group "
                f"{group} has no VAT account); give it a product group with {rate_text(rate)} % "
                "VAT."
            )
        raise PermanentError(
            f"{where}: article {number!r} has {rate_text(has)} % VAT in e-conomic (product "
            f"group {group}) but the shop charged {rate_text(rate)} %; move {number} to a "
            f"product group with {rate_text(rate)} % VAT, or correct the VAT rate in the shop."
        )
