"""Customers, articles, price lists and prices of the simulator (POST/PUT bodies to records)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from brygga_fortnox.simulator.errors import ApiError
from brygga_fortnox.simulator.state import SimState
from brygga_fortnox.simulator.wire import money

__all__ = [
    "article_list_item",
    "create_article",
    "create_customer",
    "customer_list_item",
    "decimal_of",
    "put_price",
    "quantity_of",
    "update_article",
]

_CUSTOMER_TYPES = {"PRIVATE", "COMPANY"}


def decimal_of(value: Any, field: str) -> Decimal:
    """A JSON number as a finite Decimal; anything else (a string too) is 2000750.

    The spec types amounts, prices, discounts and VAT rates as ``number``
    (``fortnox_Invoice_InvoiceRow.Price``, ``.Discount``, ``.VAT``; ``fortnox_Article.SalesPrice``;
    ``fortnox_InvoicePayment.Amount``): a client that sends ``"100.00"`` is refused, so a type
    regression shows here rather than on the real API."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ApiError.invalid(field, value)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ApiError.invalid(field, value)
    return number


def quantity_of(value: Any, field: str) -> Decimal:
    """A row quantity: the spec types ``DeliveredQuantity`` and ``OrderedQuantity`` as
    ``string`` (a real answer reads ``"DeliveredQuantity": "10.00"``), so only a JSON string
    holding a finite number is taken; a JSON number is 2000750."""
    if not isinstance(value, str):
        raise ApiError.invalid(field, value)
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ApiError.invalid(field, value) from None
    if not number.is_finite():
        raise ApiError.invalid(field, value)
    return number


def _text(body: dict[str, Any], field: str, limit: int, required: bool = False) -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise ApiError(400, 2000750, f"Fältet {field} måste fyllas i.")
        return ""
    if not isinstance(value, str):
        raise ApiError.invalid(field, value)
    if len(value) > limit or (required and not value.strip()):
        raise ApiError.invalid(field, value)
    return value


