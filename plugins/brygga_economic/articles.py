"""Which e-conomic article each document row uses, checked against e-conomic's VAT chain.

The reference data read for it (the product list, products looked up by number, each product
group's sales accounts, accounts and VAT accounts) is kept in the agreement's
:class:`brygga.http.accountcache.AccountCache`, so every connection of the process on one
agreement reads it once (and a hundred connections asking at once make one read), for
:data:`REFERENCE_TTL` seconds; a row refused once is read afresh, and so are the articles of a
document e-conomic refused (:meth:`ArticleCatalog.forget_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from brygga.clock import SystemClock
from brygga.documents import DocumentLine
from brygga.errors import PermanentError
from brygga.http.accountcache import AccountCache
from brygga.models import LineKind
from brygga_economic import wire
from brygga_economic.api import EconomicApi, NotFoundError

__all__ = [
    "DOMESTIC_ZONE",
    "REFERENCE_TTL",
    "ArticleCatalog",
    "GroupVat",
    "VatChain",
    "rate_text",
]

#: e-conomic's VAT zone 1, Domestic
DOMESTIC_ZONE = 1
#: how long the agreement's reference data is kept (seconds): a change made in e-conomic
#: counts after at most this long, or at once for a row that would be refused
REFERENCE_TTL = 600.0

_KIND_NAMES = {
    LineKind.FREIGHT: "freight",
    LineKind.FEE: "fee",
    LineKind.DISCOUNT: "discount",
    LineKind.ROUNDING: "rounding",
}


def rate_text(rate: Decimal) -> str:
    """A VAT rate as people and article numbers write it: 25, 12, 6, 0, 12.5."""
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class GroupVat:
    """A product group's VAT rate in the configured VAT zone, or why it has none."""

    group: int | None
    rate: Decimal | None
    #: why there is no rate (a clause such as "product group 4 does not exist")
    problem: str = ""


@dataclass(frozen=True)
class _Missing:
    """A cached link of the chain that leads nowhere."""

    problem: str


