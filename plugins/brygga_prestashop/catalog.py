"""The PrestaShop adapter's catalog side: articles read and written, prices, price lists.

Documented (reference/shop-apis.md §3.6/§3.7, [PS8][PS14]) and relied on: a product's
``price`` is its base price excluding VAT; a combination's ``price`` is an **impact** added to
it, not a price of its own; ``quantity`` is not writable; VAT comes from the product's
``id_tax_rules_group`` through ``tax_rules`` (per country) to ``taxes.rate``; group prices are
``specific_prices`` rows with ``id_group`` (``price`` absolute excl. VAT, ``-1`` keeps the
base price, ``from_quantity``, ``reduction``/``reduction_type``, ``from``/``to``
``0000-00-00 00:00:00`` for unlimited); PUT resets what it does not carry, so 1.7 writes send
the whole record read just before and 8.x writes PATCH the changed fields.

Chosen (modelled, not documented):

- **One article per SKU**: a product without combinations is one article (its
  ``reference``); a product with combinations is one article per combination, with
  ``product_sku`` the product's reference. The attribute values are not read: a
  combination's ``variant_name`` is what its reference adds to the product's after a
  separator (``TROJA-S`` of ``TROJA`` → ``S``; ``-``, ``_``, ``.``, ``/`` or a space), else
  empty, and its name the product's and that (:func:`brygga.catalog.variant_title`:
  "Tröja S").
- **A product's own record** (``Article.has_variants``, e.g. Specter's parent item) is the
  product, never a combination: it creates the product (no combinations yet, base price 0)
  or writes its name, VAT rate, active flag and EAN; never a price (a base price under
  combinations would move every combination's price) and never stock. A combination whose
  product (``product_sku``) the shop lacks creates that product first, named with
  :func:`brygga.catalog.product_title`.
- **Change feed**: products by ``date_upd`` (``date=1``); a change to a combination alone is
  taken to move its product's ``date_upd`` [inferred], as in the back office.
- **Currency**: the shop's catalog prices are in ``currency`` (config, the shop default);
  an article or price in another currency is refused (PrestaShop converts by rate).
- **VAT rate** of an article: the tax rule of ``country`` (config) in its tax rules group.
  A new product gets the group whose rule for that country has the article's rate.
- **Price lists**: ``target_list`` names a customer group (id or name); the list price is a
  ``specific_prices`` row for that group (any shop of the key unless ``id_shop``, any
  currency, country and customer, unlimited in time), found before it is written.
- **Names**: a product's name is written from an article without combinations or from the
  product's own record only (a combination's article name names the variant, "Tröja S", and
  its siblings would overwrite each other).
- **Not written**: campaign prices (``campaign_price`` is ignored), weights, the product's
  categories and images; a new combination gets no attribute values.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from brygga.catalog import Article, ArticleChange, ListPrice, product_title, variant_title
from brygga.errors import PermanentError
from brygga.registers import Written
from brygga_prestashop.states import slug
from brygga_prestashop.stock import PrestashopStock
from brygga_prestashop.wire import (
    Record,
    escape_filter,
    get_date,
    get_decimal,
    get_id,
    get_text,
    xml_body,
)

__all__ = ["CATALOG_NOTES", "PrestashopCatalog"]

log = logging.getLogger(__name__)

#: fields PrestaShop refuses in a write body (``setter: false``, 400 code 93)
READ_ONLY = frozenset({"quantity", "manufacturer_name", "position_in_category"})
#: language fields of products: JSON shows them as plain text when one language is output
#: (§3.5), but a write must send them per language
LANGUAGE_FIELDS = frozenset(
    {
        "name",
        "description",
        "description_short",
        "link_rewrite",
        "meta_title",
        "meta_description",
        "meta_keywords",
        "available_now",
        "available_later",
        "delivery_in_stock",
        "delivery_out_stock",
    }
)
UNLIMITED = "0000-00-00 00:00:00"

CATALOG_NOTES = (
    "PrestaShop combination prices are impacts on the product's base price; brygga reads "
    "and writes them as absolute prices per SKU.",
    "Customer-group prices are specific_prices rows for the group; campaign prices, "
    "weights, categories and attribute values are not written.",
)


@dataclass
class Located:
    """An SKU in the shop: its product, and the combination when it is one."""

    product: Record
    combination: Record | None


def _local(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.000001'))}"


#: what may stand between a product's reference and a combination's (``TROJA-S``)
SEPARATORS = "-_./ "


def variant_name_of(reference: str, sku: str) -> str:
    """The variant name a combination's reference tells: what it adds to its product's
    reference after a separator (``"TROJA", "TROJA-S"`` → ``"S"``), else ""."""
    if not reference or len(sku) <= len(reference) + 1 or not sku.startswith(reference):
        return ""
    if sku[len(reference)] not in SEPARATORS:
        return ""
    return sku[len(reference) + 1 :].strip(SEPARATORS)


def _combination_ids(product: Record) -> list[int]:
    assoc = product.get("associations")
    combos = assoc.get("combinations") if isinstance(assoc, dict) else None
    if not isinstance(combos, list):
        return []
    return [int(c["id"]) for c in combos if isinstance(c, dict) and str(c.get("id", "")).isdigit()]


class PrestashopCatalog(PrestashopStock):
    """ProductSource, ProductSink, PriceSink and PriceListSink for the adapter."""

    catalog_currency: str
    catalog_country: str
    language: int | None
    page_size: int
    _zone: ZoneInfo

    def _catalog_init(self) -> None:
        self._group_rates: dict[int, Decimal | None] = {}
        self._country_id: int | None = None
        self._groups: dict[str, int] | None = None

    # -- reading --------------------------------------------------------------------------

    async def _tax_country(self) -> int:
        if self._country_id is None:
            what = f"PrestaShop shop {self.shop}: country {self.catalog_country}"
            rows = await self._list(
                "countries",
                what,
                {
                    "display": "[id,iso_code]",
                    "filter[iso_code]": f"[{self.catalog_country}]",
                    "sort": "[id_ASC]",
                },
            )
            if not rows:
                raise PermanentError(
                    f"{what}: the shop has no such country; set country to an ISO code the "
                    "shop has (its tax rules are read for it)"
                )
            self._country_id = get_id(rows[0], "id", what)
        return self._country_id

    async def _rate_of(self, group_id: int, what: str) -> Decimal | None:
        """The VAT rate of a tax rules group for ``country``; None for no tax rule."""
        if group_id == 0:
            return Decimal(0)
        if group_id not in self._group_rates:
            country = await self._tax_country()
            rules = await self._list(
                "tax_rules",
                what,
                {
                    "display": "full",
                    "filter[id_tax_rules_group]": f"[{group_id}]",
                    "filter[id_country]": f"[{country}]",
                    "sort": "[id_ASC]",
                },
            )
            rate = None
            if rules:
                tax_id = get_id(rules[0], "id_tax", what)
                tax = await self._detail("taxes", "tax", tax_id, f"{what}, tax {tax_id}")
                rate = get_decimal(tax, "rate", f"{what}, tax {tax_id}")
            self._group_rates[group_id] = rate
        return self._group_rates[group_id]

    async def _group_for(self, rate: Decimal, what: str) -> int:
        if rate == 0:
            return 0  # PrestaShop's "No tax"
        groups = await self._list(
            "tax_rule_groups", what, {"display": "[id,active]", "sort": "[id_ASC]"}
        )
        for group in groups:
            gid = get_id(group, "id", what)
            if get_text(group, "active", what) != "0" and await self._rate_of(gid, what) == rate:
                return gid
        raise PermanentError(
            f"{what}: the shop has no tax rules group with {rate:g} % VAT for "
            f"{self.catalog_country}; create one in PrestaShop (International > Taxes), then "
            "retry"
        )

    async def _combinations_of(self, product_id: int, what: str) -> list[Record]:
        rows = await self._list(
            "combinations",
            what,
            {"display": "full", "filter[id_product]": f"[{product_id}]", "sort": "[id_ASC]"},
        )
        return sorted(rows, key=lambda r: get_id(r, "id", what))

    async def _locate(self, sku: str, what: str) -> Located | None:
        combos = await self._by_reference("combinations", sku, what)
        if len(combos) > 1:
            raise PermanentError(
                f"{what}: several combinations have this reference; make references unique"
            )
        if combos:
            product_id = get_id(combos[0], "id_product", what)
            product = await self._detail("products", "product", product_id, what)
            return Located(product, combos[0])
        products = await self._by_reference("products", sku, what)
        if len(products) > 1:
            raise PermanentError(
                f"{what}: several products have this reference; make references unique"
            )
        if not products:
            return None
        product = products[0]
        if _combination_ids(product):
            raise PermanentError(
                f"{what}: product {product.get('id')} has combinations, so its own reference "
                "is no sellable article; use the combinations' references"
            )
        return Located(product, None)

    async def _article(self, located: Located) -> Article:
        product, combo = located.product, located.combination
        pid = product.get("id")
        what = f"PrestaShop product {pid}" + (f", combination {combo.get('id')}" if combo else "")
        price = get_decimal(product, "price", what)
        if combo is not None:
            price += get_decimal(combo, "price", what, required=False)  # an impact (§3.6)
        reference = get_text(product, "reference", what)
        sku = get_text(combo, "reference", what) if combo is not None else reference
        if not sku:
            raise PermanentError(f"{what} has no reference, so no article can be matched")
        group = get_id(product, "id_tax_rules_group", what)
        ean = get_text(combo, "ean13", what) if combo is not None else ""
        name = get_text(product, "name", what, language=self.language)
        variant = variant_name_of(reference, sku) if combo is not None else ""
        return Article(
            sku=sku,
            name=variant_title(name, variant),
            product_sku=reference if combo is not None else "",
            variant_name=variant,
            currency=self.catalog_currency,
            price=max(price, Decimal(0)),
            vat_rate=await self._rate_of(group, what),
            ean=ean or get_text(product, "ean13", what),
            active=get_text(product, "active", what) == "1",
            modified_at=get_date(product, "date_upd", what, self._zone),
        )

    async def _articles_of(self, product: Record, what: str) -> list[Article]:
        ids = _combination_ids(product)
        if not ids:
            return [await self._article(Located(product, None))]
        combos = await self._combinations_of(get_id(product, "id", what), what)
        return [await self._article(Located(product, c)) for c in combos]

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        """Every SKU of the products whose ``date_upd`` lies in ``[since, until)``."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        what = f"PrestaShop shop {self.shop}: product list"
        window = f"[{_local(since, self._zone)},{_local(until + timedelta(seconds=1), self._zone)}]"
        last = 0
        while True:  # keyset on id: a product edited meanwhile shifts no page (§7.2)
            rows = await self._list(
                "products",
                what,
                {
                    "display": "full",
                    "date": "1",
                    "filter[date_upd]": window,
                    "filter[id]": f">[{last}]",
                    "sort": "[id_ASC]",
                    "limit": str(self.page_size),
                },
            )
            for product in rows:
                last = max(last, get_id(product, "id", what))
                modified = get_date(product, "date_upd", what, self._zone)
                if not since <= modified < until:
                    continue
                for article in await self._articles_of(product, what):
                    yield ArticleChange(sku=article.sku, modified_at=modified)
            if len(rows) < self.page_size:
                return

    async def fetch_article(self, sku: str) -> Article | None:
        what = f"PrestaShop shop {self.shop}: article {sku!r}"
        if not sku.strip():
            return None
        located = await self._locate(sku, what)
        return None if located is None else await self._article(located)

    async def all_articles(self) -> AsyncIterator[Article]:
        """Every article, a page of products at a time (keyset on id)."""
        what = f"PrestaShop shop {self.shop}: product list"
        last = 0
        while True:
            rows = await self._list(
                "products",
                what,
                {
                    "display": "full",
                    "filter[id]": f">[{last}]",
                    "sort": "[id_ASC]",
                    "limit": str(self.page_size),
                },
            )
            for product in rows:
                last = max(last, get_id(product, "id", what))
                for article in await self._articles_of(product, what):
                    yield article
            if len(rows) < self.page_size:
                return

    # -- writing --------------------------------------------------------------------------

    async def _write(
        self,
        resource: str,
        singular: str,
        record: Record,
        changes: dict[str, str | dict[int, str]],
        what: str,
    ) -> None:
        """PATCH the changed fields (8.x), or PUT the record read just before with them (1.7:
        PUT resets what it does not carry, §3.3)."""
        row_id = get_id(record, "id", what)
        if self.config_version == "8":
            body = xml_body(singular, {"id": str(row_id), **changes})
            await self._call("PATCH", f"{resource}/{row_id}", what, body=body)
            return
        fresh = await self._detail(resource, singular, row_id, what)
        fields: dict[str, str | dict[int, str]] = {}
        for name, value in fresh.items():
            if name in READ_ONLY or name == "associations":
                continue
            if isinstance(value, list):  # language list
                fields[name] = {
                    int(v["id"]): str(v.get("value", "")) for v in value if isinstance(v, dict)
                }
            elif resource == "products" and name in LANGUAGE_FIELDS:
                fields[name] = self._name("" if value is None else str(value))
            else:
                fields[name] = "" if value is None else str(value)
        fields.update(changes)
        await self._call("PUT", f"{resource}/{row_id}", what, body=xml_body(singular, fields))

    def _name(self, name: str) -> dict[int, str]:
        return {self.language or 1: name}

    def _check_currency(self, currency: str, sku: str) -> None:
        if currency != self.catalog_currency:
            raise PermanentError(
                f"SKU {sku}: a price in {currency}, but shop {self.shop} keeps its catalog in "
                f"{self.catalog_currency}; map this shop to prices in {self.catalog_currency}"
            )

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        """Create the product (or a combination of the product ``product_sku`` names) when
        missing; else write what differs: name, base price or combination impact, EAN,
        active, VAT (tax rules group)."""
        what = f"SKU {article.sku}: PrestaShop shop {self.shop}"
        escape_filter(article.sku, what)
        if article.has_variants:
            return await self._put_product(article, what, create=create, update=update)
        if article.price is not None:
            self._check_currency(article.currency, article.sku)
        located = await self._locate(article.sku, what)
        if located is None:
            if not create:
                return "skipped"
            await self._create(article, what)
            return "created"
        product, combo = located.product, located.combination
        product_changes: dict[str, str | dict[int, str]] = {}
        combo_changes: dict[str, str | dict[int, str]] = {}
        name = get_text(product, "name", what, language=self.language)
        if combo is None and article.name and name != article.name:
            # a combination's article name may name the variant: the product's name is
            # written only from an article without combinations
            product_changes["name"] = self._name(article.name)
        if article.vat_rate is not None:
            group = get_id(product, "id_tax_rules_group", what)
            if await self._rate_of(group, what) != article.vat_rate:
                product_changes["id_tax_rules_group"] = str(
                    await self._group_for(article.vat_rate, what)
                )
        base = get_decimal(product, "price", what)
        if combo is None:
            if article.price is not None and base != article.price:
                product_changes["price"] = _money(article.price)
            if article.ean and get_text(product, "ean13", what) != article.ean:
                product_changes["ean13"] = article.ean
            if (get_text(product, "active", what) == "1") != article.active:
                product_changes["active"] = "1" if article.active else "0"
        else:
            impact = get_decimal(combo, "price", what, required=False)
            if article.price is not None and base + impact != article.price:
                combo_changes["price"] = _money(article.price - base)
            if article.ean and get_text(combo, "ean13", what) != article.ean:
                combo_changes["ean13"] = article.ean
        if not product_changes and not combo_changes:
            return "unchanged"
        if not update:
            return "skipped"
        if product_changes:
            await self._write("products", "product", product, product_changes, what)
        if combo is not None and combo_changes:
            await self._write("combinations", "combination", combo, combo_changes, what)
        return "updated"

    async def _put_product(
        self, article: Article, what: str, *, create: bool, update: bool
    ) -> Written:
        """A product's own record (``has_variants``): the product with this reference, with or
        without combinations; created without any when missing. Written: name, VAT rate,
        active, EAN; never its price or stock (a product with variants has none of its own)."""
        products = await self._by_reference("products", article.sku, what)
        if len(products) > 1:
            raise PermanentError(
                f"{what}: several products have this reference; make references unique"
            )
        if not products:
            if await self._by_reference("combinations", article.sku, what):
                raise PermanentError(
                    f"{what}: the shop has a combination with this reference, but at the source "
                    f"{article.sku} is a product with variants; give the combination another "
                    "reference in PrestaShop"
                )
            if not create:
                return "skipped"
            await self._create_product(article, article.sku, article.name, what)
            return "created"
        product = products[0]
        changes: dict[str, str | dict[int, str]] = {}
        if article.name and get_text(product, "name", what, language=self.language) != article.name:
            changes["name"] = self._name(article.name)
        if article.vat_rate is not None:
            group = get_id(product, "id_tax_rules_group", what)
            if await self._rate_of(group, what) != article.vat_rate:
                changes["id_tax_rules_group"] = str(await self._group_for(article.vat_rate, what))
        if article.ean and get_text(product, "ean13", what) != article.ean:
            changes["ean13"] = article.ean
        if (get_text(product, "active", what) == "1") != article.active:
            changes["active"] = "1" if article.active else "0"
        if not changes:
            return "unchanged"
        if not update:
            return "skipped"
        await self._write("products", "product", product, changes, what)
        return "updated"

    async def _create(self, article: Article, what: str) -> None:
        parent = None
        if article.product_sku and article.product_sku != article.sku:
            reference = escape_filter(article.product_sku, what)
            found = await self._by_reference("products", reference, what)
            if not found:  # the product of the variants first: named without the variant
                name = product_title(article.name, article.variant_name)
                product = msgspec.structs.replace(article, price=Decimal(0), ean="")
                await self._create_product(product, article.product_sku, name, what)
                found = await self._by_reference("products", reference, what)
            parent = found[0] if found else None
        if parent is not None:
            base = get_decimal(parent, "price", what)
            fields: dict[str, str | dict[int, str]] = {
                "id_product": str(get_id(parent, "id", what)),
                "reference": article.sku,
                "ean13": article.ean,
                "price": _money((article.price or base) - base),
                "minimal_quantity": "1",
            }
            await self._call(
                "POST", "combinations", what, body=xml_body("combination", fields), ok=(200, 201)
            )
            return
        await self._create_product(article, article.sku, article.name, what)

    async def _create_product(self, article: Article, reference: str, name: str, what: str) -> None:
        """``POST products``: ``reference`` named ``name``, at the article's VAT rate and price
        (none: 0), without combinations."""
        if article.vat_rate is None:
            raise PermanentError(f"{what}: a new product needs a VAT rate; the source gave none")
        group = await self._group_for(article.vat_rate, what)
        fields: dict[str, str | dict[int, str]] = {
            "reference": reference,
            "name": self._name(name or reference),
            "link_rewrite": self._name(slug(name or reference) or "product"),
            "price": _money(article.price or Decimal(0)),
            "id_tax_rules_group": str(group),
            "ean13": article.ean,
            "active": "1" if article.active else "0",
        }
        await self._call("POST", "products", what, body=xml_body("product", fields), ok=(200, 201))

    async def _existing(self, sku: str, what: str) -> Located:
        escape_filter(sku, what)
        located = await self._locate(sku, what)
        if located is None:
            raise PermanentError(
                f"{what}: the shop has no product or combination with this reference; create "
                "it there (or let the products flow create it), or correct the article number"
            )
        return located

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """The base price of a product, or the impact that gives a combination ``price``
        (impact = price − the product's base price, §3.6)."""
        what = f"SKU {sku}: PrestaShop price"
        if not price.is_finite() or price < 0:
            raise PermanentError(
                f"{what}: {price} is below zero or not a number; fix it at the source"
            )
        self._check_currency(currency, sku)
        located = await self._existing(sku, what)
        base = get_decimal(located.product, "price", what)
        if located.combination is None:
            if base == price:
                return "unchanged"
            await self._write(
                "products", "product", located.product, {"price": _money(price)}, what
            )
            return "updated"
        impact = get_decimal(located.combination, "price", what, required=False)
        if base + impact == price:
            return "unchanged"
        await self._write(
            "combinations",
            "combination",
            located.combination,
            {"price": _money(price - base)},
            what,
        )
        return "updated"

    async def _group_id(self, target: str, what: str) -> int:
        if self._groups is None:
            rows = await self._list("groups", what, {"display": "full", "sort": "[id_ASC]"})
            self._groups = {}
            for row in rows:
                gid = get_id(row, "id", what)
                self._groups[str(gid)] = gid
                self._groups.setdefault(
                    get_text(row, "name", what, language=self.language).lower(), gid
                )
        found = self._groups.get(target) or self._groups.get(target.lower())
        if found is None:
            raise PermanentError(
                f"{what}: the shop has no customer group {target!r} (it has: "
                f"{', '.join(k for k in self._groups if not k.isdigit())}); map the price list "
                "to one of those"
            )
        return found

    async def put_list_price(self, target_list: str, price: ListPrice) -> Written:
        """The group's price as a ``specific_prices`` row (read first; PATCH/PUT when it
        differs, POST when there is none)."""
        what = f"SKU {price.sku}: PrestaShop price for customer group {target_list!r}"
        self._check_currency(price.currency, price.sku)
        group = await self._group_id(target_list, what)
        located = await self._existing(price.sku, what)
        product_id = get_id(located.product, "id", what)
        attribute = get_id(located.combination, "id", what) if located.combination else 0
        quantity = price.min_quantity
        if quantity != quantity.to_integral_value() or quantity < 1:
            raise PermanentError(f"{what}: from quantity {quantity} is not a whole number from 1")
        rows = await self._list(
            "specific_prices",
            what,
            {
                "display": "full",
                "filter[id_product]": f"[{product_id}]",
                "filter[id_product_attribute]": f"[{attribute}]",
                "filter[id_group]": f"[{group}]",
                "filter[id_customer]": "[0]",
                "filter[id_country]": "[0]",
                "filter[id_currency]": "[0]",
                "filter[from_quantity]": f"[{int(quantity)}]",
                "sort": "[id_ASC]",
            },
        )
        if rows:
            row = rows[0]
            same = (
                get_decimal(row, "price", what) == price.price
                and get_decimal(row, "reduction", what, required=False) == 0
            )
            if same:
                return "unchanged"
            changes: dict[str, str | dict[int, str]] = {
                "price": _money(price.price),
                "reduction": "0.000000",
                "reduction_type": "amount",
            }
            await self._write("specific_prices", "specific_price", row, changes, what)
            return "updated"
        fields: dict[str, str | dict[int, str]] = {
            "id_shop": str(self._id_shop or 0),
            "id_shop_group": "0",
            "id_cart": "0",
            "id_product": str(product_id),
            "id_product_attribute": str(attribute),
            "id_currency": "0",
            "id_country": "0",
            "id_group": str(group),
            "id_customer": "0",
            "id_specific_price_rule": "0",
            "price": _money(price.price),
            "from_quantity": str(int(quantity)),
            "reduction": "0.000000",
            "reduction_tax": "1",
            "reduction_type": "amount",
            "from": UNLIMITED,
            "to": UNLIMITED,
        }
        await self._call(
            "POST", "specific_prices", what, body=xml_body("specific_price", fields), ok=(200, 201)
        )
        return "created"
