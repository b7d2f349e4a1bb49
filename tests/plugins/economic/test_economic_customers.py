"""The e-conomic adapter's customer matching and creation, against the simulator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from economic_support import customer

from brygga.errors import PermanentError
from brygga.models import Address, CustomerKind
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

ALL_KEYS = ["customer_number", "email", "org_number"]


# --- customers -----------------------------------------------------------------------------


async def test_customer_match_order(sim: EconomicSimulator, open_adapter: Any) -> None:
    by_number = sim.add_customer(name="By number", email="other@example.se")
    by_email = sim.add_customer(name="By email", email="ANNA@example.se")
    by_org = sim.add_customer(name="By org", corporateIdentificationNumber="556677-8899")
    buyer = customer(customer_number=str(by_number), org_number="556677-8899")
    async with open_adapter() as adapter:
        assert await adapter.find_customer(buyer, ALL_KEYS) == str(by_number)
        assert await adapter.find_customer(buyer, ["email", "customer_number"]) == str(by_email)
        assert await adapter.find_customer(buyer, ["org_number", "email"]) == str(by_org)
        unknown = customer(customer_number="424242", email="nobody@example.se")
        assert await adapter.find_customer(unknown, ALL_KEYS) is None
        # a number that is not an e-conomic number falls through to the next key
        assert await adapter.find_customer(customer(customer_number="K-1"), ALL_KEYS) == str(
            by_email
        )


async def test_customer_email_match_escapes_filter_characters(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    odd = "o$car(1),[x]*@example.se"
    number = sim.add_customer(name="Oscar", email=odd)
    sim.add_customer(name="Oscar 2", email="oscar@example.se")
    async with open_adapter() as adapter:
        assert await adapter.find_customer(customer(email=odd), ["email"]) == str(number)


async def test_a_customer_with_several_addresses_is_found_by_any_of_them(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    """A customer's ``email`` may hold several addresses separated by spaces (e-conomic's
    customers schema; reference/erp-apis.md §1.6, "email (255, space-separated list
    allowed)"): an order from the second address matched no customer by ``$eq:`` and created a
    duplicate. Part of an address (``nna@example.se`` in ``anna@example.se``) is no match."""
    number = sim.add_customer(name="Anna", email="kontor@example.se ANNA@example.se")
    sim.add_customer(name="Hanna", email="hanna@example.se")
    async with open_adapter() as adapter:
        found = await adapter.find_customer(customer(email="anna@example.se"), ["email"])
        assert found == str(number)
        assert await adapter.find_customer(customer(email="nna@example.se"), ["email"]) is None
        assert await adapter.find_customer(customer(email="kontor@example.se"), ["email"]) == str(
            number
        )


async def test_create_customer_sends_the_fields(sim: EconomicSimulator, open_adapter: Any) -> None:
    company = customer(
        kind=CustomerKind.COMPANY,
        name="Anna Andersson",
        org_number="556677-8899",
        vat_number="SE556677889901",
        billing=Address(
            company="Kaffebaren AB",
            street="Storgatan 1",
            street2="Box 12",
            postal_code="111 22",
            city="Stockholm",
            country_code="SE",
            phone="070-1234567",
        ),
    )
    async with open_adapter(customer_group=4, payment_terms=2, vat_zone=1) as adapter:
        number = await adapter.create_customer(company, "SEK")
    [stored] = sim.customers()
    assert str(stored["customerNumber"]) == number
    assert stored["name"] == "Kaffebaren AB"
    assert stored["email"] == "anna@example.se"
    assert stored["corporateIdentificationNumber"] == "556677-8899"
    assert stored["vatNumber"] == "SE556677889901"
    assert stored["address"] == "Storgatan 1\nBox 12"
    assert (stored["zip"], stored["city"], stored["country"]) == ("111 22", "Stockholm", "Sweden")
    assert stored["currency"] == "SEK"
    assert stored["customerGroup"]["customerGroupNumber"] == 4
    assert stored["paymentTerms"]["paymentTermsNumber"] == 2
    assert stored["vatZone"]["vatZoneNumber"] == 1


async def test_guests_are_created_and_found_again(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    guest = customer(shop_customer_id=None, email="guest@example.se", name="Gäst Gästsson")
    assert guest.is_guest
    async with open_adapter() as adapter:
        assert await adapter.find_customer(guest, ALL_KEYS) is None
        number = await adapter.create_customer(guest, "EUR")
        assert await adapter.find_customer(guest, ALL_KEYS) == number
    assert sim.customers()[0]["currency"] == "EUR"


async def test_create_customer_rejections_are_permanent(open_adapter: Any) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="currency does not exist"):
            await adapter.create_customer(customer(), "XYZ")
        nameless = customer(name="", email="", billing=Address())
        with pytest.raises(PermanentError, match="needs a customer name"):
            await adapter.create_customer(nameless, "SEK")


async def test_the_log_names_the_connection_of_each_created_customer(
    sim: EconomicSimulator, open_adapter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Operator QA: `economic: created customer 1` came three times, once per connection's
    own e-conomic, and none said which connection made it."""
    with caplog.at_level(logging.INFO, logger="brygga_economic.adapter"):
        async with open_adapter() as adapter:
            number = await adapter.create_customer(customer(email="ny@example.se"), "SEK")
    assert f"economic test/economic: created customer {number}" in caplog.text
