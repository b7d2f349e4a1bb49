"""Plain records of the simulated Starweb shop: addresses, statuses, customers, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "STOCKHOLM",
    "ApiError",
    "SimAddress",
    "SimCustomer",
    "SimStatus",
    "StatusChange",
    "iso",
]

#: Starweb emits shop-local timestamps with an offset; the simulated shop is in Sweden.
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def iso(when: datetime) -> str:
    """Stockholm-local ISO-8601 with offset, second precision: ``2019-09-11T07:15:21+02:00``."""
    return when.astimezone(STOCKHOLM).isoformat(timespec="seconds")


class ApiError(Exception):
    """An answer with Starweb's ErrorModel body ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class SimAddress:
    company_name: str = ""
    first_name: str = ""
    last_name: str = ""
    care_of: str = ""
    address: str = ""
    postal_code: str = ""
    city: str = ""
    country_code: str = ""
    phone_no: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "companyName": self.company_name,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "careOf": self.care_of,
            "attention": "",
            "reference": "",
            "address": self.address,
            "postalCode": self.postal_code,
            "city": self.city,
            "state": "",
            "countryCode": self.country_code,
            "phoneNo": self.phone_no,
            "mobilePhoneNo": "",
        }


@dataclass
class SimStatus:
    status_id: int
    id_code: str
    name: str
    should_send_email: bool

    def wire(self) -> dict[str, Any]:
        return {
            "statusId": self.status_id,
            "shouldSendEmail": self.should_send_email,
            "idCode": self.id_code,
            "languages": [{"langCode": "sv", "name": self.name}],
        }


@dataclass(frozen=True)
class StatusChange:
    """A status change requested through the API, with the side effects the shop performed."""

    status: str
    email_requested: bool
    capture_requested: bool
    email_sent: bool
    #: "captured" / "canceled" when the payment provider was asked to act, else ""
    payment_action: str
    tracking_number: str


@dataclass
class SimCustomer:
    customer_id: int
    email: str
    created_at: datetime
    modified_at: datetime
    type: str = "person"
    national_id_no: str = ""
    vat_no: str = ""
    pricelist_id: int | None = None
    invoice: SimAddress = field(default_factory=SimAddress)
    delivery: SimAddress = field(default_factory=SimAddress)

    def wire(self, includes: frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {
            "customerId": self.customer_id,
            "type": self.type,
            "email": self.email,
            "nationalIdNo": self.national_id_no,
            "vatNo": self.vat_no,
            "customInfo1": "",
            "customInfo2": "",
            "createdAt": iso(self.created_at),
            "modifiedAt": iso(self.modified_at),
            "approved": True,
            "approvedAt": iso(self.created_at),
            "pricelistId": self.pricelist_id,
            "langCode": "sv",
        }
        if "addresses" in includes:
            out["addresses"] = {
                "data": {"invoice": self.invoice.wire(), "delivery": self.delivery.wire()}
            }
        if "tags" in includes:
            out["tags"] = {"data": []}
        if "externalServices" in includes:
            out["externalServices"] = {"data": []}
        return out
