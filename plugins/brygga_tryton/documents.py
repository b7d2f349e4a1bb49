"""Shop orders as Tryton sales: parties, lines (products, units, taxes), the sale workflow.

Facts from trytond 8.2 (``modules/sale/sale.py``, ``modules/party``, ``modules/account_product``;
reference erp-apis.md §5.4, real-peers.md §A "Sequence that worked"); choices marked [chosen]:

- A customer is a ``party.party``; brygga's customer number is the party's ``code`` (given by
  the party sequence when it is created). E-mail is a ``party.contact_mechanism`` of type
  ``email``, the organisation number a ``party.identifier``; only exact matches count (e-mail
  compared case-insensitively), the lowest party id wins [chosen].
- The document is a ``sale.sale`` with ``reference`` = brygga's reference (exact match, the
  lowest id wins when a person copied one). Lines: ``product`` found by its ``code`` (the SKU;
  set on the template, reference §A gotcha 5), the template's ``sale_uom``, ``unit_price``
  excluding VAT (a row's discount is folded into the unit price, at most 4 decimals, and must
  give the same net amount) and ``taxes``: the product's customer taxes whose rate is the row's,
  else the company's percentage tax of that rate [chosen]; 0 % rows carry no tax.
- Workflow buttons are RPC methods: ``quote`` (gives the number), ``confirm``, ``process``
  (makes the customer shipment and, with the default invoice method "order", the invoice).
  ``document_type = order``: created and quoted; booked = confirmed and processed.
  ``document_type = invoice`` [chosen: Tryton invoices shop sales through the sale]: created,
  quoted, confirmed and processed at once, so Tryton makes the invoice; booked = its invoices
  posted, the number then being the invoice number.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from brygga.documents import Document, DocumentLine, round_money
from brygga.errors import PermanentError, TransientError
from brygga.models import Address, Customer, CustomerKind, DocumentRef, DocumentType
from brygga_tryton import wire
from brygga_tryton.api import TrytonApi

__all__ = ["SaleBook", "display_name"]

log = logging.getLogger(__name__)

PRICE = Decimal("0.0001")
#: sale states in which a sale counts as booked (confirmed by brygga or a person)
BOOKED_STATES = frozenset({"confirmed", "processing", "done"})


def display_name(customer: Customer) -> str:
    billing = customer.billing
    if customer.kind == CustomerKind.COMPANY:
        candidates = (billing.company, customer.name, billing.name, customer.email)
    else:
        candidates = (customer.name, billing.name, billing.company, customer.email)
    return next((c.strip() for c in candidates if c.strip()), "")


class SaleBook:
    """Parties and sales in one Tryton database."""

    def __init__(self, api: TrytonApi) -> None:
        self.api = api
        self._countries: dict[str, int | None] = {}
        self._currencies: dict[str, int] = {}

    # --- parties ---------------------------------------------------------------------------

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        for key in match_on:
            party: int | None = None
            if key == "customer_number" and customer.customer_number.strip():
                rows = await self.api.search_read(
                    "party.party",
                    [["code", "=", customer.customer_number.strip()]],
                    ["id", "code"],
                    wire.PartyRow,
                )
                party = min(
                    (r.id for r in rows if r.code == customer.customer_number.strip()), default=None
                )
            elif key == "email" and customer.email.strip():
                wanted = customer.email.strip()
                rows_c = await self.api.search_read(
                    "party.contact_mechanism",
                    [["type", "=", "email"], ["value", "ilike", wanted]],
                    ["id", "party", "value"],
                    wire.ContactRow,
                )
                party = min(
                    (
                        r.party
                        for r in rows_c
                        if (r.value or "").strip().casefold() == wanted.casefold()
                    ),
                    default=None,
                )
            elif key == "org_number" and customer.org_number.strip():
                wanted = customer.org_number.strip()
                rows_i = await self.api.search_read(
                    "party.identifier",
                    [["code", "=", wanted]],
                    ["id", "party", "code"],
                    wire.IdentifierRow,
                )
                party = min((r.party for r in rows_i if r.code == wanted), default=None)
            if party is not None:
                return await self._code_of(party)
        return None

    async def _code_of(self, party: int) -> str:
        rows = await self.api.read("party.party", [party], ["id", "code"], wire.PartyRow)
        if not rows or not rows[0].code:
            raise PermanentError(
                f"Tryton party {party} has no code; give it one (brygga uses the party code as "
                "the customer number)"
            )
        return rows[0].code

    async def create_customer(self, customer: Customer) -> str:
        who = customer.email or customer.shop_customer_id or "without e-mail"
        name = display_name(customer)
        if not name:
            raise PermanentError(
                f"Customer {who}: Tryton needs a party name and the order has none; add a name "
                "or e-mail address to the order in the shop."
            )
        contacts: list[dict[str, Any]] = []
        if customer.email.strip():
            contacts.append({"type": "email", "value": customer.email.strip()})
        if customer.billing.phone.strip():
            contacts.append({"type": "phone", "value": customer.billing.phone.strip()})
        addresses = [await self._address_values(customer.billing)]
        if customer.shipping and not _same_place(customer.shipping, customer.billing):
            addresses.append(await self._address_values(customer.shipping))
        values: dict[str, Any] = {
            "name": name,
            "addresses": [["create", addresses]],
            "contact_mechanisms": [["create", contacts]] if contacts else [],
        }
        if customer.org_number.strip():
            values["identifiers"] = [["create", [{"code": customer.org_number.strip()}]]]
        party = await self.api.create("party.party", values)
        code = await self._code_of(party)
        log.info("tryton: created party %s", code)
        return code

    async def _address_values(self, address: Address) -> dict[str, Any]:
        street = "\n".join(s.strip() for s in (address.street, address.street2) if s.strip())
        values: dict[str, Any] = {
            "street_unstructured": street or None,
            "postal_code": address.postal_code.strip() or None,
            "city": address.city.strip() or None,
        }
        name = (address.company or address.name).strip()
        if name:
            values["party_name"] = name
        country = await self._country(address.country_code)
        if country is not None:
            values["country"] = country
        return values

    async def _country(self, code: str) -> int | None:
        if not code:
            return None
        if code not in self._countries:
            rows = await self.api.search_read(
                "country.country", [["code", "=", code]], ["id"], wire.IdRow, limit=1
            )
            self._countries[code] = rows[0].id if rows else None
        return self._countries[code]

    async def _party(self, code: str, order: str) -> int:
        rows = await self.api.search_read(
            "party.party", [["code", "=", code]], ["id", "code"], wire.PartyRow
        )
        ids = [r.id for r in rows if r.code == code]
        if not ids:
            raise PermanentError(f"Order {order}: Tryton has no party with code {code!r}")
        return min(ids)

    async def _addresses(self, party: int, customer: Customer) -> tuple[int, int]:
        """The party's address for the invoice and the shipment: the one matching the
        order's billing (shipping) address, else its first; a shipping address it lacks is
        added to the party [chosen]."""
        rows = await self.api.call(
            "party.address",
            "search_read",
            [["party", "=", party]],
            0,
            None,
            [["sequence", "ASC"], ["id", "ASC"]],
            ["id", "street_unstructured", "postal_code", "city"],
        )
        if not isinstance(rows, list) or not rows:
            values = await self._address_values(customer.billing)
            first = await self.api.create("party.address", {"party": party, **values})
            rows = [{"id": first, **values}]

        def matching(address: Address) -> int | None:
            for row in rows:
                if (
                    _norm(row.get("postal_code")) == _norm(address.postal_code)
                    and _norm(row.get("city")) == _norm(address.city)
                    and _norm((row.get("street_unstructured") or "").split("\n")[0])
                    == _norm(address.street)
                ):
                    return int(row["id"])
            return None

        invoice = matching(customer.billing) or int(rows[0]["id"])
        shipping = customer.shipping
        if shipping is None or _same_place(shipping, customer.billing):
            return invoice, invoice
        ship = matching(shipping)
        if ship is None:
            values = await self._address_values(shipping)
            ship = await self.api.create("party.address", {"party": party, **values})
        return invoice, ship

    # --- lines -----------------------------------------------------------------------------

    async def lines(self, document: Document) -> list[dict[str, Any]]:
        """The sale lines, reading only; PermanentError for an unknown SKU, a VAT rate
        without a Tryton tax or a price Tryton cannot carry."""
        order = document.shop_order_id
        codes = sorted({line.article_number for line in document.lines})
        products: dict[str, wire.ProductRow] = {}
        if codes:
            for row in await self.api.search_read(
                "product.product",
                [["code", "in", codes]],
                ["id", "code", "template", "active"],
                wire.ProductRow,
            ):
                if row.code is not None and row.code not in products:
                    products[row.code] = row
        templates = {
            t.id: t
            for t in await self.api.read(
                "product.template",
                sorted({p.template for p in products.values()}),
                ["id", "sale_uom", "default_uom", "account_category"],
                wire.TemplateRow,
            )
        }
        product_taxes = await self.api.customer_taxes(list(templates.values()))
        result: list[dict[str, Any]] = []
        for index, line in enumerate(document.lines, start=1):
            where = f"Order {order} row {index}"
            product = products.get(line.article_number)
            if product is None:
                raise PermanentError(
                    f"{where}: Tryton has no salable product with code {line.article_number!r}; "
                    "create it in Tryton (or correct the SKU in the shop)."
                )
            template = templates[product.template]
            unit = template.sale_uom or template.default_uom
            taxes = await self._taxes(where, line, product_taxes.get(template.id, []))
            result.append(
                {
                    "type": "line",
                    "product": product.id,
                    "quantity": float(line.quantity),
                    "unit": unit,
                    "unit_price": _unit_price(where, line),
                    "description": (line.description.strip() or line.article_number)[:1000],
                    "taxes": [["add", taxes]] if taxes else [],
                }
            )
        return result

    async def _taxes(self, where: str, line: DocumentLine, own: list[wire.TaxRow]) -> list[int]:
        if line.vat_rate == 0:
            return []
        rate = line.vat_rate / 100
        mine = [t.id for t in own if t.type == "percentage" and t.rate == rate]
        if mine:
            return mine
        rows = await self.api.search_read(
            "account.tax",
            [["type", "=", "percentage"], ["rate", "=", rate], ["parent", "=", None]],
            ["id", "name", "type", "rate"],
            wire.TaxRow,
        )
        exact = [t.id for t in rows if t.rate == rate]
        if not exact:
            raise PermanentError(
                f"{where}: the shop charged {line.vat_rate.normalize():f} % VAT but Tryton has no "
                f"percentage tax with rate {rate.normalize():f}; create one in Tryton "
                "(Financial > Taxes) or correct the VAT in the shop."
            )
        return exact[:1]

    # --- sales -----------------------------------------------------------------------------

    async def find(self, reference: str) -> wire.SaleRow | None:
        rows = await self.api.search_read(
            "sale.sale",
            [["reference", "=", reference]],
            _SALE_FIELDS,
            wire.SaleRow,
        )
        exact = [r for r in rows if r.reference == reference]
        return min(exact, key=lambda r: r.id) if exact else None

    async def sale(self, sale_id: int) -> wire.SaleRow:
        rows = await self.api.read("sale.sale", [sale_id], _SALE_FIELDS, wire.SaleRow)
        if not rows:
            raise TransientError(f"tryton: sale {sale_id} could not be read back")
        return rows[0]

    async def invoices(self, sale: wire.SaleRow) -> list[wire.InvoiceRow]:
        return await self.api.read(
            "account.invoice", sale.invoices, ["id", "number", "state"], wire.InvoiceRow
        )

    async def ref(self, sale: wire.SaleRow, kind: DocumentType, reference: str) -> DocumentRef:
        number = sale.number or f"#{sale.id}"
        if kind == DocumentType.ORDER:
            return DocumentRef(
                document_type=kind,
                number=number,
                reference=reference,
                booked=sale.state in BOOKED_STATES,
            )
        invoices = await self.invoices(sale) if sale.invoices else []
        posted = sorted(
            (i for i in invoices if i.state in ("posted", "paid") and i.number),
            key=lambda i: i.id,
        )
        if posted and len(posted) == len(invoices):
            return DocumentRef(
                document_type=kind, number=str(posted[0].number), reference=reference, booked=True
            )
        return DocumentRef(document_type=kind, number=number, reference=reference, booked=False)

    async def create(self, document: Document, party_code: str) -> DocumentRef:
        order = document.shop_order_id
        lines = await self.lines(document)
        party = await self._party(party_code, order)
        invoice_address, shipment_address = await self._addresses(party, document.customer)
        currency = await self._currency(document.currency, order)
        title = f"Order {document.shop_order_number or order}"
        values: dict[str, Any] = {
            "party": party,
            "invoice_address": invoice_address,
            "shipment_address": shipment_address,
            "currency": currency,
            "reference": document.reference,
            "sale_date": document.date,
            "description": title[:200],
            "lines": [["create", lines]],
        }
        if document.note.strip():
            values["comment"] = document.note.strip()
        sale_id = await self.api.create("sale.sale", values)
        log.info("tryton: created sale %s for %s", sale_id, document.reference)
        try:
            await self.api.call("sale.sale", "quote", [sale_id])
            if document.document_type == DocumentType.INVOICE or document.book:
                await self.advance(sale_id, DocumentType.ORDER)
            sale = await self.sale(sale_id)
            self._compare_totals(document, sale)
            if document.document_type == DocumentType.INVOICE and document.book:
                return await self.book(sale, document.document_type, document.reference)
            return await self.ref(sale, document.document_type, document.reference)
        except TransientError as exc:
            # the sale exists: the engine finds it by reference and books it if asked
            raise TransientError(
                f"sale {sale_id} for {document.reference} was created, then: {exc}",
                in_doubt=True,
            ) from None
        except PermanentError as exc:
            raise PermanentError(
                f"sale {sale_id} for {document.reference} was created (it stays in Tryton), "
                f"then: {exc}"
            ) from None

    async def advance(self, sale_id: int, kind: DocumentType) -> wire.SaleRow:
        """Quote, confirm and process the sale as far as it has not gone yet."""
        sale = await self.sale(sale_id)
        if sale.state == "draft":
            await self.api.call("sale.sale", "quote", [sale_id])
            sale = await self.sale(sale_id)
        if sale.state == "quotation":
            await self.api.call("sale.sale", "confirm", [sale_id])
            sale = await self.sale(sale_id)
        if sale.state == "confirmed":
            await self.api.call("sale.sale", "process", [sale_id])
            sale = await self.sale(sale_id)
        if sale.state not in BOOKED_STATES:
            raise PermanentError(
                f"sale {sale.number or sale_id} is {sale.state}, so it cannot be confirmed"
            )
        return sale

    async def book(self, sale: wire.SaleRow, kind: DocumentType, reference: str) -> DocumentRef:
        sale = await self.advance(sale.id, kind)
        if kind == DocumentType.INVOICE:
            drafts = [i.id for i in await self.invoices(sale) if i.state in ("draft", "validated")]
            if drafts:
                await self.api.call("account.invoice", "post", drafts)
            sale = await self.sale(sale.id)
            if not sale.invoices:
                raise PermanentError(
                    f"sale {sale.number or sale.id} ({reference}) has no invoice after processing; "
                    "set its invoice method to 'On Order Processed' in Tryton"
                )
        return await self.ref(sale, kind, reference)

    async def _currency(self, code: str, order: str) -> int:
        if code not in self._currencies:
            rows = await self.api.search_read(
                "currency.currency", [["code", "=", code]], ["id", "code"], wire.CurrencyRow
            )
            exact = [r.id for r in rows if r.code == code]
            if not exact:
                raise PermanentError(
                    f"Order {order}: Tryton has no currency {code}; add it in Tryton "
                    "(Currency > Currencies)."
                )
            self._currencies[code] = exact[0]
        return self._currencies[code]

    @staticmethod
    def _compare_totals(document: Document, sale: wire.SaleRow) -> None:
        """Log when Tryton's totals differ from the shop's. Tryton computes the taxes itself,
        rounding half to even per document (its default ``tax_rounding``) or per line, while
        brygga's documents round VAT half up per row: an order with an exact half öre of VAT
        can differ by an öre or two. The sale is kept; the log says by how much."""
        totals = document.totals
        theirs = (sale.untaxed_amount, sale.tax_amount, sale.total_amount)
        if None in theirs or theirs == (totals.net, totals.vat, totals.gross):
            return
        log.warning(
            "tryton: sale %s (%s): Tryton's net %s VAT %s total %s differ from the shop "
            "order's net %s VAT %s total %s (Tryton rounds VAT half to even per its tax "
            "rounding setting, brygga half up per row); check the invoice before posting it",
            sale.number,
            document.reference,
            *theirs,
            totals.net,
            totals.vat,
            totals.gross,
        )


_SALE_FIELDS = (
    "id",
    "reference",
    "number",
    "state",
    "invoice_state",
    "shipment_state",
    "invoices",
    "shipments",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
)


def _norm(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def _same_place(a: Address, b: Address) -> bool:
    return (
        _norm(a.street) == _norm(b.street)
        and _norm(a.postal_code) == _norm(b.postal_code)
        and _norm(a.city) == _norm(b.city)
    )


def _unit_price(where: str, line: DocumentLine) -> Decimal:
    """The unit price excluding VAT with the row's discount folded in (Tryton's sale line
    has no discount field): at most 4 decimals, and the same net amount as the shop's."""
    if not line.discount_percent:
        price = line.unit_price
    else:
        price = (line.unit_price * (1 - line.discount_percent / 100)).quantize(PRICE)
    if price != price.quantize(PRICE) or round_money(price * line.quantity) != line.net_amount:
        raise PermanentError(
            f"{where}: the unit price {line.unit_price} less {line.discount_percent} % does not "
            "fit Tryton's 4 decimals with the same row amount; round the price in the shop."
        )
    return price
