"""Records an order links to, read for its import: customer and addresses (read each time,
so the order carries them as they are at import), currency, carrier, country, taxes (cached:
reference data)."""

from __future__ import annotations

from decimal import Decimal

from brygga.errors import PermanentError
from brygga_prestashop.calls import PrestashopCalls
from brygga_prestashop.wire import Record, decode_detail, get_decimal, get_id, get_text

__all__ = ["PrestashopLookups"]


class PrestashopLookups(PrestashopCalls):
    """Reads of linked records for :meth:`PrestashopAdapter.fetch_order`."""

    _lookups: dict[tuple[str, int], Record]

    async def _cached(self, resource: str, singular: str, row_id: int, what: str) -> Record:
        key = (resource, row_id)
        if key not in self._lookups:
            response = await self._call("GET", f"{resource}/{row_id}", what, ok=(200, 404))
            if response.status_code == 404:
                raise PermanentError(
                    f"{what}: its {singular} {row_id} does not exist in shop {self.shop} "
                    "(404); fix the order's link in PrestaShop, then retry"
                )
            self._lookups[key] = decode_detail(response.content, singular, f"{what}, {singular}")
        return self._lookups[key]

    async def _linked(
        self, order: Record, field: str, resource: str, singular: str, what: str
    ) -> Record:
        """The record an order links to, read now (addresses are snapshotted at import)."""
        row_id = get_id(order, field, what)
        if row_id == 0:
            return {}
        response = await self._call("GET", f"{resource}/{row_id}", what, ok=(200, 404))
        if response.status_code == 404:
            raise PermanentError(
                f"{what}: its {singular} {row_id} ({field}) does not exist in shop {self.shop} "
                "(404); fix the order in PrestaShop, then retry"
            )
        return decode_detail(response.content, singular, f"{what}, {singular} {row_id}")

    async def _tax_rates(self, details: list[Record], what: str) -> dict[int, Decimal]:
        rates: dict[int, Decimal] = {}
        for detail in details:
            assoc = detail.get("associations")
            taxes = assoc.get("taxes") if isinstance(assoc, dict) else None
            for tax in taxes if isinstance(taxes, list) else []:
                if not isinstance(tax, dict):
                    continue
                try:
                    tax_id = get_id(tax, "id", what)
                except PermanentError:
                    continue  # the mapping names the row
                if tax_id in rates:
                    continue
                response = await self._call("GET", f"taxes/{tax_id}", what, ok=(200, 404))
                if response.status_code == 404:
                    continue  # the mapping says the tax does not exist
                tax_row = decode_detail(response.content, "tax", f"{what}, tax {tax_id}")
                rates[tax_id] = get_decimal(tax_row, "rate", f"{what}, tax {tax_id}")
        return rates

    async def _currency(self, order: Record, what: str) -> str:
        row = await self._cached("currencies", "currency", get_id(order, "id_currency", what), what)
        code = get_text(row, "iso_code", f"{what}, currency").upper()
        if len(code) != 3 or not code.isalpha():
            raise PermanentError(
                f"{what}: its currency has ISO code {code[:10]!r}, not a 3-letter code; fix "
                "the currency in PrestaShop, then retry"
            )
        return code

    async def _carrier(self, order: Record, what: str) -> str:
        carrier_id = get_id(order, "id_carrier", what)
        if carrier_id == 0:
            return ""
        row = await self._cached("carriers", "carrier", carrier_id, what)
        return get_text(row, "name", f"{what}, carrier")

    async def _country(self, country_id: int, what: str) -> str:
        row = await self._cached("countries", "country", country_id, what)
        code = get_text(row, "iso_code", f"{what}, country {country_id}").upper()
        return code if len(code) == 2 and code.isalpha() else ""
