"""In-memory state of the e-conomic simulator: reference data, customers and products."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeGuard

from brygga.clock import Clock
from brygga_economic.simulator import seed
from brygga_economic.simulator.errors import (
    BAD_VALUE,
    DUPLICATE,
    NOT_FOUND,
    NULL_VALUE,
    PRICE_SCALE,
    REQUIRED,
    TOO_LONG,
    Annotations,
)
from brygga_economic.simulator.index import EqualityIndex
from brygga_economic.simulator.wire import encode_id

__all__ = ["Path", "SimState", "find_nulls", "is_number"]

Path = tuple[str | int, ...]


def is_number(value: Any) -> TypeGuard[int | Decimal]:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def find_nulls(value: Any, path: Path, errors: Annotations) -> None:
    """e-conomic rejects ``null``: every null in a body is a validation error."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None:
                errors.add(
                    (*path, key),
                    NULL_VALUE,
                    f"{key} cannot be null; leave the property out instead.",
                )
            else:
                find_nulls(item, (*path, key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            find_nulls(item, (*path, index), errors)


@dataclass
class SimState:
    """Everything the simulated agreement holds. Resources are JSON-like dicts whose ``self``
    links are relative paths (the routes prefix the base URL)."""

    clock: Clock
    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    layouts: dict[int, dict[str, Any]] = field(default_factory=dict)
    payment_terms: dict[int, dict[str, Any]] = field(default_factory=dict)
    vat_zones: dict[int, dict[str, Any]] = field(default_factory=dict)
    customer_groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    units: dict[int, dict[str, Any]] = field(default_factory=dict)
    vat_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    product_groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: product group -> VAT zone -> the account its sales in that zone are booked on
    sales_accounts: dict[int, dict[int, int]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: product number -> currency code -> its currency-specific sales price (not the base
    #: currency's: that is the product's ``salesPrice``)
    currency_prices: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    #: the agreement has the inventory module: products in inventory-enabled groups carry the
    #: read-only ``inventory`` object and groups say ``inventoryEnabled``
    inventory_module: bool = False
    #: product groups that are not inventory-enabled (services, fees)
    non_stock_groups: set[int] = field(default_factory=set)
    #: product number -> (inStock, orderedByCustomers); what ``inventory`` shows
    stock: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: ``$eq:`` and ``$like:`` filter indexes on customers, by property (kept by
    #: :meth:`create_customer`)
    customer_indexes: dict[str, EqualityIndex] = field(
        default_factory=lambda: {
            prop: EqualityIndex(prop)
            for prop in ("email", "customerNumber", "corporateIdentificationNumber")
        },
        repr=False,
        compare=False,
    )

    # --- seeding ---------------------------------------------------------------------------

    def seed_reference_data(self) -> None:
        for code, name in seed.CURRENCIES:
            self.currencies[code] = {"code": code, "name": name, "self": f"/currencies/{code}"}
        for number, name in seed.LAYOUTS:
            self.layouts[number] = {
                "layoutNumber": number,
                "name": name,
                "self": f"/layouts/{number}",
            }
        for number, name, kind, days in seed.PAYMENT_TERMS:
            self.payment_terms[number] = {
                "paymentTermsNumber": number,
                "name": name,
                "paymentTermsType": kind,
                "daysOfCredit": days,
                "self": f"/payment-terms/{number}",
            }
        for number, name in seed.VAT_ZONES:
            self.vat_zones[number] = {
                "vatZoneNumber": number,
                "name": name,
                "enabledForCustomer": True,
                "enabledForSupplier": True,
                "self": f"/vat-zones/{number}",
            }
        for number, name in seed.CUSTOMER_GROUPS:
            self.customer_groups[number] = {
                "customerGroupNumber": number,
                "name": name,
                "self": f"/customer-groups/{number}",
            }
        for number, name in seed.UNITS:
            self.units[number] = {"unitNumber": number, "name": name, "self": f"/units/{number}"}
        for code, name, rate in seed.VAT_ACCOUNTS:
            self.add_vat_account(code, name, rate)
        for number, name, vat_code in seed.ACCOUNTS:
            self.add_account(number, name, vat_code)
        for number, name, accounts in seed.PRODUCT_GROUPS:
            self.add_product_group(number, name, accounts)

    def add_vat_account(self, code: str, name: str, rate: Decimal) -> None:
        self.vat_accounts[code] = {
            "vatCode": code,
            "name": name,
            "vatType": {"vatTypeNumber": 1, "name": "Försäljning"},
            "ratePercentage": rate,
            "self": f"/vat-accounts/{encode_id(code)}",
        }

    def add_account(self, number: int, name: str, vat_code: str | None) -> None:
        """A profit-and-loss account; ``vat_code`` None leaves out ``vatAccount``."""
        account: dict[str, Any] = {
            "accountNumber": number,
            "accountType": "profitAndLoss",
            "debitCredit": "credit",
            "name": name,
            "self": f"/accounts/{number}",
        }
        if vat_code is not None:
            account["vatAccount"] = {
                "vatCode": vat_code,
                "self": f"/vat-accounts/{encode_id(vat_code)}",
            }
        self.accounts[number] = account

    def add_product_group(
        self,
        number: int,
        name: str,
        sales_accounts: dict[int, int],
        *,
        inventory_enabled: bool = True,
    ) -> None:
        """A product group whose sales in VAT zone ``z`` go to account ``sales_accounts[z]``;
        ``inventory_enabled`` counts only with the inventory module."""
        self.product_groups[number] = {
            "productGroupNumber": number,
            "name": name,
            "salesAccounts": f"/product-groups/{number}/sales-accounts",
            "products": f"/product-groups/{number}/products",
            "self": f"/product-groups/{number}",
        }
        if inventory_enabled:
            self.non_stock_groups.discard(number)
        else:
            self.non_stock_groups.add(number)
        self.sales_accounts[number] = dict(sales_accounts)
        self._show_inventory_flag(number)

    # --- inventory module ------------------------------------------------------------------

    def _stock_group(self, group: int) -> bool:
        return self.inventory_module and group not in self.non_stock_groups

    def _show_inventory_flag(self, group: int) -> None:
        # false booleans are left out of answers
        if self._stock_group(group):
            self.product_groups[group]["inventoryEnabled"] = True
        else:
            self.product_groups[group].pop("inventoryEnabled", None)

    def _inventory(self, number: str) -> dict[str, Any]:
        in_stock, ordered = self.stock.get(number, (Decimal(0), Decimal(0)))
        return {
            "available": in_stock - ordered,
            "inStock": in_stock,
            "orderedByCustomers": ordered,
            "orderedFromSuppliers": Decimal(0),
            "inventoryLastUpdated": self.now_text(),
        }

    def _show_inventory(self, product: dict[str, Any]) -> None:
        if self._stock_group(product["productGroup"]["productGroupNumber"]):
            product["inventory"] = self._inventory(product["productNumber"])
        else:
            product.pop("inventory", None)

    def set_inventory_module(self, on: bool) -> None:
        """Turn the inventory module on or off (products and groups show it at once)."""
        self.inventory_module = on
        for group in self.product_groups:
            self._show_inventory_flag(group)
        for product in self.products.values():
            self._show_inventory(product)

    def set_stock(self, number: str, in_stock: Decimal, ordered: Decimal = Decimal(0)) -> None:
        """A stock change (a goods receipt, a count, an order booked): ``lastUpdated`` moves,
        as e-conomic documents ("updated either directly or through inventory changed")."""
        product = self.products[number]
        self.stock[number] = (Decimal(in_stock), Decimal(ordered))
        product = {**product, "lastUpdated": self.now_text()}
        self._show_inventory(product)
        self.products[number] = product

    def update_product(self, number: str, **fields: Any) -> None:
        """Change a product as a person in e-conomic would (``lastUpdated`` moves)."""
        product = {**self.products[number], **fields, "lastUpdated": self.now_text()}
        self._show_inventory(product)
        self.products[number] = product

    def sales_account_rows(self, group: int) -> list[dict[str, Any]]:
        """``/product-groups/{n}/sales-accounts``: one row per VAT zone."""
        return [
            {
                "account": {"accountNumber": account, "self": f"/accounts/{account}"},
                "productGroup": {
                    "productGroupNumber": group,
                    "self": f"/product-groups/{group}",
                },
                "salesVatZone": {"vatZoneNumber": zone, "self": f"/vat-zones/{zone}"},
            }
            for zone, account in sorted(self.sales_accounts.get(group, {}).items())
        ]

    def group_for_rate(self, rate: Decimal) -> int:
        """A product group with ``rate`` in the domestic zone; created when none exists."""
        for number in sorted(self.product_groups):
            if self.group_rate(number) == rate:
                return number
        code = f"U{format(rate.normalize(), 'f')}"
        self.add_vat_account(code, f"Utgående moms {rate} %", rate)
        account = max((a for a in self.accounts if 3000 < a < 3100), default=3000) + 1
        self.add_account(account, f"Försäljning inom Sverige, {rate} % moms", code)
        number = max(self.product_groups, default=0) + 1
        self.add_product_group(number, f"Varor {rate} %", {**seed.ABROAD, seed.DOMESTIC: account})
        return number

    def group_rate(self, group_number: int, zone: int = seed.DOMESTIC) -> Decimal | None:
        """The chain e-conomic documents: group -> sales account for ``zone`` -> that
        account's VAT code -> the VAT account's rate. None where a link is missing."""
        account = self.sales_accounts.get(group_number, {}).get(zone)
        vat = self.accounts.get(account or 0, {}).get("vatAccount")
        found = self.vat_accounts.get(vat["vatCode"]) if vat else None
        return None if found is None else Decimal(found["ratePercentage"])

    def product_rate(self, product_number: str, zone: int = seed.DOMESTIC) -> Decimal:
        """The VAT rate e-conomic charges on a product sold into ``zone`` (none: 0)."""
        product = self.products[product_number]
        rate = self.group_rate(product["productGroup"]["productGroupNumber"], zone)
        return rate if rate is not None else Decimal(0)

    def now_text(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- shared validation -----------------------------------------------------------------

    def check_reference(
        self,
        body: dict[str, Any],
        errors: Annotations,
        path: Path,
        key: str,
        id_key: str,
        table: dict[Any, Any],
        *,
        required: bool = True,
    ) -> Any:
        """Validate ``body[key][id_key]`` names an existing entity; return the id or None."""
        ref = body.get(key)
        if ref is None:
            if required:
                errors.add((*path, key), REQUIRED, f"Property {key} is required.")
            return None
        ident = ref.get(id_key) if isinstance(ref, dict) else None
        if ident is None and isinstance(ref, dict) and isinstance(ref.get("self"), str):
            tail = ref["self"].rstrip("/").rsplit("/", 1)[-1]
            ident = int(tail) if tail.isdigit() else tail
        if ident is None:
            errors.add((*path, key), REQUIRED, f"{key}.{id_key} or {key}.self is required.")
            return None
        if ident not in table:
            errors.add(
                (*path, key),
                NOT_FOUND,
                f"{key} does not exist.",
                value=ident,
                hint=f"Find a list of resources at /{_collection_name(key)}.",
            )
            return None
        return ident

    @staticmethod
    def check_text(
        body: dict[str, Any],
        errors: Annotations,
        path: Path,
        key: str,
        max_length: int,
        *,
        required: bool = False,
    ) -> str | None:
        value = body.get(key)
        if value is None or value == "":
            if required:
                errors.add((*path, key), REQUIRED, f"Property {key} is required.")
            return None
        if not isinstance(value, str):
            errors.add((*path, key), BAD_VALUE, f"{key} must be a string.", value=value)
            return None
        if len(value) > max_length:
            errors.add(
                (*path, key),
                TOO_LONG,
                f"{key} cannot be longer than {max_length} characters.",
                value=value,
            )
            return None
        return value

    # --- customers -------------------------------------------------------------------------

    def create_customer(self, body: dict[str, Any], errors: Annotations) -> dict[str, Any]:
        find_nulls(body, (), errors)
        currency = self.check_text(body, errors, (), "currency", 3, required=True)
        if currency is not None and currency not in self.currencies:
            errors.add(("currency",), NOT_FOUND, "currency does not exist.", value=currency)
        group = self.check_reference(
            body, errors, (), "customerGroup", "customerGroupNumber", self.customer_groups
        )
        terms = self.check_reference(
            body, errors, (), "paymentTerms", "paymentTermsNumber", self.payment_terms
        )
        zone = self.check_reference(body, errors, (), "vatZone", "vatZoneNumber", self.vat_zones)
        self.check_text(body, errors, (), "name", 255, required=True)
        for key, length in (
            ("email", 255),
            ("address", 510),
            ("city", 50),
            ("zip", 30),
            ("country", 50),
            ("corporateIdentificationNumber", 40),
            ("vatNumber", 50),
            ("mobilePhone", 50),
            ("telephoneAndFaxNumber", 255),
        ):
            self.check_text(body, errors, (), key, length)
        number = body.get("customerNumber")
        if number is not None:
            if (
                not isinstance(number, int)
                or isinstance(number, bool)
                or not (1 <= number <= 999_999_999)
            ):
                errors.add(
                    ("customerNumber",),
                    BAD_VALUE,
                    "customerNumber must be an integer from 1 to 999999999.",
                    value=number,
                )
            elif number in self.customers:
                errors.add(
                    ("customerNumber",),
                    DUPLICATE,
                    "A customer with this customerNumber already exists.",
                    value=number,
                )
        errors.raise_if_any(self.clock.now())
        if number is None:
            number = max(self.customers, default=0) + 1
        customer = {
            **body,
            "customerNumber": number,
            "customerGroup": {
                "customerGroupNumber": group,
                "self": f"/customer-groups/{group}",
            },
            "paymentTerms": {
                "paymentTermsNumber": terms,
                "self": f"/payment-terms/{terms}",
            },
            "vatZone": {"vatZoneNumber": zone, "self": f"/vat-zones/{zone}"},
            "balance": Decimal("0.00"),
            "lastUpdated": self.now_text(),
            "self": f"/customers/{number}",
        }
        self.customers[number] = customer
        for index in self.customer_indexes.values():
            index.put(number, customer)
        return customer

    # --- products --------------------------------------------------------------------------

    def put_product(
        self, body: dict[str, Any], errors: Annotations, *, creating: bool
    ) -> dict[str, Any]:
        find_nulls(body, (), errors)
        number = self.check_text(body, errors, (), "productNumber", 25, required=True)
        if creating and number is not None and number in self.products:
            errors.add(
                ("productNumber",),
                DUPLICATE,
                "A product with this productNumber already exists.",
                value=number,
            )
        self.check_text(body, errors, (), "name", 300, required=True)
        group_number = self.check_reference(
            body, errors, (), "productGroup", "productGroupNumber", self.product_groups
        )
        for key in ("salesPrice", "recommendedPrice", "costPrice"):
            value = body.get(key)
            if value is None:
                continue
            if not is_number(value):
                errors.add((key,), BAD_VALUE, f"{key} must be a number.", value=value)
            elif Decimal(value) != Decimal(value).quantize(Decimal("0.01")):
                errors.add(
                    (key,),
                    PRICE_SCALE,
                    f"{key} scale cannot be greater then two decimal places.",
                    value=value,
                )
        errors.raise_if_any(self.clock.now())
        assert number is not None and group_number is not None
        # read-only properties in a PUT (an echoed document) are ignored
        body = {k: v for k, v in body.items() if k not in ("inventory", "lastUpdated")}
        product = {
            **body,
            "productNumber": number,
            "productGroup": {
                "productGroupNumber": group_number,
                "name": self.product_groups[group_number]["name"],
                "self": f"/product-groups/{group_number}",
            },
            "lastUpdated": self.now_text(),
            "self": f"/products/{encode_id(number)}",
        }
        self._show_inventory(product)
        self.products[number] = product
        return product

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None:
        """Create or replace a product at the given price, in a group with this VAT rate."""
        errors = Annotations()
        self.put_product(
            {
                "productNumber": sku,
                "name": name,
                "salesPrice": price,
                "productGroup": {"productGroupNumber": self.group_for_rate(vat_rate)},
            },
            errors,
            creating=False,
        )


def _collection_name(key: str) -> str:
    names = {
        "customerGroup": "customer-groups",
        "paymentTerms": "payment-terms",
        "vatZone": "vat-zones",
        "productGroup": "product-groups",
        "layout": "layouts",
        "unit": "units",
        "customer": "customers",
        "product": "products",
        "currency": "currencies",
    }
    return names.get(key, key)
