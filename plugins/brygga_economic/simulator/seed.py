"""Seed data of the e-conomic simulator: reference data, fee articles and a small shared catalog."""

from __future__ import annotations

from decimal import Decimal

from brygga.testing import democatalog
from brygga.testing.democatalog import SeedArticle

__all__ = [
    "ABROAD",
    "ACCOUNTS",
    "CATALOG",
    "CURRENCIES",
    "CUSTOMER_GROUPS",
    "DOMESTIC",
    "FEE_ARTICLES",
    "LAYOUTS",
    "PAYMENT_TERMS",
    "PRODUCT_GROUPS",
    "UNITS",
    "VAT_ACCOUNTS",
    "VAT_ZONES",
    "SeedArticle",
]


#: The catalog both the Starweb and the e-conomic simulators start with (same SKUs, prices
#: and VAT rates), so the demo and end-to-end tests can place orders that transfer cleanly.
CATALOG: list[SeedArticle] = list(democatalog.CATALOG)

#: Articles for freight, handling fee, discount and rounding rows. ``<article>-<rate>`` holds
#: the same kind of row at another VAT rate (the adapter's ``vat_articles`` rule).
FEE_ARTICLES: list[SeedArticle] = [
    SeedArticle("fraktavg", "Frakt", Decimal("0.00"), Decimal("25")),
    SeedArticle("fraktavg-12", "Frakt 12 %", Decimal("0.00"), Decimal("12")),
    SeedArticle("fraktavg-6", "Frakt 6 %", Decimal("0.00"), Decimal("6")),
    SeedArticle("expavg", "Expeditionsavgift", Decimal("0.00"), Decimal("25")),
    SeedArticle("expavg-12", "Expeditionsavgift 12 %", Decimal("0.00"), Decimal("12")),
    SeedArticle("expavg-6", "Expeditionsavgift 6 %", Decimal("0.00"), Decimal("6")),
    SeedArticle("rabatt", "Rabatt", Decimal("0.00"), Decimal("25")),
    SeedArticle("rabatt-12", "Rabatt 12 %", Decimal("0.00"), Decimal("12")),
    SeedArticle("rabatt-6", "Rabatt 6 %", Decimal("0.00"), Decimal("6")),
    SeedArticle("avrundning", "Öresavrundning", Decimal("0.00"), Decimal("0")),
]

#: e-conomic's VAT zones: 1 Domestic, 2 EU, 3 Abroad (see VAT_ZONES)
DOMESTIC = 1

#: (vatCode, name, ratePercentage)
VAT_ACCOUNTS: list[tuple[str, str, Decimal]] = [
    ("U25", "Utgående moms 25 %", Decimal("25")),
    ("U12", "Utgående moms 12 %", Decimal("12")),
    ("U6", "Utgående moms 6 %", Decimal("6")),
    ("U0", "Momsfri försäljning", Decimal("0")),
    ("UEU", "Försäljning av varor till annat EU-land", Decimal("0")),
    ("UEX", "Export av varor", Decimal("0")),
]

#: (accountNumber, name, vatCode or None): the sales accounts of the product groups
ACCOUNTS: list[tuple[int, str, str | None]] = [
    (3001, "Försäljning inom Sverige, 25 % moms", "U25"),
    (3002, "Försäljning inom Sverige, 12 % moms", "U12"),
    (3003, "Försäljning inom Sverige, 6 % moms", "U6"),
    (3004, "Försäljning inom Sverige, momsfri", "U0"),
    (3105, "Försäljning varor till land utanför EU", "UEX"),
    (3108, "Försäljning varor till annat EU-land, momsfri", "UEU"),
]

#: the sales accounts every product group uses outside Sweden: VAT zone -> account
ABROAD: dict[int, int] = {2: 3108, 3: 3105}

#: (productGroupNumber, name, VAT zone -> sales account): e-conomic finds a product's VAT
#: through its group's sales account for the recipient's zone and that account's VAT code
PRODUCT_GROUPS: list[tuple[int, str, dict[int, int]]] = [
    (1, "Varor 25 %", {DOMESTIC: 3001, **ABROAD}),
    (2, "Varor 12 %", {DOMESTIC: 3002, **ABROAD}),
    (3, "Varor 6 %", {DOMESTIC: 3003, **ABROAD}),
    (4, "Momsfritt", {DOMESTIC: 3004, **ABROAD}),
]

#: (layoutNumber, name)
LAYOUTS: list[tuple[int, str]] = [(19, "Standard"), (21, "Standard med logotyp")]

#: (paymentTermsNumber, name, paymentTermsType, daysOfCredit)
PAYMENT_TERMS: list[tuple[int, str, str, int]] = [
    (1, "Netto 30 dagar", "net", 30),
    (2, "Netto 14 dagar", "net", 14),
    (3, "Kontant", "paidInCash", 0),
    (4, "Förskott", "prepaid", 0),
    (5, "Enligt förfallodatum", "dueDate", 0),
]

#: (vatZoneNumber, name)
VAT_ZONES: list[tuple[int, str]] = [(1, "Domestic"), (2, "EU"), (3, "Abroad")]

#: (customerGroupNumber, name)
CUSTOMER_GROUPS: list[tuple[int, str]] = [
    (1, "Kunder Sverige"),
    (2, "Kunder EU"),
    (3, "Kunder utanför EU"),
    (4, "Återförsäljare"),
]

#: (unitNumber, name)
UNITS: list[tuple[int, str]] = [(1, "st"), (2, "tim"), (3, "kg")]

#: (code, name)
CURRENCIES: list[tuple[str, str]] = [
    ("SEK", "Svenska kronor"),
    ("EUR", "Euro"),
    ("NOK", "Norska kronor"),
    ("DKK", "Danska kronor"),
]