class _NoRate(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


T = TypeVar("T")


def _follow(link: T | _Missing) -> T:
    if isinstance(link, _Missing):
        raise _NoRate(link.problem)
    return link


class VatChain:
    """product group -> its sales account for the VAT zone -> that account's VAT code -> the
    VAT account's ``ratePercentage``, as e-conomic documents it (e-conomic/slate
    ``source/includes/_product-groups.md``: ``GET /product-groups/{n}/sales-accounts``, a
    collection with one sales account per ``salesVatZone``; ``_accounts.md``: ``GET
    /accounts/{accountNumber}`` with ``vatAccount.vatCode``; ``_vat-accounts.md``: ``GET
    /vat-accounts/{vatCode}``).

    Each link is cached in ``cache`` (the agreement's, shared by every connection on it:
    per VAT zone and product group, per account number, per VAT code), dead ends too;
    :meth:`forget` drops one group's path so it is read again. A 404 on any link, a group
    without a sales account for the zone, or an account without ``vatAccount`` means "no VAT
    rate" (never a guess).
    """

    def __init__(
        self, api: EconomicApi, *, zone: int, page_size: int, cache: AccountCache | None = None
    ) -> None:
        self.api = api
        self.zone = zone
        self.page_size = page_size
        self.cache = cache if cache is not None else AccountCache(SystemClock(), ttl=REFERENCE_TTL)

    async def of_group(self, group: int) -> GroupVat:
        cache = self.cache
        try:
            account = _follow(
                await cache.get(
                    ("sales-account", self.zone, group), lambda: self._sales_account(group)
                )
            )
            code = _follow(await cache.get(("vat-code", account), lambda: self._vat_code(account)))
            rate = await cache.get(("vat-rate", code), lambda: self._rate(code, account))
            return GroupVat(group, _follow(rate))
        except _NoRate as missing:
            return GroupVat(group, None, missing.problem)

    def forget(self, group: int) -> None:
        """Read this group's sales account, account and VAT account again next time (for
        every connection on the agreement)."""
        account = self.cache.forget(("sales-account", self.zone, group))
        if isinstance(account, int):
            code = self.cache.forget(("vat-code", account))
            if isinstance(code, str):
                self.cache.forget(("vat-rate", code))

    async def _sales_account(self, group: int) -> int | _Missing:
        try:
            rows = [
                row
                async for row in self.api.pages(
                    f"product-groups/{group}/sales-accounts",
                    wire.SalesAccount,
                    f"the sales accounts of product group {group}",
                    page_size=self.page_size,
                )
            ]
        except NotFoundError:
            return _Missing(f"product group {group} does not exist")
        for row in rows:
            zone = row.sales_vat_zone
            if zone is not None and zone.vat_zone_number == self.zone and row.account:
                return row.account.account_number
        return _Missing(f"product group {group} has no sales account for VAT zone {self.zone}")

    async def _vat_code(self, account: int) -> str | _Missing:
        what = f"account {account}"
        try:
            found = self.api.decode(
                await self.api.request("GET", f"accounts/{account}"), wire.Account, what
            )
        except NotFoundError:
            return _Missing(f"its sales account {account} does not exist")
        if found.vat_account is None or not found.vat_account.vat_code:
            return _Missing(f"its sales account {account} has no VAT code")
        return found.vat_account.vat_code

    async def _rate(self, code: str, account: int) -> Decimal | _Missing:
        path = f"vat-accounts/{wire.encode_product_number(code)}"
        what = f"VAT account {code}"
        try:
            found = self.api.decode(await self.api.request("GET", path), wire.VatAccount, what)
        except NotFoundError:
            return _Missing(f"VAT code {code} of its sales account {account} does not exist")
        return found.rate_percentage


class _Refused(PermanentError):
    """A row the catalog cannot place (read afresh once before it is final)."""


class ArticleCatalog:
    """Products and their VAT rates (via :class:`VatChain`), cached per agreement in
    ``cache`` (shared by every connection of the process on it, for its TTL).

    The first use reads every product (paged); an article missing from the cache is looked up
    by number before it is declared unknown (an unknown one is not kept), so articles created
    later are found, and its group's chain is read if the group is new. A row that would be
    refused is looked at once more with that article and its chain read afresh, so a fix made
    in e-conomic counts on the next retry without a restart.
    """

    def __init__(
        self,
        api: EconomicApi,
        *,
        page_size: int,
        vat_articles: bool,
        vat_zone: int,
        cache: AccountCache | None = None,
    ) -> None:
        self.api = api
        self.page_size = page_size
        self.vat_articles = vat_articles
        self.cache = cache if cache is not None else AccountCache(SystemClock(), ttl=REFERENCE_TTL)
        self.chain = VatChain(api, zone=vat_zone, page_size=page_size, cache=self.cache)

    async def _product_list(self) -> dict[str, wire.Product]:
        return {
            p.product_number: p
            async for p in self.api.pages(
                "products", wire.Product, "the product list", page_size=self.page_size
            )
        }

    async def _products(self) -> dict[str, wire.Product]:
        """The agreement's products by number: one dict, shared, and filled in by lookups."""
        return await self.cache.get(("products",), self._product_list)

    async def _lookup(self, number: str) -> wire.Product | None:
        response = await self.api.request("GET", f"products/{wire.encode_product_number(number)}")
        if response.status_code == 404:
            return None
        return self.api.decode(response, wire.Product, f"product {number}")

    async def product(self, number: str) -> wire.Product | None:
        products = await self._products()
        found = products.get(number)
        if found is not None:
            return found
        if not number or len(number) > 25:
            return None
        # one lookup however many connections ask at once; the answer goes into the list
        found = await self.cache.get(
            ("product", number), lambda: self._lookup(number), keep=lambda _: False
        )
        if found is not None:
            products[number] = found
        return found

    async def vat(self, product: wire.Product) -> GroupVat:
        """The VAT rate of a product in the configured VAT zone (or why it has none)."""
        if product.product_group is None:
            return GroupVat(None, None, "it has no product group")
        return await self.chain.of_group(product.product_group.product_group_number)

    def _alternative(self, line: DocumentLine) -> str:
        return f"{line.article_number}-{rate_text(line.vat_rate)}"

    async def article_for(self, where: str, line: DocumentLine) -> wire.Product:
        """The product to put on ``line``, or a PermanentError that starts with ``where``
        (e.g. "Order 12 row 3") and names the fix."""
        try:
            return await self._choose(where, line)
        except _Refused:
            self._forget(line)
            return await self._choose(where, line)

    def forget_lines(self, lines: Iterable[DocumentLine]) -> None:
        """Read the articles of ``lines`` (and their alternatives) and their VAT chains afresh
        next time, for every connection on the agreement: e-conomic refused a document
        with them, so what is kept of them may be out of date."""
        for line in lines:
            self._forget(line)

    def _forget(self, line: DocumentLine) -> None:
        listed = self.cache.peek(("products",), stale=True)
        if not isinstance(listed, dict):
            return
        for number in (line.article_number, self._alternative(line)):
            product = listed.pop(number, None)
            if isinstance(product, wire.Product) and product.product_group is not None:
                self.chain.forget(product.product_group.product_group_number)

    async def _choose(self, where: str, line: DocumentLine) -> wire.Product:
        rate = line.vat_rate
        number = line.article_number
        product = await self.product(number)
        if line.kind == LineKind.ITEM:
            if product is None:
                raise _Refused(
                    f"{where}: article {number!r} does not exist in e-conomic; create article "
                    f"{number} in e-conomic in a product group with {rate_text(rate)} % VAT, "
                    "or correct the SKU in the shop."
                )
            await self._check_rate(where, product, rate)
            return product

        kind = _KIND_NAMES.get(line.kind, str(line.kind))
        if product is not None and (await self.vat(product)).rate == rate:
            return product
        alternative = self._alternative(line)
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
            raise _Refused(
                f"{where}: there is no e-conomic article for the {kind} row at "
                f"{rate_text(rate)} % VAT (article {number!r} does not exist); {fix}."
            )
        has = await self.vat(product)
        has_text = "no VAT rate" if has.rate is None else f"{rate_text(has.rate)} % VAT"
        why = f" ({has.problem})" if has.rate is None else ""
        if self.vat_articles:
            fix = f"add article {alternative} with a {rate_text(rate)} % product group"
        else:
            fix = (
                f"move {number} to a {rate_text(rate)} % product group, or set "
                f"vat_articles = true and add article {alternative}"
            )
        raise _Refused(
            f"{where}: the {kind} row has {rate_text(rate)} % VAT but article {number!r} has "
            f"{has_text} in e-conomic{why}; {fix}."
        )

    async def _check_rate(self, where: str, product: wire.Product, rate: Decimal) -> None:
        has = await self.vat(product)
        if has.rate == rate:
            return
        number = product.product_number
        group = has.group
        if has.rate is None:
            zone = self.chain.zone
            raise _Refused(
                f"{where}: article {number!r} (product group {group}) has no VAT rate in "
                f"e-conomic for VAT zone {zone}: {has.problem}; fix product group {group} in "
                f"e-conomic, or move {number} to a product group whose sales account for VAT "
                f"zone {zone} has a {rate_text(rate)} % VAT code."
            )
        raise _Refused(
            f"{where}: article {number!r} has {rate_text(has.rate)} % VAT in e-conomic (product "
            f"group {group}) but the shop charged {rate_text(rate)} %; move {number} to a "
            f"product group with {rate_text(rate)} % VAT, or correct the VAT rate in the shop."
        )
