"""The RPC methods the simulator answers, per model (``model.<model>.<method>``).

Standard methods on every model: ``search``, ``search_read``, ``search_count``, ``read``,
``create``, ``write`` (trytond ``ModelStorage.__rpc__``); buttons: ``sale.sale.quote``,
``confirm``, ``process``, ``cancel``, ``account.invoice.post`` (trytond ``ModelView``
buttons are RPC methods taking the ids). Anything else answers 403, as trytond does for a
method without ``__rpc__``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from brygga_tryton.simulator.state import Database, round_cent
from brygga_tryton.simulator.wire import SimUserError

__all__ = ["Forbidden", "Models"]

STANDARD = {"search", "search_read", "search_count", "read", "create", "write"}


class Forbidden(Exception):
    """The method is not callable over RPC (trytond answers 403)."""


class Models:
    def __init__(self, db: Database, ids: dict[str, Any]) -> None:
        self.db = db
        self.ids = ids

    def preferences(self) -> dict[str, Any]:
        return {
            "company": self.ids["company"],
            "language": "en",
            "companies": [self.ids["company"]],
        }

    def call(self, model: str, method: str, args: list[Any], context: dict[str, Any]) -> Any:
        if method in STANDARD:
            return getattr(self, f"_{method}")(model, args, context)
        button = getattr(self, f"_{model.replace('.', '_')}_{method}", None)
        if button is None:
            raise Forbidden(f"{model}.{method}")
        return button(args[0])

    # --- standard --------------------------------------------------------------------------

    def _search(self, model: str, args: list[Any], context: dict[str, Any]) -> list[int]:
        defaults: list[Any] = [[], 0, None, None]
        domain, offset, limit, order = [*args, *defaults[len(args) :]][:4]
        return self.db.search(model, domain, offset or 0, limit, order)

    def _search_count(self, model: str, args: list[Any], context: dict[str, Any]) -> int:
        return len(self.db.search(model, args[0] if args else []))

    def _search_read(self, model: str, args: list[Any], context: dict[str, Any]) -> Any:
        defaults: list[Any] = [[], 0, None, None, None]
        domain, offset, limit, order, names = [*args, *defaults[len(args) :]][:5]
        ids = self.db.search(model, domain, offset or 0, limit, order)
        return self._read(model, [ids, names or ["id"]], context)

    def _read(self, model: str, args: list[Any], context: dict[str, Any]) -> Any:
        ids, names = args[0], args[1] if len(args) > 1 else ["id"]
        locations = context.get("locations") or []

        def extra(m: str, record: dict[str, Any], name: str) -> Any:
            if m == "product.product" and name in ("quantity", "forecast_quantity"):
                return self.quantity(record["id"], locations, forecast=name != "quantity")
            if m == "sale.sale" and name in ("untaxed_amount", "tax_amount", "total_amount"):
                net, vat, _ = self.sale_totals(record)
                return {"untaxed_amount": net, "tax_amount": vat, "total_amount": net + vat}[name]
            return None

        return self.db.read(model, list(ids), list(names), extra)

    def _create(self, model: str, args: list[Any], context: dict[str, Any]) -> list[int]:
        created = []
        for values in args[0]:
            check = getattr(self, f"_check_{model.replace('.', '_')}", None)
            if check is not None:
                check(values)
            record_id = self.db.insert(model, dict(values))
            after = getattr(self, f"_created_{model.replace('.', '_')}", None)
            if after is not None:
                after(record_id)
            created.append(record_id)
        return created

    def _write(self, model: str, args: list[Any], context: dict[str, Any]) -> None:
        for ids, values in zip(args[0::2], args[1::2], strict=True):
            for record_id in ids:
                if model == "product.product" and "code" in values:
                    raise SimUserError("You are not allowed to modify the field Code.")
                self.db.update(model, record_id, **values)

    # --- parties and products --------------------------------------------------------------

    def _created_party_party(self, record_id: int) -> None:
        record = self.db.get("party.party", record_id)
        if not record.get("code"):
            record["code"] = str(self.db.next_number("party"))
        record.setdefault("active", True)

    def _check_product_template(self, values: dict[str, Any]) -> None:
        code = values.get("code")
        if code and self.db.search("product.template", [["code", "=", code]]):
            raise SimUserError(f'The code "{code}" on product must be unique.')

    def _created_product_template(self, record_id: int) -> None:
        template = self.db.get("product.template", record_id)
        template.setdefault("active", True)
        for product in template.get("products", []):
            self.db.get("product.product", product).setdefault("active", True)

    def quantity(self, product: int, locations: list[int], *, forecast: bool) -> float:
        storage = {
            self.db.get("stock.location", w).get("storage_location", w) for w in locations
        } or {self.ids["storage"]}
        total = Decimal(0)
        for move in self.db.table("stock.move").values():
            if move["product"] != product or move.get("state") == "cancelled":
                continue
            if move.get("state") != "done" and not forecast:
                continue
            quantity = Decimal(str(move["quantity"]))
            if move["to_location"] in storage:
                total += quantity
            if move["from_location"] in storage:
                total -= quantity
        return float(total)

    def _stock_move_do(self, ids: list[int]) -> None:
        for move in ids:
            self.db.update("stock.move", move, state="done")

    def _created_stock_move(self, record_id: int) -> None:
        self.db.get("stock.move", record_id).setdefault("state", "draft")

    # --- sales -----------------------------------------------------------------------------

    def _check_sale_sale(self, values: dict[str, Any]) -> None:
        if not values.get("party"):
            raise SimUserError('A value is required for field "Party" in "Sale".')
        for action in values.get("lines", []):
            for line in action[1]:
                if line.get("type", "line") == "line" and not line.get("unit"):
                    raise SimUserError('A value is required for field "Unit" in "Sale Line".')

    def _created_sale_sale(self, record_id: int) -> None:
        sale = self.db.get("sale.sale", record_id)
        sale.update(
            state="draft",
            number=None,
            invoice_state="none",
            shipment_state="none",
            invoices=[],
            shipments=[],
        )
        sale.setdefault("currency", self.ids["currency"])

    def sale_totals(self, sale: dict[str, Any]) -> tuple[Decimal, Decimal, dict[Decimal, Decimal]]:
        net = Decimal(0)
        bases: dict[int, Decimal] = defaultdict(Decimal)
        for line_id in sale.get("lines", []):
            line = self.db.get("sale.line", line_id)
            amount = round_cent(Decimal(str(line["quantity"])) * line["unit_price"])
            net += amount
            for tax in line.get("taxes", []):
                bases[tax] += amount
        by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
        for tax, base in bases.items():
            rate = self.db.get("account.tax", tax)["rate"]
            by_rate[(rate * 100).normalize()] += round_cent(base * rate)
        vat = sum(by_rate.values(), Decimal(0))
        return net, vat, dict(by_rate)

    def _sale_sale_quote(self, ids: list[int]) -> None:
        for sale_id in ids:
            sale = self.db.get("sale.sale", sale_id)
            if sale["state"] != "draft":
                raise SimUserError(f"Sale {sale['number'] or sale_id} is not a draft.")
            if not sale.get("lines"):
                raise SimUserError("To quote sale you must add lines.")
            self.db.update(
                "sale.sale", sale_id, state="quotation", number=str(self.db.next_number("sale"))
            )

    def _sale_sale_confirm(self, ids: list[int]) -> None:
        for sale_id in ids:
            if self.db.get("sale.sale", sale_id)["state"] != "quotation":
                raise SimUserError("Only quoted sales can be confirmed.")
            self.db.update("sale.sale", sale_id, state="confirmed")
        self._sale_sale_process(ids)  # queued after confirm, run after the commit

    def _sale_sale_process(self, ids: list[int]) -> None:
        for sale_id in ids:
            sale = self.db.get("sale.sale", sale_id)
            if sale["state"] not in ("confirmed", "processing"):
                continue
            if not sale["invoices"]:
                invoice = self.db.insert(
                    "account.invoice", {"state": "draft", "number": None, "sale": sale_id}
                )
                sale["invoices"].append(invoice)
                moves = []
                for line_id in sale["lines"]:
                    line = self.db.get("sale.line", line_id)
                    product = self.db.get("product.product", line["product"])
                    template = self.db.get("product.template", product["template"])
                    if template.get("type", "goods") != "goods":
                        continue
                    moves.append(
                        self.db.insert(
                            "stock.move",
                            {
                                "product": line["product"],
                                "quantity": line["quantity"],
                                "from_location": self.ids["storage"],
                                "to_location": self.ids["customer_location"],
                                "state": "draft",
                                "sale_line": line_id,
                            },
                        )
                    )
                if moves:
                    shipment = self.db.insert(
                        "stock.shipment.out",
                        {"state": "waiting", "number": None, "moves": moves, "sale": sale_id},
                    )
                    sale["shipments"].append(shipment)
                    sale["shipment_state"] = "waiting"
                sale["invoice_state"] = "pending"
            self.db.update("sale.sale", sale_id, state="processing")

    def _sale_sale_cancel(self, ids: list[int]) -> None:
        for sale_id in ids:
            sale = self.db.get("sale.sale", sale_id)
            if sale["state"] not in ("draft", "quotation", "cancelled"):
                raise SimUserError(
                    f'To cancel sale "{sale["number"]}" it must be draft or quotation.'
                )
            self.db.update("sale.sale", sale_id, state="cancelled")

    def _account_invoice_post(self, ids: list[int]) -> None:
        for invoice_id in ids:
            invoice = self.db.get("account.invoice", invoice_id)
            if invoice["state"] in ("draft", "validated"):
                number = f"INV-{self.db.next_number('invoice')}"
                self.db.update("account.invoice", invoice_id, state="posted", number=number)
                sale = self.db.get("sale.sale", invoice["sale"])
                sale["invoice_state"] = "awaiting payment"
