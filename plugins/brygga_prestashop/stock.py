"""Stock to PrestaShop: ``stock_availables`` per combination (or product without any).

Recipe of §3.7 [PS7][PS1]: find the row with ``filter[id_product]`` and
``filter[id_product_attribute]``, then PATCH ``quantity`` (8.x) or PUT the whole row read
just before (1.7: PUT resets omitted fields, §3.3). The product-level row
(``id_product_attribute`` 0) of a product with combinations is the sum PrestaShop computes
(``postSave``, §3.6): it is never written, and asking to is a PermanentError naming it.

Multishop (§3.6 [PS7]): a product has a stock row per shop (``id_shop`` N, ``id_shop_group``
0), or one per shop group that shares its stock (``id_shop`` 0, ``id_shop_group`` G). The
rows are asked for with ``filter[id_shop]`` (and ``filter[id_shop_group]`` for a group's)
and ``sort=[id_ASC]``, then checked here: exactly one row is written, more is a
PermanentError naming the SKU and the rows (PrestaShop promises no list order, §3.4).

``filter[reference]=[x]`` is SQL ``=`` on a MySQL ``_ci`` column: "not case sensitive"
(devdocs, Webservice cheat sheet) and blind to trailing spaces. The references found are
compared exactly here, so ``ab-1`` is never ``AB-1`` or ``AB-1 ``.
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
    #: the shop group whose shared stock is written (None: the shop's own rows)
    _id_shop_group: int | None

    async def _by_reference(self, resource: str, sku: str, what: str) -> list[Record]:
        """The rows whose reference is exactly ``sku``, by id (the Webservice's match is
        case-insensitive and ignores trailing spaces)."""
        rows = await self._list(
            resource,
            what,
            {
                "display": "full",
                "filter[reference]": f"[{escape_filter(sku, what)}]",
                "sort": "[id_ASC]",
            },
        )
        exact = [r for r in rows if r.get("reference") == sku]
        return sorted(exact, key=lambda r: get_id(r, "id", what))

    def _stock_scope(self) -> tuple[dict[str, str], str]:
        """The ``stock_availables`` filters of the configured shop, and how to name it."""
        if self._id_shop_group is not None:
            group = self._id_shop_group
            return (
                {"filter[id_shop]": "[0]", "filter[id_shop_group]": f"[{group}]"},
                f"shop group {group} (shared stock)",
            )
        if self._id_shop is not None:
            return {"filter[id_shop]": f"[{self._id_shop}]"}, f"shop {self._id_shop}"
        return {}, "the shop"

    async def _stock_row(self, sku: str, product_id: int, attribute: int, what: str) -> Record:
        """The one stock row of the SKU in the configured shop (or shop group)."""
        scope, named = self._stock_scope()
        rows = await self._list(
            "stock_availables",
            what,
            {
                "display": "full",
                "filter[id_product]": f"[{product_id}]",
                "filter[id_product_attribute]": f"[{attribute}]",
                **scope,
                "sort": "[id_ASC]",
            },
        )
        rows.sort(key=lambda r: get_id(r, "id", what))
        if not rows:
            raise PermanentError(
                f"{what}: product {product_id} (combination {attribute}) has no stock row in "
                f"{named}; save the product once in the back office, then retry"
            )
        if len(rows) > 1:
            listed = ", ".join(
                f"{r.get('id')} (id_shop {r.get('id_shop')}, id_shop_group "
                f"{r.get('id_shop_group')})"
                for r in rows[:5]
            )
            raise PermanentError(
                f"{what}: SKU {sku!r} has {len(rows)} stock rows in {named} (stock_availables "
                f"{listed}), so brygga cannot tell which one to write; set id_shop on this "
                "shop table (and id_shop_group when its shop group shares its stock), then retry"
            )
        return rows[0]

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
        row = await self._stock_row(sku, product_id, attribute, what)
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
