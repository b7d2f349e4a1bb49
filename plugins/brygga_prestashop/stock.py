"""Stock to PrestaShop: ``stock_availables`` per combination (or product without any).

Recipe of §3.7 [PS7][PS1]: find the row with ``filter[id_product]`` and
``filter[id_product_attribute]``, then PATCH ``quantity`` (8.x) or PUT the whole row read
just before (1.7: PUT resets omitted fields, §3.3). The product-level row
(``id_product_attribute`` 0) of a product with combinations is the sum PrestaShop computes
(``postSave``, §3.6): it is never written, and asking to is a PermanentError naming it.
"""

from __future__ import annotations

from decimal import Decimal

from brygga.errors import PermanentError
from brygga.registers import Written
from brygga_prestashop.calls import PrestashopCalls
from brygga_prestashop.wire import Record, escape_filter, get_decimal, get_id, xml_body

__all__ = ["PrestashopStock"]


class PrestashopStock(PrestashopCalls):
    """``StockSink`` for the adapter (mixed into :class:`PrestashopAdapter`)."""

    config_version: str

    async def _by_reference(self, resource: str, sku: str, what: str) -> list[Record]:
        return await self._list(
            resource,
            what,
            {"display": "full", "filter[reference]": f"[{escape_filter(sku, what)}]"},
        )

    async def _stock_target(self, sku: str, what: str) -> tuple[int, int]:
        """(id_product, id_product_attribute) of the SKU."""
        combos = await self._by_reference("combinations", sku, what)
        if len(combos) > 1:
            ids = ", ".join(str(c.get("id")) for c in combos[:5])
            raise PermanentError(
                f"{what}: several combinations ({ids}) have this reference; make references "
                "unique in PrestaShop, then retry"
            )
        if combos:
            return get_id(combos[0], "id_product", what), get_id(combos[0], "id", what)
        products = await self._by_reference("products", sku, what)
        if not products:
            raise PermanentError(
                f"{what}: the shop has no product or combination with this reference; create "
                "it in PrestaShop or fix the SKU, then retry"
            )
        if len(products) > 1:
            ids = ", ".join(str(p.get("id")) for p in products[:5])
            raise PermanentError(
                f"{what}: several products ({ids}) have this reference; make references "
                "unique in PrestaShop, then retry"
            )
        product = products[0]
        assoc = product.get("associations")
        combinations = assoc.get("combinations") if isinstance(assoc, dict) else None
        if isinstance(combinations, list) and combinations:
            raise PermanentError(
                f"{what}: product {product.get('id')} has {len(combinations)} combinations, so "
                "its product-level stock row (id_product_attribute 0) is PrestaShop's sum of "
                "theirs and brygga never writes it; send stock per combination reference"
            )
        return get_id(product, "id", what), 0

    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        """Set the quantity of the SKU's stock row (``unchanged`` when it has it)."""
        what = f"PrestaShop shop {self.shop}: stock of {sku!r}"
        if quantity != quantity.to_integral_value():
            raise PermanentError(
                f"{what}: quantity {quantity} is not a whole number; PrestaShop stock is "
                "counted in whole units"
            )
        product_id, attribute = await self._stock_target(sku, what)
        rows = await self._list(
            "stock_availables",
            what,
            {
                "display": "full",
                "filter[id_product]": f"[{product_id}]",
                "filter[id_product_attribute]": f"[{attribute}]",
            },
        )
        if not rows:
            raise PermanentError(
                f"{what}: product {product_id} (combination {attribute}) has no stock row in "
                "this shop; save the product once in the back office, then retry"
            )
        row = rows[0]
        if get_decimal(row, "quantity", what) == quantity:
            return "unchanged"
        row_id = get_id(row, "id", what)
        if self.config_version == "8":
            fields = {"id": str(row_id), "quantity": str(int(quantity))}
            body = xml_body("stock_available", dict(fields))
            await self._call("PATCH", f"stock_availables/{row_id}", what, body=body)
        else:
            full = {k: "" if v is None else str(v) for k, v in row.items() if k != "associations"}
            full["quantity"] = str(int(quantity))
            body = xml_body("stock_available", dict(full))
            await self._call("PUT", f"stock_availables/{row_id}", what, body=body)
        return "updated"