def create_customer(state: SimState, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /3/customers``: ``Name`` required; ``CustomerNumber`` assigned when omitted and
    never reused, even after deletion (2000637, reference §2.5)."""
    name = _text(body, "Name", 1024, required=True)
    number = body.get("CustomerNumber")
    if number is None or number == "":
        number = state.next_number("customers")
        while state.taken("customers", number):
            number = state.next_number("customers")
    elif not isinstance(number, str) or state.taken("customers", number):
        raise ApiError(400, 2000637, "Kundnummer används redan.")
    kind = body.get("Type", "PRIVATE")
    if kind not in _CUSTOMER_TYPES:
        raise ApiError.invalid("Type", kind)
    record: dict[str, Any] = {
        "@url": f"https://api.fortnox.se/3/customers/{number}",
        "CustomerNumber": number,
        "Name": name,
        "Type": kind,
        "Active": True,
        "Currency": _text(body, "Currency", 3) or "SEK",
    }
    for field, limit in (
        ("Email", 1024),
        ("OrganisationNumber", 30),
        ("Address1", 1024),
        ("Address2", 1024),
        ("ZipCode", 10),
        ("City", 1024),
        ("Country", 1024),
        ("CountryCode", 2),
        ("Phone1", 1024),
        ("VATNumber", 1024),
        ("ExternalReference", 1024),
        ("PriceList", 100),
    ):
        text = _text(body, field, limit)
        if text:
            record[field] = text
    return state.put("customers", number, record)


def customer_list_item(record: dict[str, Any]) -> dict[str, Any]:
    """The slim list shape (``fortnox_CustomerListItem``)."""
    keys = ("@url", "Address1", "Address2", "City", "CustomerNumber", "Email", "Name")
    item = {k: record[k] for k in keys if k in record}
    item["OrganisationNumber"] = record.get("OrganisationNumber", "")
    item["Phone"] = record.get("Phone1", "")
    item["ZipCode"] = record.get("ZipCode", "")
    return item


def create_article(state: SimState, body: dict[str, Any], vat_rates: frozenset[Decimal]) -> Any:
    """``POST /3/articles``: ``Description`` required (≤200), ``ArticleNumber`` ≤50."""
    number = body.get("ArticleNumber")
    if number is None or number == "":
        number = state.next_number("articles", 1000)
    if not isinstance(number, str) or len(number) > 50:
        raise ApiError.invalid("ArticleNumber", number)
    if state.get("articles", number) is not None:
        raise ApiError(400, 2000013, f"Artikelnummer {number} används redan.")
    record: dict[str, Any] = {
        "@url": f"https://api.fortnox.se/3/articles/{number}",
        "ArticleNumber": number,
        "Description": _text(body, "Description", 200, required=True),
        "Active": True,
        "Type": "STOCK",
        "StockGoods": False,
        "SalesPrice": Decimal(0),
        "PurchasePrice": Decimal(0),
        "VAT": Decimal(25),
        "QuantityInStock": Decimal(0),
        "ReservedQuantity": Decimal(0),
        "DisposableQuantity": Decimal(0),
        "StockValue": Decimal(0),
        "WebshopArticle": False,
        "Unit": "st",
        "EAN": "",
    }
    _apply_article(record, body, vat_rates)
    return state.put("articles", number, record)


def update_article(
    state: SimState, number: str, body: dict[str, Any], vat_rates: frozenset[Decimal]
) -> dict[str, Any]:
    """``PUT /3/articles/{n}``: only the properties sent change (reference §2.6)."""
    record = state.get("articles", number)
    if record is None:
        raise ApiError(404, 2000428, f"Kan inte hitta artikeln ({number}).")
    if "ArticleNumber" in body and body["ArticleNumber"] != number:
        raise ApiError.invalid("ArticleNumber", body["ArticleNumber"])
    _apply_article(record, body, vat_rates)
    return state.put("articles", number, record)


def _apply_article(record: dict[str, Any], body: dict[str, Any], rates: frozenset[Decimal]) -> None:
    if "Description" in body:
        record["Description"] = _text(body, "Description", 200, required=True)
    for field in ("SalesPrice", "PurchasePrice"):
        if field in body:
            record[field] = money(decimal_of(body[field], field))
    if "VAT" in body:
        vat = decimal_of(body["VAT"], "VAT")
        if vat not in rates:
            raise ApiError(400, 2004001, f"Kunde inte hitta moms ({vat})")
        record["VAT"] = vat
    if "QuantityInStock" in body:
        quantity = decimal_of(body["QuantityInStock"], "QuantityInStock")
        record["QuantityInStock"] = quantity
        record["DisposableQuantity"] = quantity - record["ReservedQuantity"]
    for field in ("Active", "WebshopArticle", "StockGoods"):
        if field in body:
            if not isinstance(body[field], bool):
                raise ApiError.invalid(field, body[field])
            record[field] = body[field]
    for field, limit in (("EAN", 30), ("Unit", 50), ("Manufacturer", 50)):
        if field in body:
            record[field] = _text(body, field, limit)


def article_list_item(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``fortnox_ArticleListItem``): the spec types ``SalesPrice``,
    ``PurchasePrice``, ``VAT``, ``StockValue``, ``DisposableQuantity`` and
    ``ReservedQuantity`` as strings here (numbers in the single article), and
    ``QuantityInStock`` as a number (fortpyx, real-peers §C3, validates exactly this)."""
    return {
        "@url": record["@url"],
        "ArticleNumber": record["ArticleNumber"],
        "Description": record["Description"],
        "DisposableQuantity": str(record["DisposableQuantity"]),
        "EAN": record.get("EAN", ""),
        "Housework": False,
        "PurchasePrice": str(record["PurchasePrice"]),
        "QuantityInStock": record["QuantityInStock"],
        "ReservedQuantity": str(record["ReservedQuantity"]),
        "SalesPrice": str(record["SalesPrice"]),
        "StockPlace": "",
        "StockValue": str(record["StockValue"]),
        "Unit": record.get("Unit", ""),
        "VAT": str(record["VAT"]),
        "WebshopArticle": record["WebshopArticle"],
    }


def put_price(state: SimState, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """``POST /3/prices`` / ``PUT /3/prices/{list}/{article}/{from}``: one price of an article
    in a price list from a quantity (reference §2.6 [spec F1])."""
    article = body.get("ArticleNumber")
    price_list = body.get("PriceList")
    if not isinstance(article, str) or state.get("articles", article) is None:
        raise ApiError(404, 2000428, f"Kan inte hitta artikeln ({article}).")
    if not isinstance(price_list, str) or state.get("pricelists", price_list) is None:
        raise ApiError(404, 2000433, f"Kan inte hitta prislistan ({price_list}).")
    from_quantity = decimal_of(body.get("FromQuantity", 0), "FromQuantity")
    key = f"{price_list}/{article}/{from_quantity.normalize()}"
    if create and state.get("prices", key) is not None:
        raise ApiError(400, 2000750, "Priset finns redan.")
    record = {
        "@url": f"https://api.fortnox.se/3/prices/{key}",
        "ArticleNumber": article,
        "PriceList": price_list,
        "FromQuantity": from_quantity,
        "Price": money(decimal_of(body.get("Price", 0), "Price")),
        "Percent": decimal_of(body.get("Percent", 0), "Percent"),
        "Date": state.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return state.put("prices", key, record)
