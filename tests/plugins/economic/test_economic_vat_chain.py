"""The e-conomic adapter reads VAT the documented way, and pre-checks documents read-only.

The chain, as documented in e-conomic's REST docs (repo e-conomic/slate):
``source/includes/_products.md`` (a product has a ``productGroup``),
``source/includes/_product-groups.md`` (``GET /product-groups/:productGroupNumber/sales-accounts``,
a collection with one sales account per ``salesVatZone``), ``source/includes/_accounts.md``
(``GET /accounts/:accountNumber``, whose ``vatAccount.vatCode`` names the VAT account) and
``source/includes/_vat-accounts.md`` (``GET /vat-accounts/:id`` with ``ratePercentage``).
Before issue 7 the adapter read a ``vatAccount`` on the product group instead, which only our
simulator served, so every order failed against an e-conomic that follows the docs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from economic_support import document, row

from brygga.errors import PermanentError
from brygga.models import LineKind
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio


def gets(sim: EconomicSimulator, prefix: str) -> list[str]:
    return [path for method, path in sim.requests if method == "GET" and path.startswith(prefix)]


def writes(sim: EconomicSimulator) -> list[tuple[str, str]]:
    return [(method, path) for method, path in sim.requests if method != "GET"]


# --- the documented chain -------------------------------------------------------------------


async def test_vat_is_read_through_the_documented_chain(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    """Product group -> sales account for the zone -> account -> VAT code -> rate: the one
    path e-conomic documents (see the module docstring for the doc files)."""
    number = str(sim.add_customer(name="Anna"))
    doc = document(number, row("KAFFE-500", "1", "89.00", "25"), row("TE-100", "1", "45.00", "12"))
    async with open_adapter() as adapter:
        await adapter.create_document(doc)
    assert gets(sim, "/product-groups/") == [
        "/product-groups/1/sales-accounts",
        "/product-groups/2/sales-accounts",
    ]
    assert gets(sim, "/accounts/") == ["/accounts/3001", "/accounts/3002"]
    assert gets(sim, "/vat-accounts") == ["/vat-accounts/U25", "/vat-accounts/U12"]
    assert gets(sim, "/product-groups") == gets(sim, "/product-groups/"), "no group list read"


async def test_each_link_is_cached_per_group_account_and_code(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    async with open_adapter() as adapter:
        for n in range(3):
            doc = document(
                number,
                row("KAFFE-500", "1", "89.00", "25"),
                row("MUGG-VIT", "1", "119.20", "25"),
                reference=f"r/{n}",
            )
            await adapter.create_document(doc)
    assert gets(sim, "/product-groups/") == ["/product-groups/1/sales-accounts"]
    assert gets(sim, "/accounts/") == ["/accounts/3001"]
    assert gets(sim, "/vat-accounts/") == ["/vat-accounts/U25"]


async def test_the_configured_vat_zone_picks_the_sales_account(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna", vatZone={"vatZoneNumber": 2}))
    sim.state.add_vat_account("UEU25", "Moms EU 25 %", Decimal(25))
    sim.state.add_account(3109, "Försäljning EU med moms", "UEU25")
    sim.state.sales_accounts[2][2] = 3109  # group 2 (TE-100) sold into the EU: 25 %
    async with open_adapter(vat_zone=2) as adapter:
        await adapter.create_document(document(number, row("KAFFE-500", "1", "89.00", "0")))
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(
                document(number, row("TE-100", "1", "45.00", "0"), reference="r/2")
            )
    assert "25 % VAT in e-conomic" in str(raised.value)
    assert "/accounts/3108" in gets(sim, "/accounts/")
    assert "/accounts/3001" not in gets(sim, "/accounts/")


async def test_a_group_without_a_sales_account_for_the_zone_has_no_vat_rate(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    del sim.state.sales_accounts[2][1]  # group 2 (12 %) sells nothing domestically
    doc = document(number, row("TE-100", "1", "45.00", "12"), shop_order_id="41")
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "Order 41 row 1" in message and "'TE-100'" in message
    assert "product group 2" in message and "no sales account for VAT zone 1" in message
    assert "12 % VAT code" in message  # the fix names the rate it needs
    assert writes(sim) == []


async def test_an_account_without_a_vat_account_has_no_vat_rate(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    del sim.state.accounts[3004]["vatAccount"]  # group 4's domestic account: no VAT code
    doc = document(
        number,
        row("KAFFE-500", "1", "89.00", "25"),
        row("avrundning", "1", "0.20", "0", kind=LineKind.ROUNDING),
        shop_order_id="42",
    )
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as raised:
            await adapter.create_document(doc)
    message = str(raised.value)
    assert "Order 42 row 2" in message and "'avrundning'" in message
    assert "no VAT rate" in message and "3004 has no VAT code" in message
    assert "add article avrundning-0" in message


async def test_links_that_404_mean_no_vat_rate(sim: EconomicSimulator, open_adapter: Any) -> None:
    number = str(sim.add_customer(name="Anna"))
    sim.state.sales_accounts[3][1] = 3999  # BOK-01's group points at an account that is gone
    del sim.state.vat_accounts["U12"]  # and TE-100's VAT code is gone
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="3999 does not exist"):
            await adapter.create_document(document(number, row("BOK-01", "1", "199.00", "6")))
        with pytest.raises(PermanentError, match=r"VAT code U12 .*does not exist"):
            await adapter.create_document(document(number, row("TE-100", "1", "45.00", "12")))


async def test_a_new_article_in_a_new_group_is_found_with_its_chain(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    number = str(sim.add_customer(name="Anna"))
    async with open_adapter() as adapter:
        await adapter.create_document(document(number, reference="r/1"))  # catalog cached
        sim.add_article("LYX-1", "Lyx", Decimal("10.00"), Decimal("7.5"))  # a new group 5
        await adapter.create_document(
            document(number, row("LYX-1", "1", "10.00", "7.5"), reference="r/2")
        )
    assert "/product-groups/5/sales-accounts" in gets(sim, "/product-groups/")
    assert len(sim.documents()) == 2


async def test_a_fix_in_e_conomic_counts_on_the_next_try(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    """A refused row is read afresh, so `brygga errors retry` after fixing the article in
    e-conomic works without restarting the daemon (the cache would otherwise keep it)."""
    number = str(sim.add_customer(name="Anna"))
    sim.state.products["TE-100"]["productGroup"]["productGroupNumber"] = 1  # wrongly 25 %
    doc = document(number, row("TE-100", "1", "45.00", "12"))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="25 % VAT in e-conomic"):
            await adapter.create_document(doc)
        sim.state.products["TE-100"]["productGroup"]["productGroupNumber"] = 2  # fixed
        await adapter.create_document(doc)
    assert len(sim.documents()) == 1


# --- check_document: the read-only pre-check ------------------------------------------------


async def test_check_document_refuses_an_unknown_sku_without_writing(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    doc = document("", row("KAFFE-500", "1", "89.00", "25"), row("NOPE-1", "1", "5.00", "25"))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"row 2: article 'NOPE-1' does not exist"):
            await adapter.check_document(doc)
    assert sim.requests, "the check read nothing: it tests nothing"
    assert writes(sim) == []
    assert sim.documents() == [] and sim.customers() == []


@pytest.mark.parametrize(
    ("lines", "overrides", "expect"),
    [
        ([row("TE-100", "1", "45.00", "25")], {}, "charged 25 %"),
        ([row("KAFFE-500", "1", "89.125", "25")], {}, "two decimals"),
        ([row("KAFFE-500", "1", "89.00", "25")], {"vat_zone": 3}, "VAT-free"),
        ([row("expavg", "1", "19.00", "12", kind=LineKind.FEE)], {}, "expavg-12"),
        (
            [row("fraktavg", "1", "39.00", "12", kind=LineKind.FREIGHT)],
            {"vat_articles": False},
            "vat_articles = true",
        ),
    ],
    ids=["vat mismatch", "three decimals", "vat zone", "helper at rate", "no vat articles"],
)
async def test_check_document_raises_what_create_document_would(
    sim: EconomicSimulator,
    open_adapter: Any,
    lines: list[Any],
    overrides: dict[str, Any],
    expect: str,
) -> None:
    sim.remove_article("expavg-12")
    number = str(sim.add_customer(name="Anna"))
    async with open_adapter(**overrides) as adapter:
        with pytest.raises(PermanentError) as checked:
            await adapter.check_document(document("", *lines))
        with pytest.raises(PermanentError) as created:
            await adapter.create_document(document(number, *lines))
    assert expect in str(checked.value)
    assert str(checked.value) == str(created.value)
    assert writes(sim) == []


async def test_check_document_refuses_an_unfit_reference(open_adapter: Any) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"references\.other"):
            await adapter.check_document(document("", reference="x" * 251))


async def test_check_document_passes_a_good_document_reading_only(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    doc = document(
        "",
        row("KAFFE-500", "2", "89.00", "25"),
        row("fraktavg", "1", "39.00", "12", kind=LineKind.FREIGHT),
        row("avrundning", "1", "0.20", "0", kind=LineKind.ROUNDING),
    )
    async with open_adapter() as adapter:
        await adapter.check_document(doc)
    assert writes(sim) == []
