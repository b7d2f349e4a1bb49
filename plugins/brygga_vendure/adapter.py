"""The Vendure shop adapter (Admin GraphQL API): orders in, statuses, stock and prices back.

Documented (docs.vendure.io, Admin API reference; verified against Vendure 3.7.3 in
``contrib/real/vendure``, reference/real-peers.md §B) and relied on:

- **Auth.** ``login(username, password)`` answers with the session token in the response
  header ``vendure-auth-token``; it goes back as ``Authorization: Bearer <token>``
  (``authOptions.tokenMethod`` must include ``bearer``, Vendure's default). A ``vendure-token``
  header selects a channel (``channel_token``). An expired or unknown session is answered
  HTTP 200 with a GraphQL error ``FORBIDDEN`` (not 401): the adapter then forgets the token in
  the shared :class:`~brygga.http.tokens.TokenCache`, logs in once more and repeats the call
  once; a second FORBIDDEN means the administrator lacks a permission (PermanentError).
  A login Vendure refuses (``InvalidCredentialsError``, ``INVALID_CREDENTIALS_ERROR``: a wrong
  username or password) is a :class:`~brygga.errors.CredentialsRejected`, on which the sync
  engine holds the connection's work instead of failing the record; so is a FORBIDDEN whose
  new login is refused (a password changed since the session began).
- **Change feed.** ``orders(options: {filter: {updatedAt: {between}, orderPlacedAt:
  {isNull: false}}, sort: {id: ASC}, skip, take})``: only orders past checkout (an order
  gets ``orderPlacedAt`` when it leaves ArrangingPayment for PaymentAuthorized/
  PaymentSettled). Pages are sorted by id, which never changes (Vendure 3.7.3 on SQLite
  did not honour a second sort key: ``{updatedAt: ASC, id: DESC}`` came back by id
  descending), so an order that changes during the walk keeps its place and new orders come
  last. Each page overlaps the previous one by a row: when that row is no longer where it
  was (an order before it changed and left the window, shifting the pages), the window is
  read again from the start, so no order is skipped. The changes are yielded sorted by
  (updatedAt, id). The window is asked for 2 s wider and cut exactly to ``[since, until)`` here
  (``between`` is inclusive, and on SQLite timestamps compare as text, see WINDOW_PAD).
- **Money** in minor units (see :mod:`brygga_vendure.mapping`).
- **Statuses** are Vendure's order states, read from ``globalSettings.serverConfig
  .orderProcess`` (custom states of a merchant's OrderProcess included). Writing one:
  ``PaymentSettled`` settles the authorized payments (``settlePayment``: a capture, so only
  with ``capture = true``); ``Shipped``/``Delivered`` create one fulfilment for what is not
  yet fulfilled (``addFulfillmentToOrder`` with the ``manual-fulfillment`` handler, carrier
  as ``method``, the tracking number as ``trackingCode``) and move it on with
  ``transitionFulfillmentToState`` (Vendure then moves the order); ``Cancelled`` is
  ``cancelOrder``; any other state is ``transitionOrderToState``. Vendure's default process
  ships only settled orders: with ``capture = true`` the payments are settled first,
  otherwise such a status is refused with a PermanentError naming the fix.
- **Stock and price** through ``updateProductVariants`` (``stockOnHand``; ``prices`` per
  currency code), the variant found by ``productVariants(filter: {sku: {eq}})``.

Chosen (not prescribed by Vendure):

- **Export mark**: a private order note (``addNoteToOrder``, ``isPublic: false``) reading
  ``brygga exported as invoice 1001 (reference …)``; read back from the order's
  ``history`` (type ``ORDER_NOTE``). Core Vendure has no order custom field we could count
  on (custom fields need a server config change), and a note is visible to the merchant in
  the admin UI. A repeat reads the notes first and writes nothing.
- **Stock**: ``put_stock`` sets what the shop may sell. Vendure sells ``stockOnHand -
  stockAllocated - outOfStockThreshold`` (stock is *allocated* at checkout and only taken
  off ``stockOnHand`` at fulfilment), so ``stockOnHand`` becomes ``quantity +
  stockAllocated + threshold``; a negative quantity sells nothing; a fraction is rounded
  down.
- **Price**: the canonical price excludes VAT; on a channel whose ``pricesIncludeTax`` is
  true the price written is ``price * (1 + rate)`` with the variant's applied tax rate,
  rounded half up to the minor unit. Only currencies of the channel
  (``availableCurrencyCodes``) can be written. Vendure core has no campaign price
  (``campaign_price`` is ignored; ``Capabilities.campaign_price`` is false).
- **Articles** (ProductSink): a variant is matched on its SKU. An existing one gets its name
  (``name`` + ``variant_name``), price and ``enabled`` (``active``) updated in the channel's
  default language. A missing SKU becomes a new product (slug from ``product_sku`` or the
  SKU) with that one variant, its tax category the one whose rate in the channel's tax zone
  is the article's VAT rate, stock 0. A further variant of a product that already has
  variants is refused (PermanentError): Vendure tells variants apart by product options,
  which brygga does not invent. EAN and weight are not written (no core fields). A product's
  own record (an ERP parent item, ``has_variants``) is no variant to sell: NothingToDo with
  the SKU and why (the record is skipped with that sentence, not a switched-off write). The
  dry run's ``preview_article`` makes every read ``put_article`` makes and no write.
- **E-mail**: Vendure's API has no per-change switch; core Vendure sends no mail and the
  EmailPlugin's handlers decide on their own. So the adapter declares no
  ``StatusOption.EMAIL``: a status rule with ``email = true`` for a Vendure shop is refused by
  `brygga check` and the daemon's start.
- **Writes whose outcome is unknown** (timeout, dropped connection) are never repeated
  blindly: every status write reads the order first (a fulfilment that landed is found and
  reused, a settled payment is not settled again), stock and price writes set absolute
  values, and the export note is looked for before it is added.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

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
from brygga.catalog import Article, variant_title
from brygga.errors import (
    BryggaError,
    CredentialsRejected,
    NothingToDo,
    PermanentError,
    TransientError,
)
from brygga.http.client import RemoteClient, account_key
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.http.tokens import Token
from brygga.models import DocumentRef, Order, OrderChange
from brygga.registers import PriceSink, ProductSink, StockSink, Written
from brygga.secrets import Secret, scrub
from brygga_vendure import wire
from brygga_vendure.mapping import (
    export_note,
    exported_number,
    map_order,
    parse_time,
    to_minor,
)

__all__ = ["CAPABILITIES", "VendureAdapter", "VendureConfig"]

log = logging.getLogger(__name__)

#: states an order has before checkout, or passes through while it is edited: no status
#: rule can send an order there
CART_STATES = frozenset(
    {
        "Created",
        "Draft",
        "AddingItems",
        "ArrangingPayment",
        "Modifying",
        "ArrangingAdditionalPayment",
    }
)
#: states no status rule can name: the cart and editing states, PaymentAuthorized (reached
#: by checkout only) and the partial ones (brygga fulfils whole orders)
UNSETTABLE = CART_STATES | {"PaymentAuthorized", "PartiallyShipped", "PartiallyDelivered"}
#: states reached by fulfilments, in order
FULFILMENT_STATES = ("Shipped", "Delivered")
#: a session token is used this long before the adapter logs in again (Vendure's own default
#: session lasts a year; an earlier end is answered FORBIDDEN and handled)
SESSION_SECONDS = 8 * 3600.0
#: the feed asks for a window this much wider and cuts it exactly here: on SQLite Vendure
#: compares ``updatedAt`` as text, and rows written by the database (``2026-12-03
#: 06:54:54``) and by Vendure (``… 06:54:54.000``) do not compare equal at the boundary
WINDOW_PAD = timedelta(seconds=2)
#: how often one change-feed call reads the window again after the pages shifted
MAX_RESTARTS = 3

CAPABILITIES = Capabilities(
    variants=True,
    price_lists=False,
    campaign_price=False,
    webhooks=False,
    lookup_by_reference=False,
    rate_limit=None,
    # no e-mail switch: mail follows the server's EmailPlugin (module notes)
    status_options=frozenset({StatusOption.TRACKING, StatusOption.CAPTURE}),
    notes=(
        "Vendure: orders past checkout are read from the Admin API by updatedAt; the ERP "
        "document number is kept as a private order note.",
        "Vendure ships only settled orders: a Shipped/Delivered rule needs capture = true "
        "while the payment is only authorized.",
        "Vendure's API has no e-mail switch per status change; mail follows the server's "
        "EmailPlugin configuration.",
        "Stock written is what the shop may sell (stockOnHand = quantity + allocated); "
        "prices follow the channel's pricesIncludeTax; no campaign prices in Vendure core.",
        "Articles: variants are updated by SKU; a missing SKU becomes a new product with one "
        "variant; further variants of an existing product need their options made in Vendure.",
    ),
)


class VendureConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    """A Vendure shop: ``base_url`` is the Admin API, e.g. ``https://shop.example/admin-api``."""

    kind: str = "vendure"
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+")]
    #: an administrator with ReadOrder, UpdateOrder, ReadCatalog, UpdateCatalog, ReadSettings
    username: Annotated[str, msgspec.Meta(min_length=1)]
    password: Secret
    #: the channel's token (sent as ``vendure-token``); "" for the default channel
    channel_token: str = ""
    #: orders per change-feed page (Vendure caps ``take`` at 1000 by default)
    page_size: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 100
    #: safety cap on pages read by one change-feed call
    page_limit: Annotated[int, msgspec.Meta(ge=1)] = 1000
    #: the fulfilment handler for Shipped/Delivered (Vendure's built-in one by default)
    fulfillment_handler: str = "manual-fulfillment"
    #: Vendure publishes no limit: overrides our default,
    #: e.g. ``{ requests = 20, per_seconds = 1 }``
    rate_limit: RateLimit | None = None


