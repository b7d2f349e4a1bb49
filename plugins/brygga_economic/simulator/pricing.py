"""Simulated currency-specific sales prices (``/products/{n}/pricing/...-sales-prices``).

As e-conomic/slate ``source/includes/_products.md`` documents them: GET (the collection, or one
``/{currencyCode}``), POST (``price``, ``currency.code``), PUT ``/{currencyCode}`` and DELETE
``/{currencyCode}`` (204). They are "excluding base currency price": the base currency's price
is ``salesPrice`` on the product. Whether a change here moves the product's ``lastUpdated`` is
not documented; the simulator does not move it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_economic.simulator.errors import BAD_VALUE, DUPLICATE, PRICE_SCALE, Annotations
from brygga_economic.simulator.http import json_response
from brygga_economic.simulator.state import SimState, is_number
from brygga_economic.simulator.wire import decode_id, encode_id

__all__ = ["price_row", "pricing_routes"]

_PATH = "/products/{number}/pricing/currency-specific-sales-prices"


def price_row(number: str, code: str, price: Decimal) -> dict[str, Any]:
    """One currency-specific sales price as e-conomic shows it (relative links)."""
    base = f"/products/{encode_id(number)}/pricing/currency-specific-sales-prices"
    return {
        "price": price,
        "currency": {"code": code, "self": f"/currencies/{code}"},
        "product": {"productNumber": number, "self": f"/products/{encode_id(number)}"},
        "self": f"{base}/{code}",
    }


def _checked_price(body: Any, errors: Annotations) -> Decimal | None:
    if not isinstance(body, dict):
        errors.add((), BAD_VALUE, "The request body must be a JSON object.")
        return None
    value = body.get("price")
    if not is_number(value):
        errors.add(("price",), BAD_VALUE, "price must be a number.", value=value)
        return None
    price = Decimal(value)
    if price != price.quantize(Decimal("0.01")):
        errors.add(
            ("price",), PRICE_SCALE, "price scale cannot be greater then two decimal places."
        )
    return price


def pricing_routes(
    state: SimState,
    fail: Callable[[int, str], Exception],
    read_body: Callable[[Request], Awaitable[Any]],
) -> list[Route]:
    """The routes over ``state.currency_prices`` (product number → currency code → price)."""

    def product_of(request: Request) -> str:
        number = decode_id(request.path_params["number"])
        if number not in state.products:
            raise fail(404, f"Product {number} not found.")
        return number

    async def collection(request: Request) -> Response:
        number = product_of(request)
        prices = state.currency_prices.get(number, {})
        if request.method == "POST":
            body = await read_body(request)
            errors = Annotations()
            price = _checked_price(body, errors)
            currency = body.get("currency") if isinstance(body, dict) else None
            code = currency.get("code") if isinstance(currency, dict) else None
            if code not in state.currencies:
                errors.add(("currency", "code"), BAD_VALUE, "Unknown currency.", value=code)
            elif code in prices:
                errors.add(
                    ("currency", "code"),
                    DUPLICATE,
                    "The product already has a price in this currency.",
                    value=code,
                )
            errors.raise_if_any(state.clock.now())
            assert price is not None and isinstance(code, str)
            state.currency_prices.setdefault(number, {})[code] = price
            row = price_row(number, code, price)
            location = str(request.base_url).rstrip("/") + row["self"]
            return json_response(row, request, 201, {"Location": location})
        rows = [price_row(number, code, prices[code]) for code in sorted(prices)]
        page = {
            "collection": rows,
            "pagination": {"skipPages": 0, "pageSize": max(len(rows), 1), "results": len(rows)},
            "self": f"/products/{encode_id(number)}/pricing/currency-specific-sales-prices",
        }
        return json_response(page, request)

    async def single(request: Request) -> Response:
        number = product_of(request)
        code = request.path_params["code"]
        prices = state.currency_prices.setdefault(number, {})
        if request.method == "PUT":
            if code not in state.currencies:
                raise fail(404, f"No currency with code {code}.")
            errors = Annotations()
            price = _checked_price(await read_body(request), errors)
            errors.raise_if_any(state.clock.now())
            assert price is not None
            prices[code] = price
            return json_response(price_row(number, code, price), request)
        if code not in prices:
            raise fail(404, f"Product {number} has no currency-specific sales price in {code}.")
        if request.method == "DELETE":
            del prices[code]
            return Response(status_code=204)
        return json_response(price_row(number, code, prices[code]), request)

    return [
        Route(_PATH, collection, methods=["GET", "POST"]),
        Route(_PATH + "/{code}", single, methods=["GET", "PUT", "DELETE"]),
    ]
