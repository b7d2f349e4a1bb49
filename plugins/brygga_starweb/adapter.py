"""The Starweb shop adapter (Shop API v2): change feed, orders, export marks and status writes.

Documented (reference/shop-apis.md §2) and relied on: OAuth2 client credentials at
``POST /token`` (1 h tokens, 401 ``invalid_token`` when expired), the ``{data, meta.pagination}``
envelope with ``?page=N``, ``include=`` children wrapped as ``{"data": ...}``, prices excluding
VAT, order external services, and ``PATCH /orders/{id}`` with the e-mail/payment flags.

Chosen where the reference says [unknown] or [inferred] (what is modelled, not documented):

- **Change feed.** Orders have no modified-since filter, so :meth:`StarwebAdapter.changed_orders`
  walks the order list sorted by ``modifiedAt`` descending down to ``since`` (see
  :mod:`brygga_starweb.feed` for how drifting offset pages are handled). Pass an ``until`` no
  later than "now" and no order is lost. The spec gives ties of ``modifiedAt`` no order, so
  orders stamped in the same second that straddle a page boundary are read again in narrower
  ``ordersCreatedAfter``/``ordersCreatedBefore`` ranges, one page each (or by ``orderId``
  when created within a few seconds), until every one of them has been seen. Unfinished
  checkouts (``isComplete=false``) are not listed, as Starweb hides them by default.
- **Money.** ``amountToPay`` is taken as the total incl. VAT and ``totalVat`` as the VAT
  (``totalAmount`` = excl. VAT); ``shippingCost`` and ``paymentFee`` exclude VAT like item
  prices. A percent discount becomes the row's reduction ``quantity * unitPrice * pct / 100``
  (unrounded); an amount discount applies to the whole row.
- **Order-level discounts** are taken to be items with an empty SKU and a negative
  ``unitPrice``; each becomes a ``LineKind.DISCOUNT`` line with quantity 1 and the row's
  (negative) net amount as unit price.
- **Statuses** are named by ``idCode`` (``created``, ``picking``, ``completed``, ``canceled``);
  a custom status without one is named by its numeric id.
- **Customers.** ``customerId`` null means a guest. The customer is a company when Starweb
  says ``type: company`` or its national id looks like a Nordic organisation number. Billing
  is the first non-empty of the customerInvoice, originalInvoice and paymentMethodInvoice
  addresses; shipping likewise from the delivery addresses.
- **Paid** means ``amountPaid >= amountToPay > 0``.
- **Rate limit.** Starweb publishes none; the adapter keeps under 10 requests/s per API client
  unless ``rate_limit`` says otherwise, and backs off on 429/5xx with Retry-After.
- **Tokens** live in the daemon's shared :class:`brygga.http.tokens.TokenCache`, keyed by API
  root and both credentials: every connection using the same API client shares one token,
  renewed a minute before ``expires_in`` runs out; a 401 gets one new token and one retry.
- **Orders read with the list.** The change feed asks the order list for the same children
  as the order itself (``include=items,addresses,customer,status,externalServices``, which the
  spec documents for ``GET /orders`` and ``GET /orders/{orderId}`` alike), and the transfer
  that follows uses the listed order instead of reading it again: one request less per order.
  Each listed version of an order (its ``modifiedAt``) is used once, only within
  ``PREFETCH_FRESH`` seconds of its read, and only when every child asked for came with it; a
  later poll that lists the same version again (the overlap window) does not offer it again.
  Otherwise (a retry, even right after a fix in the shop and before the next poll; a slow
  worker; a shop that leaves children out of lists) the order is read on its own as before.
- **Export mark.** ``mark_exported`` records the ERP document number as the order's external
  service ``service_name``: created with ``POST /orders/{id}/external-services`` (one request
  for a fresh order), and only when that POST is refused because the service exists (a retry
  after a lost answer, a replay) read and, if the number differs, replaced with ``PUT``.
  A repeat writes nothing (every write bumps the order's ``modifiedAt``, and an unneeded one
  would wake the change feed again).
- **Unreadable order-list rows** do not stop the change feed: each is logged (WARNING) and
  skipped. When its ``orderId`` is readable (and its ``modifiedAt``, if readable, lies in the
  window) the order is still reported as changed, with an empty status unless ``statusId``
  was readable, so a worker fetches the full order: it transfers if only the list row was
  bad, and otherwise its work item fails with the decoding error. A row without a readable
  ``orderId`` can only be logged. A full order whose ``orderId`` is not the one asked for is
  a PermanentError (never transferred under the wrong reference).
- **Hostile values** (see :mod:`brygga_starweb.mapping`): numbers must be finite and within
  sane bounds, timestamps from 1970 on, e-mail addresses at most 254 characters; control
  characters are removed from free text (names, addresses, descriptions, e-mail).
- **Status writes** read the order first and write nothing when it already has the status
  and tracking number, so a replayed status event neither echoes nor e-mails twice.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

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
from brygga.secrets import Secret
from brygga_starweb.auth import TokenSource
from brygga_starweb.catalog import StarwebCatalog
from brygga_starweb.feed import OrderListWalk, unreadable_changes
from brygga_starweb.mapping import map_order
from brygga_starweb.wire import (
    ExternalServiceWire,
    Included,
    OrderSummary,
    OrderWire,
    Pagination,
    StatusWire,
    UnreadableRow,
    decode_external_service,
    decode_order,
    decode_order_page,
    decode_order_row,
    decode_statuses,
)

__all__ = [
    "CAPABILITIES",
    "StarwebAdapter",
    "StarwebConfig",
    "token_account",
]

log = logging.getLogger(__name__)

ORDER_INCLUDES = "items,addresses,customer,status,externalServices"
#: orders whose export mark the adapter remembers from their fetch (for the write-back)
MARKS_REMEMBERED = 4096
#: a POST of an external service the order already has: the spec documents 400 for it; 409
#: and 422 are what other servers say
_EXISTS = (400, 409, 422)
#: seconds a full order read with the order list stands in for reading it on its own
PREFETCH_FRESH = 30.0
#: listed orders kept for their transfer at most (the newest; a miss reads the order)
PREFETCH_REMEMBERED = 1024

#: what Starweb can do that the code cannot show; what the adapter reads and writes follows
#: from the protocols ``StarwebAdapter`` implements
CAPABILITIES = Capabilities(
    variants=True,
    price_lists=True,
    campaign_price=True,
    webhooks=True,
    rate_limit=None,
    notes=(
        "Starweb has no modified-since filter on orders: changes are found by walking the "
        "order list sorted by modifiedAt, newest first, down to the window's start.",
        "Starweb web hooks are not signed; brygga treats them as hints and re-fetches the "
        "order, and keeps polling as the safety net.",
        "Starweb publishes no rate limit; brygga keeps to 10 requests/s per API client "
        "(configurable with rate_limit).",
        "A status change can make Starweb e-mail the customer and capture or cancel a "
        "reserved payment; brygga sets both flags explicitly per status rule.",
    ),
)


class StarwebConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    """A Starweb shop: ``base_url`` is the API root, e.g. ``https://SHOP.starwebserver.se/api/v2``."""

    kind: str = "starweb"
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+")]
    client_id: Secret
    client_secret: Secret
    #: the external-services name under which the ERP document number is recorded
    service_name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "brygga"
    #: safety cap on order-list pages read by one change-feed call
    page_limit: Annotated[int, msgspec.Meta(ge=1)] = 200
    #: read orders in full with the order list and transfer them from there (one request
    #: less per order); false reads each order on its own, as the list asks only for status
    orders_from_list: bool = True
    #: Starweb publishes no limit: overrides our default 10 requests/s, e.g.
    #: ``{ requests = 5, per_seconds = 1 }``
    rate_limit: RateLimit | None = None
    #: ``shippingTrackerType`` sent with tracking numbers (an id from /shipping-tracking-types)
    tracker_type: int | None = None
    #: the ERP's carrier name → the Starweb ``shippingTrackerType`` id for it, e.g.
    #: ``{ PostNord = 3, DHL = 5 }``; a carrier not named here gets ``tracker_type``
    tracker_types: dict[str, int] = msgspec.field(default_factory=dict)
    #: the attribute a further variant's whole name goes under when the name does not say
    #: one ("Storlek: M" does), e.g. "Variant"; "" leaves such a variant to the merchant
    variant_attribute: Annotated[str, msgspec.Meta(max_length=100)] = ""


