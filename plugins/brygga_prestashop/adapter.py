"""The PrestaShop shop adapter (Webservice, 1.7 and 8.x): orders in, statuses and stock back.

Documented (reference/shop-apis.md §3) and relied on: the key as Basic-auth user with an
empty password; JSON output (``output_format=JSON``); XML bodies for writes; the list grammar
with ``date=1``; ``order_details`` with their ``taxes`` association; ``order_histories`` POST
for a state change, the customer e-mailed only with ``sendemail=1``; PUT as a full replace
(so writes read first and send every field, or PATCH on 8.x); ``stock_availables`` with the
product-level row (``id_product_attribute`` 0) derived from the combinations' rows; multishop
``id_shop``.

Chosen where the reference says [inferred] or [unknown] (modelled, not documented):

- **Status codes** are brygga's: the order state's name (in ``language``, else the first)
  as a slug, e.g. "Payment accepted" → ``payment-accepted``, "Canceled" → ``canceled``
  (so the default cancelled statuses match). A state whose slug another state already has
  is named ``<slug>-<id>``. ``set_status`` also takes a state's numeric id.
- **Times** are shop-local without offset; ``timezone`` (the shop's ``PS_TIMEZONE``) reads
  them. In the autumn hour that repeats, a time is read as its first occurrence; the
  orders flow's overlap covers the hour.
- **Export mark**: a private order message (``messages`` with ``private`` 1, the back
  office's order note) ``<mark_prefix><number>``, written once (read first, so a repeat or
  a retry after an unknown outcome writes nothing). ``export_mark = "none"`` writes nothing
  remote. PrestaShop has no field for it in core.
- **Capture**: the Webservice has no payment capture; ``capture`` is ignored (a payment
  module may act on the new state itself). ``email`` maps to ``sendemail=1``.
- **Tracking numbers** go to the order's ``order_carriers`` row (read, then PUT whole), which
  is what the order's ``shipping_number`` shows (§3.7).
- **Rate limit**: none in core (§3.5); brygga keeps to 10 requests/s unless ``rate_limit``.
- **Unreadable order-list rows**: a row without a readable id is logged and skipped; one
  whose ``date_upd`` cannot be read is still reported (at the window's start), so the order's
  transfer fails with the reason as an error record.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    Capabilities,
    RemoteFinding,
    RemoteNeeds,
    ShopAdapter,
    StatusSink,
)
from brygga.errors import BryggaError, PermanentError
from brygga.http.client import RemoteClient, account_key
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import DocumentRef, Order, OrderChange
from brygga.registers import (
    PriceListSink,
    PriceSink,
    ProductSink,
    ProductSource,
    StockSink,
)
from brygga.secrets import Secret
from brygga_prestashop.catalog import CATALOG_NOTES, PrestashopCatalog
from brygga_prestashop.feed import walk_window
from brygga_prestashop.mapping import OrderParts, map_order
from brygga_prestashop.states import StateTable
from brygga_prestashop.wire import (
    Record,
    decode_detail,
    get_date,
    get_decimal,
    get_id,
    get_text,
    xml_body,
)

__all__ = ["CAPABILITIES", "PrestashopAdapter", "PrestashopConfig"]

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    variants=True,
    price_lists=True,
    campaign_price=False,
    webhooks=False,
    lookup_by_reference=False,
    rate_limit=None,
    notes=(
        "PrestaShop's core Webservice has no web hooks: orders are polled by date_upd "
        "(filter with date=1), sorted by date_upd and id.",
        "PrestaShop publishes no rate limit; brygga keeps to 10 requests/s (rate_limit).",
        "Order statuses are the shop's order states, named by brygga as slugs of their "
        "names (payment-accepted, shipped, canceled); e-mail only with sendemail=1; the "
        "Webservice cannot capture payments.",
        "The ERP document number is kept as a private order message.",
        "Stock is written per combination; the product-level row of a product with "
        "combinations is PrestaShop's sum and never written.",
        *CATALOG_NOTES,
    ),
)


class PrestashopConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    """A PrestaShop shop: ``base_url`` is the shop root (``https://shop.example``); the
    adapter adds ``/api``. ``key`` is the 32-character webservice key."""

    kind: str = "prestashop"
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+")]
    key: Secret
    #: "8" (8.x: PATCH for partial writes) or "1.7" (read, then PUT the whole object)
    version: Literal["8", "1.7"] = "8"
    #: multishop: the shop id every request names (``id_shop``); None for a single shop
    id_shop: Annotated[int, msgspec.Meta(ge=1)] | None = None
    #: the language id whose names (order states, carriers) brygga reads; None: the first
    language: Annotated[int, msgspec.Meta(ge=1)] | None = None
    #: rows per list page (``limit=offset,count``)
    page_size: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 100
    #: safety cap on list pages read by one change-feed call
    page_limit: Annotated[int, msgspec.Meta(ge=1)] = 500
    #: where the ERP document number goes: a private order message, or nowhere remote
    export_mark: Literal["message", "none"] = "message"
    #: the text before the document number in that message
    mark_prefix: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = (
        "brygga ERP document: "
    )
    #: PrestaShop publishes no limit: overrides our default 10 requests/s
    rate_limit: RateLimit | None = None
    #: the currency of the shop's catalog prices (its default currency)
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "SEK"
    #: the ISO country whose tax rules give an article's VAT rate
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "SE"


def _local(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


class PrestashopAdapter(
    PrestashopCatalog,
    ShopAdapter,
    StatusSink,
    StockSink,
    ProductSource,
    ProductSink,
    PriceSink,
    PriceListSink,
):
    """A PrestaShop shop seen through canonical models: orders, statuses back, the catalog."""

    capabilities = CAPABILITIES

    def __init__(self, config: PrestashopConfig, context: AdapterContext) -> None:
        self.config = config
        self.shop = config.name or context.instance or "prestashop"
        self._key = config.key
        self.config_version = config.version
        self._id_shop = config.id_shop
        self._zone = ZoneInfo(config.timezone)
        root = config.base_url.rstrip("/")
        self._client = RemoteClient(
            system="prestashop",
            base_url=root + "/api",
            context=context.http,
            account=account_key(urlsplit(root).netloc, config.key.reveal()),
            rate_limit=config.rate_limit or DEFAULT_RATE_LIMIT,
            headers={"Accept": "application/json"},
        )
        self.states = StateTable(self, config.language)
        self.catalog_currency = config.currency
        self.catalog_country = config.country
        self.language = config.language
        self.page_size = config.page_size
        self._catalog_init()
        self._lookups: dict[tuple[str, int], Record] = {}

    def __repr__(self) -> str:
        return f"PrestashopAdapter(shop={self.shop!r}, base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- brygga check --remote --------------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Reads only: the key (one order-list read, ids only) and the order states the
        status rules name. ``needs.helper_articles`` is for ERPs."""
        findings = []
        try:
            await self._list("orders", f"PrestaShop shop {self.shop}: order list", {"limit": "1"})
        except BryggaError as exc:
            return [RemoteFinding("webservice key", False, str(exc))]
        findings.append(RemoteFinding("webservice key", True, "the key reads orders"))
        if needs.shop_statuses:
            try:
                have = await self.order_statuses()
            except BryggaError as exc:
                findings.append(RemoteFinding("order states", False, str(exc)))
                return findings
            missing = [code for code in needs.shop_statuses if code not in have]
            findings.append(
                RemoteFinding(
                    "order states",
                    not missing,
                    f"the shop has no order state {', '.join(map(repr, missing))} (it has: "
                    f"{', '.join(have)}); name one of those as shop_status in [connection.status]"
                    if missing
                    else ", ".join(needs.shop_statuses),
                )
            )
        return findings

    # -- OrderSource ----------------------------------------------------------------------

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Orders with ``since <= date_upd < until`` in (date_upd, id) order, each once."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        what = f"PrestaShop shop {self.shop}: order list"

        async def fetch(params: dict[str, object]) -> list[Record]:
            return await self._list("orders", what, dict(params))

        start = _local(since.replace(microsecond=0), self._zone)
        end = _local(until + timedelta(seconds=1), self._zone)
        rows = await walk_window(
            fetch, start, end, page_size=self.config.page_size, page_limit=self.config.page_limit
        )
        changes = []
        for row in rows:
            try:
                order_id = get_id(row, "id", what)
            except PermanentError as exc:
                log.warning("prestashop shop %s: skipped an order-list row: %s", self.shop, exc)
                continue
            try:
                modified = get_date(row, "date_upd", f"PrestaShop order {order_id}", self._zone)
            except PermanentError as exc:
                # the shop listed it in the window: report it, so that its transfer fails
                # with the reason as an error record instead of vanishing
                log.warning("prestashop shop %s: order-list row read in part: %s", self.shop, exc)
                modified = since
            if not since <= modified < until:
                continue
            status = await self.states.code_of(row.get("current_state"))
            changes.append(
                OrderChange(shop_order_id=str(order_id), modified_at=modified, status=status)
            )
        changes.sort(key=lambda c: (c.modified_at, int(c.shop_order_id)))
        for change in changes:
            yield change

    async def fetch_order(self, shop_order_id: str) -> Order:
        order_id = _order_id(shop_order_id)
        what = f"PrestaShop order {order_id}"
        response = await self._call("GET", f"orders/{order_id}", what, ok=(200, 404))
        if response.status_code == 404:
            raise PermanentError(
                f"{what} does not exist in shop {self.shop} (404); it was probably deleted "
                "there, so resolve this record"
            )
        order = decode_detail(response.content, "order", what)
        if str(order.get("id")) != str(order_id):
            raise PermanentError(
                f"{what}: PrestaShop answered with order {str(order.get('id'))[:20]!r}, another "
                "order; check a proxy in front of base_url, then retry"
            )
        details = await self._list(
            "order_details", what, {"display": "full", "filter[id_order]": f"[{order_id}]"}
        )
        details.sort(key=lambda d: str(d.get("id", "")).zfill(12))
        parts = OrderParts(
            order=order,
            details=details,
            tax_rates=await self._tax_rates(details, what),
            customer=await self._linked(order, "id_customer", "customers", "customer", what),
            invoice=await self._linked(order, "id_address_invoice", "addresses", "address", what),
            delivery=await self._linked(order, "id_address_delivery", "addresses", "address", what),
            countries={},
            currency=await self._currency(order, what),
            carrier=await self._carrier(order, what),
            cart_rules=await self._list(
                "order_cart_rules", what, {"display": "full", "filter[id_order]": f"[{order_id}]"}
            ),
            status=await self.states.code_of(order.get("current_state")),
            paid=await self.states.paid(order.get("current_state")),
            created_at=get_date(order, "date_add", what, self._zone),
            modified_at=get_date(order, "date_upd", what, self._zone),
            exported_as=await self._mark_of(order_id),
            language=self.config.language,
            extra={
                "payment_method": get_text(order, "payment", what),
                "payment_module": get_text(order, "module", what),
                "tracking_number": get_text(order, "shipping_number", what),
                "reference": get_text(order, "reference", what),
            },
        )
        for address in (parts.invoice, parts.delivery):
            if address.get("id_country"):
                country_id = get_id(address, "id_country", f"{what}, address")
                parts.countries[country_id] = await self._country(country_id, what)
        return map_order(order_id, parts)

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

    # -- ExportMark -----------------------------------------------------------------------

    async def _marks(self, order_id: int) -> list[str]:
        rows = await self._list(
            "messages",
            f"PrestaShop order {order_id}: messages",
            {"display": "full", "filter[id_order]": f"[{order_id}]"},
        )
        prefix = self.config.mark_prefix
        texts = [get_text(r, "message", f"PrestaShop order {order_id}: message") for r in rows]
        return [t[len(prefix) :] for t in texts if t.startswith(prefix.strip())]

    async def _mark_of(self, order_id: int) -> str:
        if self.config.export_mark == "none":
            return ""
        marks = await self._marks(order_id)
        return marks[-1].strip() if marks else ""

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """A private order message ``<mark_prefix><number>``, once (read first)."""
        if self.config.export_mark == "none":
            return
        order_id = _order_id(shop_order_id)
        what = f"PrestaShop order {order_id}: export mark"
        if not 0 < len(document.number) <= 100:
            raise PermanentError(
                f"{what}: document number {document.number!r} is not 1-100 characters"
            )
        if document.number in [m.strip() for m in await self._marks(order_id)]:
            return
        body = xml_body(
            "message",
            {
                "id_order": str(order_id),
                "message": f"{self.config.mark_prefix}{document.number}",
                "private": "1",
            },
        )
        await self._call("POST", "messages", what, body=body, ok=(200, 201))

    # -- StatusSink -----------------------------------------------------------------------

    async def order_statuses(self) -> list[str]:
        """The shop's order states (``GET /order_states``), as brygga's codes."""
        return list((await self.states.load()).values())

    async def set_status(
        self,
        shop_order_id: str,
        status_id_code: str,
        *,
        email: bool,
        capture: bool,
        tracking_number: str = "",
        carrier: str = "",
    ) -> bool:
        """The order gets the state by ``POST /order_histories`` (``sendemail=1`` only with
        ``email``) and the tracking number on its ``order_carriers`` row; read first, nothing
        written when it has both. ``capture``: not possible through the Webservice."""
        order_id = _order_id(shop_order_id)
        what = f"PrestaShop order {order_id}: status {status_id_code!r}"
        if len(tracking_number) > 64:
            raise PermanentError(f"{what}: tracking number longer than PrestaShop's 64 characters")
        target = await self.states.id_of(status_id_code, what)
        response = await self._call("GET", f"orders/{order_id}", what)
        order = decode_detail(response.content, "order", what)
        wrote = False
        if tracking_number and get_text(order, "shipping_number", what) != tracking_number:
            await self._set_tracking(order_id, tracking_number, what)
            wrote = True
        if str(order.get("current_state")) != str(target):
            body = xml_body(
                "order_history", {"id_order": str(order_id), "id_order_state": str(target)}
            )
            params = {"sendemail": "1"} if email else None
            await self._call(
                "POST", "order_histories", what, params=params, body=body, ok=(200, 201)
            )
            wrote = True
        if not wrote:
            log.debug("prestashop order %s already has state %s", order_id, status_id_code)
        return wrote

    async def _set_tracking(self, order_id: int, tracking: str, what: str) -> None:
        rows = await self._list(
            "order_carriers", what, {"display": "full", "filter[id_order]": f"[{order_id}]"}
        )
        if not rows:
            raise PermanentError(
                f"{what}: the order has no carrier row (order_carriers) to hold the tracking "
                "number; choose a carrier on the order in PrestaShop, then retry"
            )
        row = rows[0]
        fields = {k: "" if v is None else str(v) for k, v in row.items() if k != "associations"}
        fields["tracking_number"] = tracking
        await self._call(
            "PUT", f"order_carriers/{fields['id']}", what, body=xml_body("order_carrier", fields)
        )


def _order_id(shop_order_id: str) -> int:
    if not shop_order_id.isdigit():
        raise PermanentError(
            f"PrestaShop order id {shop_order_id!r} is not a number; PrestaShop order ids are "
            "integers"
        )
    return int(shop_order_id)
