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
    StatusOption,
    StatusSink,
)
from brygga.errors import BryggaError, PermanentError
from brygga.http.client import RemoteClient, account_key
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import Order, OrderChange
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
from brygga_prestashop.lookups import PrestashopLookups
from brygga_prestashop.mapping import OrderParts, map_order
from brygga_prestashop.states import StateTable
from brygga_prestashop.status import PrestashopStatus, order_id_of
from brygga_prestashop.wire import (
    Record,
    decode_detail,
    get_date,
    get_id,
    get_text,
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
    # an order history can e-mail (sendemail=1) and the carrier row takes a tracking number;
    # the Webservice cannot capture a payment
    status_options=frozenset({StatusOption.EMAIL, StatusOption.TRACKING}),
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
    #: multishop: the shop group whose shared stock brygga writes (a group that shares its
    #: stock has one stock row per product, ``id_shop`` 0); None: the shop's own rows
    id_shop_group: Annotated[int, msgspec.Meta(ge=1)] | None = None
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
    PrestashopLookups,
    PrestashopStatus,
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
        self._id_shop_group = config.id_shop_group
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
        self.export_mark = config.export_mark
        self.mark_prefix = config.mark_prefix
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
        order_id = order_id_of(shop_order_id)
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
            "order_details",
            what,
            {"display": "full", "filter[id_order]": f"[{order_id}]", "sort": "[id_ASC]"},
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
            cart_rules=sorted(
                await self._list(
                    "order_cart_rules",
                    what,
                    {"display": "full", "filter[id_order]": f"[{order_id}]", "sort": "[id_ASC]"},
                ),
                key=lambda r: str(r.get("id", "")).zfill(12),
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
