"""Product, variant, price, stock, price-list and web-hook routes of the Starweb simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_starweb.simulator.catalog import (
    SHOP_LANGUAGE,
    WEBHOOK_EVENTS,
    CatalogState,
    SimProduct,
    SimVariant,
)
from brygga_starweb.simulator.catalog_attributes import attribute_routes
from brygga_starweb.simulator.http import (
    body_json,
    get_bool,
    get_decimal,
    get_int,
    get_str,
    includes,
    json_response,
    page_of,
    query_datetime,
    require,
)
from brygga_starweb.simulator.records import ApiError
from brygga_starweb.simulator.state import Knobs

__all__ = ["catalog_routes"]

PRODUCT_INCLUDES = frozenset({"primaryVariant", "primaryVariant.prices", "languages"})
VARIANT_INCLUDES = frozenset({"prices", "attributeValues"})


def _bad(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} was not found")


def _vat(body: dict[str, Any]) -> Decimal | None:
    """``defaultVatRate``: the spec types it as a (nullable) string; numbers are accepted."""
    raw = body.get("defaultVatRate")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise _bad('defaultVatRate must be a string such as "25"')
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise _bad("defaultVatRate must be a number from 0 to 100") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise _bad("defaultVatRate must be a number from 0 to 100")
    return rate


def _languages(body: dict[str, Any]) -> list[dict[str, Any]]:
    languages = body.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, dict) for x in languages):
        raise _bad("languages must be a list of {langCode, name}")
    return languages


def _has_links(body: dict[str, Any]) -> bool:
    links = body.get("attributeValueLinks")
    return isinstance(links, list) and bool(links) and all(isinstance(x, int) for x in links)


class CatalogApi:
    def __init__(self, catalog: CatalogState, knobs: Knobs, now: Callable[[], datetime]) -> None:
        self.catalog = catalog
        self.knobs = knobs
        self.now = now

    def _product(self, request: Request) -> SimProduct:
        return self.catalog.product(int(request.path_params["product_id"]))

    def _variant(self, request: Request) -> tuple[SimProduct, SimVariant]:
        product = self._product(request)
        return product, product.variant(int(request.path_params["variant_id"]))

    def _touch(self, product: SimProduct) -> None:
        product.modified_at = self.now()

    async def list_products(self, request: Request) -> Response:
        wanted = includes(request, PRODUCT_INCLUDES)
        sku = request.query_params.get("filterSku")
        created = query_datetime(request, "createdSince")
        updated = query_datetime(request, "updatedSince")
        if sku is None and updated is not None:
            # by the index by modifiedAt: only the products changed since, not a scan
            since = self.catalog.modified_since(updated)
            candidates = sorted(since, key=lambda p: p.product_id)
        elif sku is None:
            candidates = sorted(self.catalog.products.values(), key=lambda p: p.product_id)
        else:  # by the SKU index, not a scan (the API keeps SKUs unique)
            found = self.catalog.find_sku(sku)
            candidates = [] if found is None else [found[0]]
        rows = [
            p
            for p in candidates
            if (sku is None or self._sku_matches(p, sku))
            and (created is None or p.created_at >= created)
            and (updated is None or p.modified_at >= updated)
        ]
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        body = json_response({"data": [p.wire(wanted) for p in chunk], "meta": meta})
        if self.knobs.on_products_page is not None:
            self.knobs.on_products_page(meta["pagination"]["current_page"])
        return body

    def _sku_matches(self, product: SimProduct, sku: str) -> bool:
        """``filterSku``: any variant's SKU, or only the primary one (a knob: the spec does
        not say which)."""
        if self.knobs.filter_sku_matches_variants:
            return any(v.sku == sku for v in product.variants)
        return bool(product.variants) and product.variants[0].sku == sku

    async def create_product(self, request: Request) -> Response:
        """``POST /products`` with ``ProductModelUpdatable``: languages, defaultVatRate,
        visibility (default hidden), externalId and variants with their prices."""
        body = await body_json(request)
        languages = _languages(body)
        name = next((str(x.get("name", "")) for x in languages), "")
        variants = body.get("variants") or []
        if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
            raise _bad("variants must be a list of variant objects")
        if len(variants) > 1 and not all(_has_links(v) for v in variants):
            raise _bad(
                "attributeValueLinks is mandatory for the variants of a product with several "
                "variants"
            )
        for entry in variants:
            sku = require(get_str(entry, "sku", 40), "variants[].sku")
            if self.catalog.find_sku(sku) is not None:
                raise _bad(f"sku {sku!r} is already in use")
        visibility = get_str(body, "visibility", 20) or "hidden"
        if visibility not in ("hidden", "visible", "pricelists"):
            raise _bad("visibility must be hidden, visible or pricelists")
        product = self.catalog.add_product(name, _vat(body), self.now())
        product.visibility = visibility
        product.external_id = get_str(body, "externalId", 40) or ""
        for entry in variants:
            self._new_variant(product, entry)
        return json_response({"data": product.wire(frozenset({"languages"}))}, 201)

    def _new_variant(self, product: SimProduct, body: dict[str, Any]) -> SimVariant:
        links = body.get("attributeValueLinks") or []
        names = [self.catalog.value_name(x) if isinstance(x, int) else None for x in links]
        if None in names:
            raise _bad("attributeValueLinks must be ids of existing attribute values")
        variant = self.catalog.add_variant(product, require(get_str(body, "sku", 40), "sku"))
        if links:
            variant.attribute_value_id, variant.name = links[0], str(names[0])
        self._write_variant(variant, body)
        prices = body.get("prices") or []
        if not isinstance(prices, list) or not all(isinstance(p, dict) for p in prices):
            raise _bad("prices must be a list of {pricelistId, priceExVat, specialPriceExVat}")
        for price in prices:
            pricelist = require(get_int(price, "pricelistId"), "prices[].pricelistId")
            self._write_price(product, variant, pricelist, price)
        return variant

    async def product(self, request: Request) -> Response:
        product = self._product(request)
        if request.method == "GET":
            return json_response({"data": product.wire(includes(request, PRODUCT_INCLUDES))})
        if request.method == "DELETE":
            del self.catalog.products[product.product_id]
            return Response(status_code=204)
        body = await body_json(request)
        visibility = get_str(body, "visibility", 20)
        if visibility not in (None, "hidden", "visible", "pricelists"):
            raise _bad("visibility must be hidden, visible or pricelists")
        product.visibility = visibility or product.visibility
        vat = _vat(body)
        product.default_vat_rate = vat if vat is not None else product.default_vat_rate
        external = get_str(body, "externalId", 40)
        product.external_id = product.external_id if external is None else external
        if "languages" in body:
            for language in _languages(body):
                if language.get("langCode") == SHOP_LANGUAGE:
                    product.name = require(get_str(language, "name", 150), "languages[].name")
        self._touch(product)
        return json_response({"data": product.wire()})

    async def languages(self, request: Request) -> Response:
        product = self._product(request)
        return json_response({"data": [product.language_wire()]})

    async def language(self, request: Request) -> Response:
        """One product language; the simulated shop has only its default language."""
        product = self._product(request)
        if request.path_params["lang_code"] != SHOP_LANGUAGE:
            raise _not_found(f"Language {request.path_params['lang_code']!r} of the product")
        if request.method != "GET":
            body = await body_json(request)
            name = get_str(body, "name", 150)
            if request.method == "PUT":
                name = require(name, "name")
            product.name = product.name if name is None else name
            self._touch(product)
        return json_response({"data": product.language_wire()})

    async def shop(self, request: Request) -> Response:
        return json_response(
            {
                "data": {
                    "name": "Butiken",
                    "idCode": "butiken",
                    "status": "open",
                    "defaultLangCode": SHOP_LANGUAGE,
                    "activeLangCodes": [SHOP_LANGUAGE],
                    "baseCurrency": self.catalog.pricelists[min(self.catalog.pricelists)].currency,
                    "defaultCustomerCountryCode": "SE",
                    "generalDefaultVatRate": 25,
                    "shopCountryCode": "SE",
                }
            }
        )

    async def list_variants(self, request: Request) -> Response:
        product = self._product(request)
        wanted = includes(request, VARIANT_INCLUDES)
        chunk, meta = page_of(product.variants, request, self.knobs.page_size)
        return json_response({"data": [v.wire(wanted) for v in chunk], "meta": meta})

    def _write_variant(self, variant: SimVariant, body: dict[str, Any]) -> None:
        status = get_int(body, "stockStatusId")
        if status is not None and status not in self.catalog.stock_statuses:
            raise _bad(f"stockStatusId {status} does not exist")
        active = get_bool(body, "isActive")
        quantity = get_int(body, "stockQuantity")
        ean = get_str(body, "ean", 20)
        weight = get_decimal(body, "weightInKg")
        if weight is not None and weight < 0:
            raise _bad("weightInKg must not be negative")
        if "weightInKg" in body:
            variant.weight = weight
        variant.is_active = variant.is_active if active is None else active
        variant.stock_status_id = status or variant.stock_status_id
        variant.stock_quantity = variant.stock_quantity if quantity is None else quantity
        variant.ean = variant.ean if ean is None else ean

    async def create_variant(self, request: Request) -> Response:
        product = self._product(request)
        body = await body_json(request)
        if product.variants and not _has_links(body):
            raise _bad(
                "attributeValueLinks is mandatory for the variants of a product with several "
                "variants"
            )
        variant = self._new_variant(product, body)
        self._touch(product)
        return json_response({"data": variant.wire()}, 201)

    async def variant(self, request: Request) -> Response:
        product, variant = self._variant(request)
        if request.method == "GET":
            return json_response({"data": variant.wire(includes(request, VARIANT_INCLUDES))})
        if request.method == "DELETE":
            product.variants.remove(variant)
            self._touch(product)
            return Response(status_code=204)
        body = await body_json(request)
        sku = get_str(body, "sku", 40)
        if sku is not None and sku != variant.sku:
            if self.catalog.find_sku(sku) is not None:
                raise _bad(f"sku {sku!r} is already in use")
            variant.sku = sku
        self._write_variant(variant, body)
        self._touch(product)
        return json_response({"data": variant.wire()})

    async def list_prices(self, request: Request) -> Response:
        _, variant = self._variant(request)
        return json_response({"data": [variant.price_wire(p) for p in sorted(variant.prices)]})

    def _write_price(
        self, product: SimProduct, variant: SimVariant, pricelist: int, body: dict[str, Any]
    ) -> None:
        if pricelist not in self.catalog.pricelists:
            raise _bad(f"pricelistId {pricelist} does not exist")
        old = variant.prices.get(pricelist)
        price = get_decimal(body, "priceExVat")
        if price is None:
            if old is None:
                raise _bad("priceExVat is required")
            price = old[0]
        special = get_decimal(body, "specialPriceExVat")
        if "specialPriceExVat" not in body and old is not None:
            special = old[1]
        variant.prices[pricelist] = (price, special)
        self._touch(product)

    async def create_price(self, request: Request) -> Response:
        product, variant = self._variant(request)
        body = await body_json(request)
        pricelist = require(get_int(body, "pricelistId"), "pricelistId")
        if pricelist in variant.prices:
            raise _bad(f"The variant already has a price in price list {pricelist}")
        self._write_price(product, variant, pricelist, body)
        return json_response({"data": variant.price_wire(pricelist)}, 201)

    async def price(self, request: Request) -> Response:
        product, variant = self._variant(request)
        pricelist = int(request.path_params["pricelist_id"])
        if request.method in ("GET", "DELETE") and pricelist not in variant.prices:
            raise _not_found(f"A price in price list {pricelist}")
        if request.method == "GET":
            return json_response({"data": variant.price_wire(pricelist)})
        if request.method == "DELETE":
            del variant.prices[pricelist]
            self._touch(product)
            return Response(status_code=204)
        body = await body_json(request)
        if get_int(body, "pricelistId") not in (None, pricelist):
            raise _bad("pricelistId in the body must match the path")
        if request.method == "PUT":
            require(get_decimal(body, "priceExVat"), "priceExVat")
        self._write_price(product, variant, pricelist, body)
        return json_response({"data": variant.price_wire(pricelist)})

    async def list_stocks(self, request: Request) -> Response:
        _, variant = self._variant(request)
        return json_response({"data": [variant.stock_wire(s) for s in sorted(variant.stocks)]})

    async def stock(self, request: Request) -> Response:
        product, variant = self._variant(request)
        location = int(request.path_params["location_id"])
        if location not in self.catalog.stock_locations:
            raise _not_found(f"Stock location {location}")
        if request.method == "GET":
            if location not in variant.stocks:
                raise _not_found(f"Stock at location {location}")
            return json_response({"data": variant.stock_wire(location)})
        body = await body_json(request)
        status = require(get_int(body, "stockStatusId"), "stockStatusId")
        quantity = require(get_decimal(body, "stockQuantity"), "stockQuantity")
        if status not in self.catalog.stock_statuses:
            raise _bad(f"stockStatusId {status} does not exist")
        variant.stocks[location] = (status, quantity)
        if location == min(self.catalog.stock_locations):
            variant.stock_quantity = int(quantity)
            variant.stock_status_id = status
        self._touch(product)
        return json_response({"data": variant.stock_wire(location)})

    async def list_pricelists(self, request: Request) -> Response:
        rows = [p.wire() for _, p in sorted(self.catalog.pricelists.items())]
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        return json_response({"data": chunk, "meta": meta})

    async def get_pricelist(self, request: Request) -> Response:
        found = self.catalog.pricelists.get(int(request.path_params["pricelist_id"]))
        if found is None:
            raise _not_found("Price list")
        return json_response({"data": found.wire()})

    async def stock_locations(self, request: Request) -> Response:
        rows = [
            {
                "stockLocationId": lid,
                "visibility": "visible",
                "sortIndex": lid,
                "ecommerceStockLocation": lid == min(self.catalog.stock_locations),
                "languages": [{"langCode": "sv", "name": name}],
            }
            for lid, name in sorted(self.catalog.stock_locations.items())
        ]
        return json_response({"data": rows})

    async def stock_statuses(self, request: Request) -> Response:
        rows = [
            {
                "stockStatusId": sid,
                "idCode": code,
                "productBuyable": code != "outOfStock",
                "inStock": code == "inStock",
                "stockoutNewStatusId": None,
            }
            for sid, code in sorted(self.catalog.stock_statuses.items())
        ]
        return json_response({"data": rows})

    def _write_hook(
        self, body: dict[str, Any], *, create: bool
    ) -> tuple[str, str, str, int | None]:
        name = get_str(body, "name", 255)
        event = get_str(body, "event", 40)
        url = get_str(body, "url", 2000)
        if create:
            event = require(event, "event")
            url = require(url, "url")
        if event is not None and event not in WEBHOOK_EVENTS:
            raise _bad(f"event must be one of {', '.join(sorted(WEBHOOK_EVENTS))}")
        if url is not None and not url.startswith(("http://", "https://")):
            raise _bad("url must be an http(s) URL")
        return name or "", event or "", url or "", get_int(body, "statusId")

    async def list_webhooks(self, request: Request) -> Response:
        rows = [h.wire() for _, h in sorted(self.catalog.webhooks.items())]
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        return json_response({"data": chunk, "meta": meta})

    async def create_webhook(self, request: Request) -> Response:
        name, event, url, status_id = self._write_hook(await body_json(request), create=True)
        hook = self.catalog.add_webhook(name, event, url, status_id)
        return json_response({"data": hook.wire()}, 201)

    async def webhook(self, request: Request) -> Response:
        hook = self.catalog.webhooks.get(int(request.path_params["hook_id"]))
        if hook is None:
            raise _not_found("Web hook")
        if request.method == "GET":
            return json_response({"data": hook.wire()})
        if request.method == "DELETE":
            del self.catalog.webhooks[hook.web_hook_id]
            return Response(status_code=204)
        body = await body_json(request)
        name, event, url, status_id = self._write_hook(body, create=request.method == "PUT")
        hook.name = name or hook.name
        hook.event = event or hook.event
        hook.url = url or hook.url
        hook.status_id = status_id if "statusId" in body else hook.status_id
        return json_response({"data": hook.wire()})


def catalog_routes(catalog: CatalogState, knobs: Knobs, now: Callable[[], datetime]) -> list[Route]:
    api = CatalogApi(catalog, knobs, now)
    product = "/products/{product_id:int}"
    variant = product + "/variants/{variant_id:int}"
    return [
        Route("/products", api.list_products, methods=["GET"]),
        Route("/products", api.create_product, methods=["POST"]),
        Route(product, api.product, methods=["GET", "PATCH", "DELETE"]),
        Route(f"{product}/languages", api.languages, methods=["GET"]),
        Route(product + "/languages/{lang_code}", api.language, methods=["GET", "PUT", "PATCH"]),
        Route(f"{product}/variants", api.list_variants, methods=["GET"]),
        Route(f"{product}/variants", api.create_variant, methods=["POST"]),
        Route(variant, api.variant, methods=["GET", "PATCH", "DELETE"]),
        Route(f"{variant}/prices", api.list_prices, methods=["GET"]),
        Route(f"{variant}/prices", api.create_price, methods=["POST"]),
        Route(
            variant + "/prices/{pricelist_id:int}",
            api.price,
            methods=["GET", "PUT", "PATCH", "DELETE"],
        ),
        Route(f"{variant}/stocks", api.list_stocks, methods=["GET"]),
        Route(variant + "/stocks/{location_id:int}", api.stock, methods=["GET", "PUT"]),
        Route("/pricelists", api.list_pricelists, methods=["GET"]),
        Route("/pricelists/{pricelist_id:int}", api.get_pricelist, methods=["GET"]),
        Route("/stock-locations", api.stock_locations, methods=["GET"]),
        Route("/shop", api.shop, methods=["GET"]),
        Route("/product-stock-statuses", api.stock_statuses, methods=["GET"]),
        Route("/web-hooks", api.list_webhooks, methods=["GET"]),
        Route("/web-hooks", api.create_webhook, methods=["POST"]),
        Route("/web-hooks/{hook_id:int}", api.webhook, methods=["GET", "PUT", "PATCH", "DELETE"]),
        *attribute_routes(catalog, knobs),
    ]