class StarwebAdapter(StarwebCatalog, ShopAdapter, StatusSink):
    """A Starweb shop seen through canonical models: the orders flow, and statuses back."""

    capabilities = CAPABILITIES

    def __init__(self, config: StarwebConfig, context: AdapterContext) -> None:
        self.config = config
        #: the shop's name in messages (never a credential)
        self.shop = config.name or context.instance or "starweb"
        self.variant_attribute = config.variant_attribute
        self._client = RemoteClient(
            system="starweb",
            base_url=config.base_url,
            context=context.http,
            account=account_key(urlsplit(config.base_url).netloc, config.client_id.reveal()),
            rate_limit=config.rate_limit or DEFAULT_RATE_LIMIT,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenSource(
            self._client,
            client_id=config.client_id,
            client_secret=config.client_secret,
            clock=context.http.clock,
            shop=self.shop,
            cache=context.http.tokens,
            account=token_account(config),
        )
        self._statuses: dict[int, StatusWire] = {}
        #: our external service as the last fetch of each order showed it, so the write-back
        #: that follows need not read it again (bounded; a miss reads it)
        self._marks: OrderedDict[int, ExternalServiceWire | None] = OrderedDict()
        #: order-list rows of the current change-feed read that did not decode
        self._unreadable: list[UnreadableRow] = []
        self._clock = context.http.clock
        #: rows of the current change-feed read, raw, by order id
        self._listed: dict[int, msgspec.Raw] = {}
        #: orders of the window the last reads listed in full: (monotonic read time, raw
        #: row, its modifiedAt), used once by the transfer's fetch (see module notes)
        self._prefetched: OrderedDict[int, tuple[float, msgspec.Raw, datetime]] = OrderedDict()
        #: the modifiedAt of each order's listed copy a fetch already used: a later poll that
        #: lists the same version again (the overlap window) does not offer it a second time,
        #: so a retry reads the order on its own (a fix made in the shop since is seen)
        self._used: OrderedDict[int, datetime] = OrderedDict()
        #: tie groups of the order list (orders with one modifiedAt) the change feed read
        #: whole, by modifiedAt: a later poll need not read them again (feed.py)
        self._ties: dict[datetime, dict[int, OrderSummary]] = {}

    def __repr__(self) -> str:
        return f"StarwebAdapter(shop={self.shop!r}, base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- brygga check --remote -----------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Read-only: the client credentials (one token request) and read access (the first
        order-list page; Starweb has no page-size parameter). ``needs`` is for ERPs."""
        try:
            await self.tokens.get()
        except BryggaError as exc:
            return [RemoteFinding("credentials", False, str(exc))]
        findings = [RemoteFinding("credentials", True, "Starweb issued an access token")]
        what = f"Starweb shop {self.shop}: order list"
        try:
            response = await self._call("GET", "orders", what, params={"page": 1})
            _, pagination = decode_order_page(response.content, 1, [])
        except BryggaError as exc:
            findings.append(RemoteFinding("order list", False, str(exc)))
        else:
            findings.append(RemoteFinding("order list", True, f"{pagination.total} order(s)"))
        if needs.shop_statuses:
            findings.append(await self._verify_statuses(needs.shop_statuses))
        return findings

    async def _verify_statuses(self, wanted: tuple[str, ...]) -> RemoteFinding:
        """The order statuses the status rules name exist in the shop."""
        try:
            have = await self.order_statuses()
        except BryggaError as exc:
            return RemoteFinding("order statuses", False, str(exc))
        missing = [code for code in wanted if code not in have]
        if missing:
            return RemoteFinding(
                "order statuses",
                False,
                f"the shop has no order status {', '.join(map(repr, missing))} (it has: "
                f"{', '.join(have)}); name one of those as shop_status in [connection.status]",
            )
        return RemoteFinding("order statuses", True, ", ".join(wanted))

    # -- statuses ---------------------------------------------------------------------------

    async def _load_statuses(self) -> dict[int, StatusWire]:
        statuses: dict[int, StatusWire] = {}
        page = 1
        while True:
            response = await self._call(
                "GET", "order-statuses", "Starweb order statuses", params={"page": page}
            )
            rows, pagination = decode_statuses(response.content)
            statuses.update((s.status_id, s) for s in rows)
            if pagination is None or page >= pagination.total_pages or not rows:
                break
            page += 1
        self._statuses = statuses
        return statuses

    async def _status_code(self, status_id: int, included: Included[StatusWire] | None) -> str:
        if included is not None:
            self._statuses.setdefault(status_id, included.data)
            return included.data.code
        if status_id not in self._statuses:
            await self._load_statuses()
        known = self._statuses.get(status_id)
        return known.code if known else str(status_id)

    # -- ShopAdapter ------------------------------------------------------------------------

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Orders modified in ``[since, until)``, oldest first, each once (see module notes)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        self._unreadable = []
        self._listed = {}
        walk = OrderListWalk(
            self.order_page,
            since,
            until,
            page_limit=self.config.page_limit,
            shop=self.shop,
            read_filtered=self.order_list_page,
            settled=self._ties,
        )
        await walk.run()
        for when in [when for when in self._ties if when < since]:
            del self._ties[when]  # out of every later window (since only moves on)
        self._keep_listed(walk.rows)
        changes = []
        for row in walk.rows.values():
            status = await self._status_code(row.status_id, row.status)
            changes.append(
                OrderChange(
                    shop_order_id=str(row.order_id),
                    modified_at=row.modified_at.astimezone(UTC),
                    status=status,
                )
            )
        changes += await unreadable_changes(
            self._unreadable,
            since,
            until,
            seen=set(walk.rows),
            status_code=self._status_of,
            shop=self.shop,
        )
        changes.sort(key=lambda c: (c.modified_at, int(c.shop_order_id)))
        for change in changes:
            yield change

    async def _status_of(self, status_id: int) -> str:
        return await self._status_code(status_id, None)

    async def order_page(self, page: int) -> tuple[list[OrderSummary], Pagination]:
        """Page ``page`` of the order list, newest ``modifiedAt`` first (the change feed)."""
        return await self.order_list_page(
            page, sort_by="modifiedAt", created_after=None, created_before=None
        )

    async def order_list_page(
        self,
        page: int,
        *,
        sort_by: str,
        created_after: datetime | None,
        created_before: datetime | None,
        ascending: bool = False,
    ) -> tuple[list[OrderSummary], Pagination]:
        """Page ``page`` of the order list sorted by ``sort_by`` descending (``ascending``:
        ascending), of the orders created after ``created_after`` and before
        ``created_before`` when given."""
        params: dict[str, Any] = {
            "sortBy": sort_by,
            "sortOrder": "ASC" if ascending else "DESC",
            "page": page,
            "include": ORDER_INCLUDES if self.config.orders_from_list else "status",
        }
        if created_after is not None:
            params["ordersCreatedAfter"] = created_after.isoformat()
        if created_before is not None:
            params["ordersCreatedBefore"] = created_before.isoformat()
        response = await self._call(
            "GET", "orders", f"Starweb shop {self.shop}: order list page {page}", params=params
        )
        listed = self._listed if self.config.orders_from_list else None
        return decode_order_page(response.content, page, self._unreadable, listed)

    def _keep_listed(self, window: dict[int, OrderSummary]) -> None:
        """Keep the listed rows of the window's orders for their transfers; forget the rest
        (rows outside the window are never fetched) and whatever has gone stale."""
        read_at = self._clock.monotonic()
        for order_id, summary in window.items():
            row = self._listed.get(order_id)
            self._prefetched.pop(order_id, None)
            if row is not None and self._used.get(order_id) != summary.modified_at:
                self._prefetched[order_id] = (read_at, row, summary.modified_at)
        self._listed = {}
        while self._prefetched:
            oldest = next(iter(self._prefetched.values()))[0]
            if len(self._prefetched) <= PREFETCH_REMEMBERED and read_at - oldest <= PREFETCH_FRESH:
                break
            self._prefetched.popitem(last=False)

    def _listed_order(self, order_id: int) -> OrderWire | None:
        """The order as the change feed just listed it, in full, or None (then read it)."""
        entry = self._prefetched.pop(order_id, None)
        if entry is None:
            return None
        self._used.pop(order_id, None)
        self._used[order_id] = entry[2]
        while len(self._used) > MARKS_REMEMBERED:
            self._used.popitem(last=False)
        if self._clock.monotonic() - entry[0] > PREFETCH_FRESH:
            return None
        try:
            wire = decode_order_row(entry[1], str(order_id))
        except PermanentError:
            return None  # read on its own: its own answer decides
        complete = (wire.items, wire.addresses, wire.customer, wire.status, wire.external_services)
        if wire.order_id != order_id or any(child is None for child in complete):
            return None
        return wire

    async def fetch_order(self, shop_order_id: str) -> Order:
        order_id = _order_id(shop_order_id)
        wire = self._listed_order(order_id) or await self._read_order(order_id)
        if wire.order_id != order_id:
            raise PermanentError(
                f"Starweb order {order_id}: Starweb answered with orderId {wire.order_id}, "
                "another order; report it to Starweb (or check a proxy in front of base_url), "
                "then retry"
            )
        order = map_order(wire, await self._status_code(wire.status_id, wire.status))
        # our own export mark, read back: an order brygga marked before has this set
        ours = _service(wire, self.config.service_name)
        self._remember_mark(order_id, ours)
        mark = (ours.external_id_value or "") if ours else ""
        return msgspec.structs.replace(order, exported_as=mark) if mark else order

    async def _read_order(self, order_id: int) -> OrderWire:
        what = f"Starweb order {order_id}"
        response = await self._call(
            "GET",
            f"orders/{order_id}",
            what,
            params={"include": ORDER_INCLUDES},
            ok=(200, 404),
        )
        if response.status_code == 404:
            raise PermanentError(
                f"{what} does not exist in shop {self.shop} (404); it was probably deleted "
                "there, so resolve this record"
            )
        return decode_order(response.content, str(order_id))

    def _remember_mark(self, order_id: int, service: ExternalServiceWire | None) -> None:
        self._marks[order_id] = service
        self._marks.move_to_end(order_id)
        while len(self._marks) > MARKS_REMEMBERED:
            self._marks.popitem(last=False)

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """Record ``document.number`` as external service ``service_name`` (idempotent).

        Starweb creates an order's external service with ``POST
        /orders/{orderId}/external-services`` (201) and updates one with ``PUT
        .../{serviceName}``, which is a 404 while it does not exist (spec: Order External
        Services). A fresh order has none: one POST. A POST refused because the service exists
        (a retry after a lost answer, a replay with another number) reads it and writes only
        when the number differs, so a repeat writes nothing (every write bumps the order's
        ``modifiedAt`` and would wake the change feed again)."""
        order_id = _order_id(shop_order_id)
        service = self.config.service_name
        what = f"Starweb order {order_id}: external service {service!r}"
        if not 0 < len(document.number) <= 40:
            raise PermanentError(
                f"{what}: document number {document.number!r} does not fit Starweb's "
                "externalIdValue (1 to 40 characters)"
            )
        body = {"serviceName": service, "externalIdValue": document.number}
        collection = f"orders/{order_id}/external-services"
        item = f"{collection}/{quote(service, safe='')}"
        # the transfer's fetch just read it (include=externalServices); else create it
        known = self._marks.pop(order_id, None)
        if known is not None:
            if _marked(known, document.number, what):
                return
            replaced = await self._call("PUT", item, what, json=body, ok=(200, 404))
            if replaced.status_code == 200:
                return  # a 404: deleted in the shop since the fetch; create it again
        created = await self._call("POST", collection, what, json=body, ok=(200, 201, *_EXISTS))
        if created.status_code not in _EXISTS:
            return
        current = await self._call("GET", item, what, ok=(200, 404))
        if current.status_code == 404:  # refused for another reason: say why
            raise self._refusal(created, what)
        if not _marked(decode_external_service(current.content, what), document.number, what):
            await self._call("PUT", item, what, json=body)

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
        """Give the order a status (by ``idCode``, or numeric id for custom statuses).

        ``email`` and ``capture`` set Starweb's onOrderStatusChangeSendEmail and
        onOrderStatusChangeProcessPayment for this call (never the sticky shop setting).
        Nothing is written when the order already has the status and tracking number
        (False). ``carrier`` picks the ``shippingTrackerType`` from ``tracker_types``.
        """
        order_id = _order_id(shop_order_id)
        what = f"Starweb order {order_id}: status {status_id_code!r}"
        if len(tracking_number) > 50:
            raise PermanentError(f"{what}: tracking number longer than Starweb's 50 characters")
        target = await self._status_id(status_id_code, what)
        response = await self._call("GET", f"orders/{order_id}", what)
        current = decode_order(response.content, str(order_id))
        body: dict[str, Any] = {}
        if tracking_number and current.shipping_tracking_no != tracking_number:
            body["shippingTrackingNo"] = tracking_number
            tracker = self.config.tracker_types.get(carrier, self.config.tracker_type)
            if tracker is not None:
                body["shippingTrackerType"] = tracker
        if current.status_id != target:
            body["statusId"] = target
            body["onOrderStatusChangeSendEmail"] = email
            body["onOrderStatusChangeProcessPayment"] = capture
        if not body:
            log.debug("starweb order %s already has status %s", order_id, status_id_code)
            return False
        await self._call("PATCH", f"orders/{order_id}", what, json=body)
        return True

    async def order_statuses(self) -> list[str]:
        """The shop's order statuses (``GET /order-statuses``), by ``idCode`` (numeric id for a
        custom status without one), as status rules name them."""
        return [status.code for status in (await self._load_statuses()).values()]

    async def _status_id(self, code: str, what: str) -> int:
        for attempt in range(2):
            statuses = self._statuses if attempt == 0 else await self._load_statuses()
            for status in statuses.values():
                if code in (status.id_code, str(status.status_id)):
                    return status.status_id
        known = ", ".join(sorted(s.code for s in self._statuses.values()))
        raise PermanentError(
            f"{what}: the shop has no such order status (known: {known or 'none'}); fix the "
            "status rule in the connection's [status] table"
        )


def token_account(config: StarwebConfig) -> str:
    """The token cache key of an API client: the API root and both credentials, so adapters
    share a token only when they would have been given the same one (a wrong secret never
    borrows a token fetched with the right one)."""
    parts = urlsplit(config.base_url)
    return account_key(
        parts.netloc + parts.path.rstrip("/"),
        "client_credentials",
        config.client_id.reveal(),
        config.client_secret.reveal(),
    )


def _order_id(shop_order_id: str) -> int:
    if not shop_order_id.isdigit():
        raise PermanentError(
            f"Starweb order id {shop_order_id!r} is not a number; Starweb order ids are integers"
        )
    return int(shop_order_id)


def _marked(service: ExternalServiceWire, number: str, what: str) -> bool:
    """Whether the shop's external service already holds ``number``; a read-only one that
    holds another is a PermanentError (Starweb refuses writes to it)."""
    if service.external_id_value == number:
        return True
    if service.read_only:
        raise PermanentError(
            f"{what} is read-only and holds {service.external_id_value!r}; choose another "
            "service_name for this shop"
        )
    return False


def _service(order: OrderWire, name: str) -> ExternalServiceWire | None:
    """The order's external service ``name`` (ours), from ``include=externalServices``."""
    services = order.external_services.data if order.external_services else []
    return next((service for service in services if service.service_name == name), None)
