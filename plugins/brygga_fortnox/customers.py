"""Fortnox customers: found by number, e-mail or organisation number (exactly), or created.

Documented (reference/erp-apis.md §2.3, §2.6 [doc F4][spec F1]): ``GET /3/customers/{n}``;
the list's search parameters ``email`` and ``organisationnumber`` match *substrings*, so only
rows equal to the value count (e-mail case-insensitively, organisation numbers without
spaces and dashes, searched as given and as ``NNNNNN-NNNN``); the lowest number wins. New
customers: ``POST /3/customers`` with ``Name`` (required), ``Type`` PRIVATE|COMPANY and the
address; Fortnox gives the number (never reused, 2000637). Name, address, phone and the
numbers are brought within Fortnox's valid characters (:mod:`brygga_fortnox.charset`); the
e-mail address is sent as it is (altering it would make it another address).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import aclosing
from urllib.parse import quote

from brygga.errors import PermanentError
from brygga.models import Customer, CustomerKind
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi
from brygga_fortnox.charset import clean

__all__ = ["FortnoxCustomers"]

log = logging.getLogger(__name__)


def _clip(text: str, length: int) -> str | None:
    text = text.strip()
    return text[:length] if text else None


def _text(text: str, length: int) -> str | None:
    """Free text within Fortnox's valid characters (:func:`clean`), cut to ``length``."""
    return _clip(clean(text), length)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isalnum()).casefold()


def _org_forms(text: str) -> list[str]:
    """The organisation number as given and in Fortnox's usual ``NNNNNN-NNNN`` form (the
    search matches substrings of the stored text, so the dash matters)."""
    given = text.strip()
    digits = "".join(c for c in given if c.isdigit())
    forms = [given]
    if len(digits) in (10, 12):
        dashed = f"{digits[:-4]}-{digits[-4:]}"
        if dashed != given:
            forms.append(dashed)
    return forms


def _email(text: str) -> str:
    return text.strip().casefold()


def _email_of(customer: wire.Customer) -> str:
    return customer.email or ""


def _org_of(customer: wire.Customer) -> str:
    return customer.organisation_number or ""


class FortnoxCustomers:
    """find_customer and create_customer of the DocumentSink (mixed into the adapter)."""

    api: FortnoxApi
    page_size: int

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        for key in match_on:
            if key == "customer_number" and customer.customer_number.strip():
                number = customer.customer_number.strip()
                response = await self.api.request("GET", f"customers/{quote(number, safe='')}")
                if response.status_code != 404:
                    found = self.api.decode(response, wire.CustomerWrap, f"customer {number}")
                    return found.Customer.customer_number
            elif key == "email" and customer.email.strip():
                match = await self._search("email", customer.email.strip(), _email_of, _email)
                if match is not None:
                    return match
            elif key == "org_number" and _digits(customer.org_number):
                for form in _org_forms(customer.org_number):
                    match = await self._search("organisationnumber", form, _org_of, _digits)
                    if match is not None:
                        return match
        return None

    async def _search(
        self,
        param: str,
        value: str,
        field: Callable[[wire.Customer], str],
        norm: Callable[[str], str],
    ) -> str | None:
        """The lowest customer number whose ``field`` equals ``value`` once both are put
        through ``norm`` (the search itself matches substrings)."""
        wanted = norm(value)
        items = self.api.pages(
            "customers", wire.CustomerPage, f"the customer search on {param}",
            params={param: value}, limit=self.page_size,
        )  # fmt: skip
        numbers: list[str] = []
        async with aclosing(items):
            async for item in items:
                if norm(field(item)) == wanted:
                    numbers.append(item.customer_number)
        if not numbers:
            return None
        return min(numbers, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))

    async def create_customer(self, customer: Customer, currency: str) -> str:
        who = customer.email or customer.shop_customer_id or "without e-mail"
        billing = customer.billing
        company = customer.kind == CustomerKind.COMPANY
        candidates = (
            (billing.company, customer.name, billing.name) if company
            else (customer.name, billing.name, billing.company)
        ) + (customer.email,)  # fmt: skip
        name = next((clean(c) for c in candidates if clean(c)), "")
        if not name:
            raise PermanentError(
                f"Customer {who}: Fortnox needs a customer name and the order has none; add a "
                "name or e-mail address to the order in the shop."
            )
        fields = {
            "Name": name[:1024],
            "Type": "COMPANY" if company else "PRIVATE",
            "Currency": currency,
            "Email": _clip(customer.email, 1024),
            "OrganisationNumber": _text(customer.org_number, 30),
            "VATNumber": _text(customer.vat_number, 1024),
            "Address1": _text(billing.street, 1024),
            "Address2": _text(billing.street2, 1024),
            "ZipCode": _text(billing.postal_code, 10),
            "City": _text(billing.city, 1024),
            "CountryCode": _clip(billing.country_code, 2),
            "Phone1": _text(billing.phone, 1024),
        }
        body = {"Customer": {k: v for k, v in fields.items() if v is not None}}
        response = await self.api.request("POST", "customers", body=body)
        created = self.api.decode(
            response, wire.CustomerWrap, f"the new customer {who}", write=True
        ).Customer
        log.info("fortnox: created customer %s", created.customer_number)
        return created.customer_number