class VendureAdapter(ShopAdapter, StatusSink, StockSink, PriceSink, ProductSink):
    """A Vendure shop through its Admin API (see the module notes)."""

    capabilities = CAPABILITIES

    def __init__(self, config: VendureConfig, context: AdapterContext) -> None:
        self.config = config
        self.shop = config.name or context.instance or "vendure"
        parts = urlsplit(config.base_url)
        self._client = RemoteClient(
            system="vendure",
            base_url=config.base_url,
            context=context.http,
            account=account_key(parts.netloc, config.username),
            rate_limit=config.rate_limit or DEFAULT_RATE_LIMIT,
            headers={"Accept": "application/json"},
        )
        #: the Admin API itself (absolute: the client's base would add a trailing slash)
        self._endpoint = config.base_url.rstrip("/")
        self._clock = context.http.clock
        self._tokens = context.http.tokens
        self._account = account_key(
            parts.netloc + parts.path, config.username, config.password.reveal()
        )
        self._channel: wire.ChannelWire | None = None
        #: how many logins this adapter made (tests)
        self.logins = 0
        #: how many mutations it sent (tests: a repeat sends none)
        self.writes = 0

    def __repr__(self) -> str:
        return f"VendureAdapter(shop={self.shop!r}, base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the GraphQL call ---------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        current = self._tokens.current(self._account)
        return scrub(text, self.config.password, current.value if current else None)

    async def _login(self) -> Token:
        what = f"Vendure shop {self.shop}: login as {self.config.username}"
        issued_at = self._clock.monotonic()
        response = await self._client.request(
            "POST",
            self._endpoint,
            json={
                "query": wire.LOGIN,
                "variables": {
                    "username": self.config.username,
                    "password": self.config.password.reveal(),
                },
            },
            headers=self._channel_header(),
        )
        if response.status_code != 200:
            raise PermanentError(
                f"{what}: HTTP {response.status_code}; check that base_url is the Admin API "
                "(…/admin-api)"
            )
        envelope = _decode(response.content, what)
        if envelope.errors or envelope.data is None:
            raise PermanentError(f"{what}: {self._errors(envelope.errors)}")
        answer: wire.ErrorWire = wire.decode(envelope.data.get("login"), wire.ErrorWire)
        if answer is not None and answer.error_code == "INVALID_CREDENTIALS_ERROR":
            shop = self.shop
            raise CredentialsRejected(
                f"Vendure shop {shop} rejected the credentials (INVALID_CREDENTIALS_ERROR from "
                f"the login as {self.config.username}): fix username and password "
                f"({self.config.password.source}) of shop {shop} in [[connection.shops]] (an "
                "administrator of the Admin API), then reload brygga"
            )
        if answer is None or answer.typename != "CurrentUser":
            code = answer.error_code if answer else "no answer"
            raise PermanentError(
                f"{what}: refused ({code}); check username and password "
                f"({self.config.password.source})"
            )
        # the session is the bearer token in the shared cache; a session cookie (Vendure sets
        # one when tokenMethod includes "cookie") would keep an old session alive unseen
        self._client.client.cookies.clear()
        token = response.headers.get("vendure-auth-token", "")
        if not token:
            raise PermanentError(
                f"{what}: no vendure-auth-token header in the answer; the server's "
                "authOptions.tokenMethod must include 'bearer'"
            )
        self.logins += 1
        return Token.lasting(token, SESSION_SECONDS, issued_at=issued_at)

    def _channel_header(self) -> dict[str, str]:
        return {"vendure-token": self.config.channel_token} if self.config.channel_token else {}

    async def _gql(
        self, what: str, query: str, variables: Mapping[str, Any] | None = None, *, write: bool
    ) -> dict[str, msgspec.Raw]:
        """One Admin API call; the ``data`` object. A read that timed out is no write in
        doubt (GraphQL reads are POSTs too)."""
        body = {"query": query, "variables": dict(variables or {})}
        for attempt in (1, 2):
            token = await self._tokens.get(self._account, self._login, clock=self._clock)
            self._client.client.cookies.clear()  # the bearer token alone is the session
            try:
                response = await self._client.request(
                    "POST",
                    self._endpoint,
                    json=body,
                    headers={"Authorization": f"Bearer {token.value}", **self._channel_header()},
                )
            except TransientError as exc:
                if write or not exc.in_doubt:
                    raise
                raise TransientError(str(exc), retry_after=exc.retry_after) from None
            if write:
                self.writes += 1
            envelope = _decode(response.content, f"Vendure shop {self.shop}: {what}")
            codes = {error.code for error in envelope.errors}
            if "FORBIDDEN" in codes and attempt == 1:
                log.info("vendure shop %s: session refused; logging in again", self.shop)
                self._tokens.invalidate(self._account, token)
                continue
            if "FORBIDDEN" in codes:
                raise PermanentError(
                    f"Vendure shop {self.shop}: {what}: forbidden; give the administrator "
                    f"{self.config.username} the permissions ReadOrder, UpdateOrder, "
                    "ReadCatalog, UpdateCatalog and ReadSettings"
                )
            if envelope.errors:
                message = f"Vendure shop {self.shop}: {what}: {self._errors(envelope.errors)}"
                if "INTERNAL_SERVER_ERROR" in codes:
                    raise TransientError(message, in_doubt=write)
                raise PermanentError(message)
            if response.status_code != 200 or envelope.data is None:
                raise PermanentError(
                    f"Vendure shop {self.shop}: {what}: HTTP {response.status_code} without data"
                )
            return envelope.data
        raise AssertionError("unreachable")  # pragma: no cover

    def _field(self, data: Mapping[str, msgspec.Raw], name: str, type_: type[Any]) -> Any:
        """``data[name]`` decoded into ``type_``; a PermanentError naming the field when the
        shop's answer does not fit it."""
        try:
            return wire.decode(data.get(name), type_)
        except msgspec.ValidationError as exc:
            raise PermanentError(
                f"Vendure shop {self.shop}: unreadable {name} in the answer: {exc}"
            ) from None

    def _errors(self, errors: Sequence[wire.GqlError]) -> str:
        text = "; ".join(f"{e.code or 'error'}: {e.message}" for e in errors) or "no data"
        return self._scrub(text)[:300]

    # -- brygga check --remote ----------------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Read-only: the login, the channel and the order statuses the rules name."""
        try:
            channel = await self._active_channel()
        except BryggaError as exc:
            return [RemoteFinding("login", False, str(exc))]
        findings = [
            RemoteFinding(
                "login",
                True,
                f"channel {channel.code}: {channel.default_currency_code}, prices "
                f"{'include' if channel.prices_include_tax else 'exclude'} tax",
            )
        ]
        if needs.shop_statuses:
            try:
                have = await self.order_statuses()
            except BryggaError as exc:
                findings.append(RemoteFinding("order statuses", False, str(exc)))
            else:
                missing = [s for s in needs.shop_statuses if s not in have]
                findings.append(
                    RemoteFinding(
                        "order statuses",
                        not missing,
                        (
                            f"Vendure has no order state {', '.join(map(repr, missing))} that "
                            f"brygga can set (it can set: {', '.join(have)})"
                        )
                        if missing
                        else ", ".join(needs.shop_statuses),
                    )
                )
        return findings

    # -- orders ---------------------------------------------------------------------------------

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Orders past checkout modified in ``[since, until)``, in (modified_at, id) order
        (module notes)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        seen: dict[str, OrderChange] = {}
        take = self.config.page_size
        variables = {
            "start": _iso(since - WINDOW_PAD),
            "end": _iso(until + WINDOW_PAD),
            "take": take,
        }
        skip, previous_last, restarts = 0, "", 0
        for page in range(self.config.page_limit):
            data = await self._gql(
                f"changed orders page {page + 1}",
                wire.ORDERS_CHANGED,
                {**variables, "skip": skip},
                write=False,
            )
            listed: wire.OrderListWire = self._field(data, "orders", wire.OrderListWire)
            rows = listed.items if listed else []
            if previous_last and (not rows or rows[0].id != previous_last):
                # a row before this page left the window (it changed): the pages shifted
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise TransientError(
                        f"Vendure shop {self.shop}: orders kept changing while the change "
                        "feed read them; the next poll reads the window again"
                    )
                log.info("vendure shop %s: order list shifted; reading it again", self.shop)
                skip, previous_last = 0, ""
                continue
            for row in rows:
                modified = parse_time(row.updated_at)
                if since <= modified < until:
                    seen[row.id] = OrderChange(
                        shop_order_id=row.id, modified_at=modified, status=row.state
                    )
            if len(rows) < take:
                break
            # the next page starts with this page's last row: it must still be there
            previous_last, skip = rows[-1].id, skip + take - 1
        else:
            log.warning(
                "vendure shop %s: change feed stopped after %d pages (page_limit)",
                self.shop,
                self.config.page_limit,
            )
        for change in sorted(seen.values(), key=lambda c: (c.modified_at, _id_key(c))):
            yield change

    async def _order(self, shop_order_id: str, what: str) -> wire.OrderWire:
        data = await self._gql(what, wire.ORDER, {"id": shop_order_id}, write=False)
        try:
            order: wire.OrderWire | None = wire.decode(data.get("order"), wire.OrderWire)
        except msgspec.ValidationError as exc:
            raise PermanentError(
                f"Vendure shop {self.shop}: order {shop_order_id} cannot be read: {exc}"
            ) from None
        if order is None:
            raise PermanentError(
                f"Vendure shop {self.shop}: there is no order with id {shop_order_id} (deleted, "
                "or in another channel than channel_token selects)"
            )
        return order

    async def fetch_order(self, shop_order_id: str) -> Order:
        order = await self._order(shop_order_id, f"order {shop_order_id}")
        try:
            return map_order(order, shop=self.shop, exported_as=_mark(order))
        except (ValueError, msgspec.ValidationError) as exc:  # out-of-range values
            raise PermanentError(
                f"Vendure shop {self.shop}: order {shop_order_id} cannot be mapped: {exc}"
            ) from None

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """A private note ``brygga exported as <type> <number> …`` unless the newest such
        note already names this document."""
        order = await self._order(shop_order_id, f"order {shop_order_id} (export mark)")
        if _mark(order) == document.number:
            return
        await self._gql(
            f"order {order.code}: export note",
            wire.ADD_NOTE,
            {
                "input": {
                    "id": order.id,
                    "note": export_note(
                        document.document_type.value, document.number, document.reference
                    ),
                    "isPublic": False,
                }
            },
            write=True,
        )

    # -- statuses -------------------------------------------------------------------------------

    async def order_statuses(self) -> Sequence[str]:
        """Vendure's order states a rule can send an order to (UNSETTABLE left out), from
        the server's configured order process (a merchant's custom states included)."""
        data = await self._gql("order process", wire.SETTINGS, write=False)
        settings: wire.SettingsWire = self._field(data, "globalSettings", wire.SettingsWire)
        process = settings.server_config.order_process if settings.server_config else []
        return [s.name for s in process if s.name not in UNSETTABLE]

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
        """Move the order to the state ``status_id_code`` (module notes); reads first and
        writes nothing when it is there already. ``email`` is not acted on (no such switch
        in Vendure's API)."""
        del email  # documented: Vendure has no per-change e-mail switch
        statuses = await self.order_statuses()
        if status_id_code not in statuses:
            raise PermanentError(
                f"Vendure shop {self.shop}: no order state {status_id_code!r} brygga can set; "
                f"name one of {', '.join(statuses)} as shop_status"
            )
        order = await self._order(shop_order_id, f"order {shop_order_id} (status)")
        what = f"Vendure shop {self.shop}: order {order.code}"
        if order.state == status_id_code:
            return False
        if order.state == "Cancelled":
            raise PermanentError(f"{what} is cancelled; it cannot become {status_id_code}")
        wrote = False
        if status_id_code == "Cancelled":
            await self._mutate(
                what,
                "cancelOrder",
                wire.CANCEL_ORDER,
                {"input": {"orderId": order.id, "reason": "brygga", "cancelShipping": True}},
            )
            return True
        settle_first = status_id_code == "PaymentSettled" or (
            status_id_code in FULFILMENT_STATES and order.state == "PaymentAuthorized"
        )
        if settle_first:
            if not capture:
                raise PermanentError(
                    f"{what}: {status_id_code} needs the authorized payment captured "
                    f"(settled) first; set capture = true on the rule for {status_id_code}"
                )
            wrote = await self._settle(order, what)
            if status_id_code == "PaymentSettled":
                return wrote
        elif capture:
            wrote = await self._settle(order, what)
        if status_id_code in FULFILMENT_STATES:
            return await self._fulfil(order, status_id_code, tracking_number, carrier) or wrote
        await self._mutate(
            what,
            "transitionOrderToState",
            wire.TRANSITION_ORDER,
            {"id": order.id, "state": status_id_code},
        )
        return True

    async def _settle(self, order: wire.OrderWire, what: str) -> bool:
        wrote = False
        for payment in order.payments or ():
            if payment.state == "Authorized":
                await self._mutate(
                    what, "settlePayment", wire.SETTLE_PAYMENT, {"id": payment.id}, ok="Payment"
                )
                wrote = True
        return wrote

    async def _fulfil(
        self, order: wire.OrderWire, target: str, tracking_number: str, carrier: str
    ) -> bool:
        """One fulfilment for what is not yet fulfilled (reusing one a lost answer left),
        moved on to ``target``."""
        what = f"Vendure shop {self.shop}: order {order.code}"
        live = [f for f in order.fulfillments or () if f.state != "Cancelled"]
        fulfilled: dict[str, int] = {}
        for fulfilment in live:
            for line in fulfilment.lines:
                fulfilled[line.order_line_id] = fulfilled.get(line.order_line_id, 0) + line.quantity
        missing = [
            {"orderLineId": line.id, "quantity": line.quantity - fulfilled.get(line.id, 0)}
            for line in order.lines
            if line.quantity > fulfilled.get(line.id, 0)
        ]
        wrote = False
        if missing:
            data = await self._mutate(
                what,
                "addFulfillmentToOrder",
                wire.ADD_FULFILLMENT,
                {
                    "input": {
                        "lines": missing,
                        "handler": {
                            "code": self.config.fulfillment_handler,
                            "arguments": [
                                {"name": "method", "value": carrier or "brygga"},
                                {"name": "trackingCode", "value": tracking_number},
                            ],
                        },
                    }
                },
                ok="Fulfillment",
            )
            live.append(wire.FulfillmentWire(id=data["id"], state=data.get("state", "Pending")))
            wrote = True
        steps = ("Shipped",) if target == "Shipped" else ("Shipped", "Delivered")
        for fulfilment in live:
            state = fulfilment.state
            for step in steps:
                if _fulfilment_rank(state) >= _fulfilment_rank(step):
                    continue
                await self._mutate(
                    what,
                    "transitionFulfillmentToState",
                    wire.TRANSITION_FULFILLMENT,
                    {"id": fulfilment.id, "state": step},
                    ok="Fulfillment",
                )
                state, wrote = step, True
        return wrote

    async def _mutate(
        self,
        what: str,
        field: str,
        query: str,
        variables: Mapping[str, Any],
        *,
        ok: str = "Order",
    ) -> dict[str, Any]:
        """A mutation answering a success type (``ok``) or an ErrorResult (PermanentError)."""
        data = await self._gql(f"{what}: {field}", query, variables, write=True)
        raw = data.get(field)
        answer: dict[str, Any] = msgspec.json.decode(raw) if raw is not None else {}
        if answer.get("__typename") != ok:
            detail = answer.get("transitionError") or answer.get("message") or "no answer"
            raise PermanentError(
                f"{what}: Vendure refused {field} "
                f"({answer.get('errorCode', 'error')}: {self._scrub(str(detail))[:300]})"
            )
        return answer

    # -- catalog: stock and prices --------------------------------------------------------------

    async def _variant(self, sku: str) -> wire.VariantWire:
        data = await self._gql(f"variant {sku}", wire.VARIANT_BY_SKU, {"sku": sku}, write=False)
        listed: wire.VariantListWire = self._field(data, "productVariants", wire.VariantListWire)
        matches = [v for v in (listed.items if listed else []) if v.sku == sku]
        if not matches:
            raise _NoSuchSku(
                f"Vendure shop {self.shop}: no product variant has SKU {sku!r}; create it in "
                "Vendure or correct the article number in the ERP"
            )
        if len(matches) > 1:
            raise PermanentError(
                f"Vendure shop {self.shop}: {len(matches)} product variants have SKU {sku!r}; "
                "make the SKU unique in Vendure"
            )
        return matches[0]

    async def _active_channel(self) -> wire.ChannelWire:
        if self._channel is None:
            data = await self._gql("channel", wire.CHANNEL, write=False)
            self._channel = self._field(data, "activeChannel", wire.ChannelWire)
            if self._channel is None:
                raise PermanentError(f"Vendure shop {self.shop}: no active channel")
        return self._channel

    async def sellable(self, sku: str) -> Decimal:
        """What the shop may sell of ``sku`` now (``stockOnHand - stockAllocated -
        threshold``)."""
        variant = await self._variant(sku)
        return Decimal(
            variant.stock_on_hand - variant.stock_allocated - await self._threshold(variant)
        )

    async def _threshold(self, variant: wire.VariantWire) -> int:
        if not variant.use_global_out_of_stock_threshold:
            return variant.out_of_stock_threshold
        data = await self._gql("global settings", wire.SETTINGS, write=False)
        settings: wire.SettingsWire = self._field(data, "globalSettings", wire.SettingsWire)
        return settings.out_of_stock_threshold if settings else 0

    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        """Make the shop sell ``quantity`` of ``sku`` (module notes: stockOnHand = quantity +
        allocated + threshold); ``unchanged`` when it already does."""
        variant = await self._variant(sku)
        sellable = max(int(quantity.to_integral_value(rounding=ROUND_FLOOR)), 0)
        target = sellable + variant.stock_allocated + await self._threshold(variant)
        if variant.stock_on_hand == target:
            return "unchanged"
        await self._gql(
            f"stock of {sku}",
            wire.UPDATE_VARIANT,
            {"input": {"id": variant.id, "stockOnHand": target}},
            write=True,
        )
        return "updated"

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """Set the variant's price in ``currency`` (excl. VAT; gross on a channel whose prices
        include tax); ``campaign_price`` is ignored (no such price in Vendure core)."""
        del campaign_price
        variant = await self._variant(sku)
        target = await self._price_target(variant, currency, price)
        if target is None:
            return "unchanged"
        await self._gql(
            f"price of {sku}",
            wire.UPDATE_VARIANT,
            {"input": {"id": variant.id, "prices": [target]}},
            write=True,
        )
        return "updated"

    async def _price_target(
        self, variant: wire.VariantWire, currency: str, price: Decimal
    ) -> dict[str, Any] | None:
        """The ``prices`` entry that gives ``variant`` the price ``price`` (excl. VAT) in
        ``currency``; None when it has it already."""
        channel = await self._active_channel()
        currencies = channel.available_currency_codes or [channel.default_currency_code]
        if currency not in currencies:
            raise PermanentError(
                f"Vendure shop {self.shop}: the channel {channel.code} has no currency "
                f"{currency} (it has {', '.join(currencies)}); add it to the channel or map "
                "the price to one of those"
            )
        if price < 0:
            raise PermanentError(
                f"Vendure shop {self.shop}: negative price {price} for {variant.sku}"
            )
        amount = price
        if channel.prices_include_tax:
            rate = Decimal(str(variant.tax_rate_applied.value)) if variant.tax_rate_applied else 0
            amount = price * (1 + Decimal(rate) / 100)
        target = to_minor(amount)
        current = {p.currency_code: p.price for p in variant.prices}
        if not current and variant.currency_code:
            current[variant.currency_code] = (
                variant.price_with_tax if channel.prices_include_tax else variant.price
            )
        if current.get(currency) == target:
            return None
        return {"currencyCode": currency, "price": target}

    # -- catalog: articles ----------------------------------------------------------------------

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        """Update the variant with the article's SKU (name, price, enabled) or create it as a
        new product with one variant (module notes: a further variant of an existing product
        needs product options Vendure cannot be given here). A product's own record (an ERP
        parent item, ``has_variants``) is no variant to sell here: NothingToDo says so."""
        result, write = await self._article_plan(article, create=create, update=update)
        if write is not None:
            await write()
        return result

    async def preview_article(self, article: Article, *, create: bool, update: bool) -> str:
        """What :meth:`put_article` would answer, with its reads only (the dry run's
        ``PreviewsArticles``): it raises what ``put_article`` raises before a write."""
        result, _ = await self._article_plan(article, create=create, update=update)
        return result

    async def _article_plan(
        self, article: Article, *, create: bool, update: bool
    ) -> tuple[Written, _Write | None]:
        """What writing ``article`` answers, and the write that does it (None: nothing to
        write); everything before the write is read and checked here."""
        if article.has_variants:
            raise NothingToDo(
                f"Vendure shop {self.shop}: {article.sku} is a product with variants in the "
                "source (a parent item), not a variant to sell; Vendure sells its variants, "
                "each by its own SKU, so it is not written"
            )
        try:
            variant: wire.VariantWire | None = await self._variant(article.sku)
        except _NoSuchSku:
            variant = None
        if variant is None:
            if not create:
                return "skipped", None
            return "created", await self._creation(article)
        if not update:
            return "skipped", None
        channel = await self._active_channel()
        change: dict[str, Any] = {}
        name = _variant_title(article)
        if name and variant.name != name:
            change["translations"] = [{"languageCode": channel.default_language_code, "name": name}]
        if variant.enabled != article.active:
            change["enabled"] = article.active
        if article.price is not None:
            target = await self._price_target(variant, article.currency, article.price)
            if target is not None:
                change["prices"] = [target]
        if not change:
            return "unchanged", None
        variant_id = variant.id

        async def write() -> None:
            await self._gql(
                f"article {article.sku}",
                wire.UPDATE_VARIANT,
                {"input": {"id": variant_id, **change}},
                write=True,
            )

        return "updated", write

    async def _creation(self, article: Article) -> _Write:
        """Read and check what creating ``article`` needs (its product by slug, its tax
        category); return the writes that create it."""
        channel = await self._active_channel()
        what = f"Vendure shop {self.shop}: article {article.sku}"
        slug = _slug(article.product_sku or article.sku)
        data = await self._gql(f"product {slug}", wire.PRODUCT_BY_SLUG, {"slug": slug}, write=False)
        product = self._field(data, "product", wire.ProductWire)
        if product is not None and product.variants:
            raise PermanentError(
                f"{what}: the product {slug!r} already has variants "
                f"({', '.join(v.sku for v in product.variants)}); Vendure tells variants apart "
                "by product options, which brygga does not create: add the variant (with its "
                "option) in Vendure, then brygga keeps it up to date"
            )
        tax_category = await self._tax_category(article, what)
        found = product

        async def write() -> None:
            await self._create_article(article, channel, slug, found, tax_category)

        return write

    async def _create_article(
        self,
        article: Article,
        channel: wire.ChannelWire,
        slug: str,
        product: wire.ProductWire | None,
        tax_category: str,
    ) -> None:
        what = f"Vendure shop {self.shop}: article {article.sku}"
        language = channel.default_language_code
        if product is None:
            created = await self._gql(
                f"create product {slug}",
                wire.CREATE_PRODUCT,
                {
                    "input": {
                        "enabled": article.active,
                        "translations": [
                            {
                                "languageCode": language,
                                "name": article.name,
                                "slug": slug,
                                "description": "",
                            }
                        ],
                    }
                },
                write=True,
            )
            product = self._field(created, "createProduct", wire.ProductWire)
            if product is None:
                raise PermanentError(f"{what}: Vendure created no product")
        variant_input: dict[str, Any] = {
            "productId": product.id,
            "sku": article.sku,
            "enabled": article.active,
            "translations": [{"languageCode": language, "name": _variant_title(article)}],
            "stockOnHand": 0,
        }
        if tax_category:
            variant_input["taxCategoryId"] = tax_category
        if article.price is not None:
            amount = article.price
            if channel.prices_include_tax and article.vat_rate is not None:
                amount = article.price * (1 + article.vat_rate / 100)
            variant_input["price"] = to_minor(amount)
            if article.currency != channel.default_currency_code:
                variant_input["prices"] = [
                    {"currencyCode": article.currency, "price": to_minor(amount)}
                ]
        await self._gql(
            f"create variant {article.sku}",
            wire.CREATE_VARIANTS,
            {"input": [variant_input]},
            write=True,
        )

    async def _tax_category(self, article: Article, what: str) -> str:
        """The tax category whose rate in the channel's tax zone is the article's VAT rate
        ("" when the article names none: Vendure's default category)."""
        if article.vat_rate is None:
            return ""
        data = await self._gql("tax rates", wire.TAX_RATES, write=False)
        rates: wire.TaxRateListWire = self._field(data, "taxRates", wire.TaxRateListWire)
        channel_zone = await self._tax_zone()
        for rate in rates.items if rates else []:
            zone_ok = rate.zone is None or not channel_zone or rate.zone.id == channel_zone
            if rate.enabled and zone_ok and Decimal(str(rate.value)) == article.vat_rate:
                return rate.category.id
        raise PermanentError(
            f"{what}: Vendure has no tax rate of {article.vat_rate} % in the channel's tax "
            "zone; add one (Settings > Tax rates) or correct the article's VAT rate"
        )

    async def _tax_zone(self) -> str:
        data = await self._gql("tax zone", wire.CHANNEL_ZONE, write=False)
        raw = data.get("activeChannel")
        if raw is None:
            return ""
        decoded = msgspec.json.decode(raw)
        zone = decoded.get("defaultTaxZone") if isinstance(decoded, dict) else None
        return str(zone.get("id", "")) if isinstance(zone, dict) else ""


#: a write :meth:`VendureAdapter._article_plan` found to be needed
_Write = Callable[[], Awaitable[None]]


class _NoSuchSku(PermanentError):
    """No variant has the SKU asked for."""


def _variant_title(article: Article) -> str:
    return variant_title(article.name, article.variant_name or "")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "article"


def _decode(body: bytes, what: str) -> wire.Envelope:
    try:
        return wire.decode_envelope(body)
    except msgspec.DecodeError:
        raise PermanentError(f"{what}: the answer was not a GraphQL response") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _id_key(change: OrderChange) -> tuple[int, str]:
    value = change.shop_order_id
    return (int(value), "") if value.isdigit() else (0, value)


def _mark(order: wire.OrderWire) -> str:
    """The ERP document number of the newest export note (history is newest first)."""
    for entry in order.history.items if order.history else ():
        number = exported_number(str(entry.data.get("note", "")))
        if number:
            return number
    return ""


def _fulfilment_rank(state: str) -> int:
    return {"Shipped": 1, "Delivered": 2}.get(state, 0)
