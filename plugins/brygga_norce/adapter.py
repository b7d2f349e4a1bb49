"""The Norce Commerce shop adapter: pushed orders, a Query read path, statuses, stock, prices.

Documented (reference/shop-apis.md §4) and relied on: OAuth2 client credentials at
``/identity/1.0/connect/token`` with ``scope`` = the environment and 3600 s tokens, the token
endpoint's 3 a minute + burst 20 ([NO1]); orders pushed as an ``OrderRequest`` to the order
receiver and retried by Norce until answered ([NO3]); ``Order/SendOrderStatus`` with
``ClientOrderRef``, ``ErpOrderNo`` (required), ``OrderStatus`` ([NO6]); the Query API as OData
v4 with ``@odata.nextLink`` ([NO10]) and the required ``ApplicationId`` header
(docs.norce.io/api-reference/query/openapi/order); ``Product/ImportOnhands`` and
``Product/ImportSkuPriceLists`` with the ``X-StormConnect-Header``, answered by a JobResponse
and followed with ``Job/Get`` / ``Job/GetLog`` ([NO7], [NO8], [NO9]).

Chosen where the reference says [unknown] or [inferred] (modelled, not documented):

- **Orders.** The shop order id is the ``ClientOrderRef`` (basket id, §7.1). Pushes are kept
  by :mod:`brygga_norce.push`; the change feed yields the kept pushes received in the window
  plus the Query API's orders created or updated in it (``$filter`` on ``Created`` and the
  nullable ``Updated``), each order once, so orders pushed while brygga was down (Norce gave
  up retrying) are found by the read path. A Query order is matched by its documented
  ``QuotationId`` ("The quotation identifier", the basket id; docs.norce.io/api-reference/
  query/queryorders/openapi/orders/orders.md), read in PascalCase (Query 2.0) or camelCase
  (3.0). Each row's ``ApplicationId`` and time are checked again on brygga's side. When the
  Query API cannot be read, the kept pushes are still reported (at the window's start, so
  the cursor stays) and ``fetch_order`` of a pushed order uses the push alone.
- **Channels** are Norce applications (``ApplicationId``): ``channels`` lists the ones this
  shop imports (empty: all); every Query request, nextLink pages included, carries
  ``application_id`` as its required ``ApplicationId`` header (decided on the Query base
  path, whatever its case: the documented nextLink spells it ``/commerce/Query/2.0/``).
- **Statuses** are the Query ``statusId`` names (Created 0, Allocation 1, Confirmed 2,
  Delivered 4, Invoiced 5, Cancelled 6, PartlyDelivered 8, §4.3); Norce has no endpoint
  listing them, so :meth:`NorceAdapter.order_statuses` returns this documented list. Every
  one but Created can be set with SendOrderStatus; the write reads the order first and writes
  nothing when it has the status already. SendOrderStatus has no e-mail or capture flag:
  Norce's own settings decide e-mails, and a capture (an invoice import) is refused.
  Tracking numbers are not sent (they belong in a delivery note). So the adapter declares no
  ``StatusOption``: a status rule with ``email``, ``capture`` or ``tracking`` on for a Norce
  shop is refused by `brygga check` and the daemon's start.
- **Export mark.** The ERP number is stored with SendOrderStatus ``ErpOrderNo`` (required by
  the operation, never sent null): an order still Created is acknowledged (→ Confirmed,
  §4.3 [NO4]); one further along keeps its status. The number is kept in the account state
  (:mod:`brygga_norce.push`) for the status writes that follow; a status write for an order
  brygga never marked sends the Query ``OrderNo`` (Norce's order number). The mark read back
  is the kept number, else ``OrderNo`` when it differs from ``QuotationId`` ("commonly same
  as quotation id unless overriden from the ERP confirmation response"); a repeat that finds
  it writes nothing.
- **Stock and prices** read the SKU from the Query API first (``ProductSkus('…')`` with
  ``$expand=OnHands`` / ``PriceLists``, [NO10]): an unknown SKU is a PermanentError (Norce
  would silently ignore it), the same value is ``unchanged`` (compared by the ids the rows
  carry, the configured codes resolved once; see :mod:`brygga_norce.catalog`). Otherwise one
  import job per SKU
  (see :mod:`brygga_norce.jobs`), never a full file. A price of 0 or less is refused before
  sending: Norce ignores 0 ([NO8]), so it could never take effect.
- **Rate limit.** Norce publishes none for Connect/Query (429 beyond it); brygga keeps under
  10 requests/s per integration user unless ``rate_limit`` says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    Capabilities,
    PushAnswer,
    PushReceiver,
    RemoteFinding,
    RemoteNeeds,
    ShopAdapter,
    StatusSink,
)
from brygga.errors import BryggaError, CredentialsRejected, PermanentError, TransientError
from brygga.http.client import RemoteClient, account_key
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from brygga.models import DocumentRef, Order, OrderChange, Register
from brygga.secrets import Secret
from brygga_norce.auth import TokenSource
from brygga_norce.calls import CONNECT, QUERY
from brygga_norce.catalog import NorceCatalog
from brygga_norce.jobs import ImportJobs
from brygga_norce.mapping import map_push, map_query, norce_time
from brygga_norce.push import PushInbox
from brygga_norce.wire import (
    OrderRequestWire,
    OrderResponseWire,
    QueryOrderHead,
    QueryOrderWire,
    QueryPageWire,
    decode,
    decode_query,
)

__all__ = ["CAPABILITIES", "STATUS_NAMES", "NorceAdapter", "NorceConfig"]

log = logging.getLogger(__name__)

#: Query ``statusId`` → name (shop-apis.md §4.3, [NO11])
STATUS_NAMES = {
    0: "Created",
    1: "Allocation",
    2: "Confirmed",
    4: "Delivered",
    5: "Invoiced",
    6: "Cancelled",
    8: "PartlyDelivered",
}
#: the statuses SendOrderStatus can set that the Query API shows back
WRITABLE = tuple(name for name in STATUS_NAMES.values() if name != "Created")

CAPABILITIES = Capabilities(
    webhooks=True,
    rate_limit=None,
    # SendOrderStatus carries the status and the ERP number only: no e-mail switch, no
    # capture (an invoice import), no tracking number
    status_options=frozenset(),
    notes=(
        "Norce pushes each new order to brygga's receiver (/webhooks/<connection>/<token>, "
        "set as the REST ERP endpoint in Norce Admin, with Basic auth in production); "
        "brygga keeps it durably before answering, and reads the Query API to catch up "
        "after downtime.",
        "Stock and prices are Connect import jobs: brygga polls each job to its end and "
        "never sends a full file (a full file deactivates what it omits).",
        "Norce ignores a price of 0; brygga refuses it with an error instead.",
        "Statuses go back with SendOrderStatus, which has no e-mail or capture flags; the "
        "legacy Jetshop webservice (SOAP) is not supported.",
    ),
)


class NorceConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    """A Norce Commerce client: ``base_url`` (the API host, e.g.
    ``https://SLUG.api-se.playground.norce.tech``) or ``slug`` + ``region`` + ``environment``."""

    kind: str = "norce"
    base_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://[^/\s]+.*)?$")] = ""
    slug: Annotated[str, msgspec.Meta(pattern=r"^([a-z0-9-]+)?$")] = ""
    region: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")] = "se"
    #: the token ``scope`` and, off production, part of the host name
    environment: Literal["playground", "stage", "prod"] = "prod"
    #: the token endpoint when it is not ``{base_url}/identity/1.0/connect/token``
    token_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://[^/\s]+.*)?$")] = ""
    client_id: Secret
    client_secret: Secret
    #: sent as the ``ApplicationId`` header on every Query call (required: the Query
    #: operations document the header as required, docs.norce.io/api-reference/query/
    #: openapi/order)
    application_id: Annotated[int, msgspec.Meta(ge=0)] | None = None
    #: the applications (channels) whose orders this shop imports; empty: all
    channels: list[Annotated[int, msgspec.Meta(ge=0)]] = msgspec.field(default_factory=list)
    #: the integration account's id, sent as ``AccountId`` with imports and statuses
    account_id: int | None = None
    #: the Basic credentials Norce sends with each push (ERP endpoint username/password)
    receiver_username: str = ""
    receiver_password: Secret | None = None
    #: ``PriceListCode`` prices go to, and the one campaign prices go to ("" : none sent)
    price_list: str = ""
    campaign_price_list: str = ""
    #: ``WarehouseCode`` / ``LocationCode`` stock goes to
    warehouse: str = ""
    location: str = ""
    #: seconds between two reads of an import job, and how many reads per call at most
    job_poll_interval: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    job_polls: Annotated[int, msgspec.Meta(ge=1)] = 30
    #: safety cap on Query pages read by one change-feed call
    page_limit: Annotated[int, msgspec.Meta(ge=1)] = 200
    #: Norce publishes no Connect/Query limit: overrides our default 10 requests/s
    rate_limit: RateLimit | None = None

    def __post_init__(self) -> None:
        if not (self.base_url or self.slug):
            raise ValueError(
                "set base_url (e.g. https://SLUG.api-se.playground.norce.tech) or slug, with "
                "region and environment, to build it"
            )
        if self.application_id is None:
            raise ValueError(
                "set application_id: the Norce application id brygga sends as the "
                "ApplicationId header, which every Query API call requires (Norce Admin → "
                "Settings → Applications)"
            )

    def write_problems(self, registers: frozenset[Register]) -> list[str]:
        """What this config lacks when this Norce shop receives ``registers``
        (``brygga.adapters.ConfigNeeds``): stock is imported to a warehouse and location,
        prices to a price list, all named by code; without them every SKU would fail."""
        shop = self.name or self.kind
        table = f'[[connection.shops]] name = "{shop}"'
        problems = []
        if Register.STOCK in registers:
            missing = [key for key in ("warehouse", "location") if not getattr(self, key)]
            if missing:
                problems.append(
                    f"{table} (norce): {' and '.join(missing)}: missing: stock flows into "
                    "this Norce shop here and Norce imports on-hand values to a warehouse and "
                    'location by code; set warehouse = "<WarehouseCode>" and location = '
                    '"<LocationCode>" in that table (the codes of the warehouse and its '
                    'location in Norce), or set stock = "off" in [connection.registers]'
                )
        if Register.PRICES in registers and not self.price_list:
            problems.append(
                f"{table} (norce): price_list: missing: prices flow into this Norce shop here "
                "and Norce imports prices to a price list by code; set price_list = "
                '"<PriceListCode>" in that table (the price list\'s code, its Agreement in '
                'the Query API), or set prices = "off" in [connection.registers]'
            )
        return problems


def api_root(config: NorceConfig) -> str:
    """The API host from ``base_url``, else built from slug, region and environment ([NO14])."""
    if config.base_url:
        return config.base_url.rstrip("/")
    if not config.slug:
        raise PermanentError(
            f"Norce shop {config.name or 'norce'}: set base_url, or slug (and region and "
            "environment) to build it"
        )
    env = "" if config.environment == "prod" else f".{config.environment}"
    return f"https://{config.slug}.api-{config.region}{env}.norce.tech"


class NorceAdapter(NorceCatalog, ShopAdapter, StatusSink, PushReceiver):
    """A Norce Commerce shop (one or more channels) seen through canonical models."""

    capabilities = CAPABILITIES

    def __init__(self, config: NorceConfig, context: AdapterContext) -> None:
        self.config = config
        self.shop = config.name or context.instance or "norce"
        root = api_root(config)
        host = urlsplit(root).netloc
        self.application_id = config.application_id
        self._clock = context.http.clock
        self._client = RemoteClient(
            system="norce",
            base_url=root,
            context=context.http,
            account=account_key(host, config.client_id.reveal()),
            rate_limit=config.rate_limit or DEFAULT_RATE_LIMIT,
            headers={"Accept": "application/json"},
        )
        self._root = root
        self.tokens = TokenSource(
            self._client,
            token_url=config.token_url or f"{root}/identity/1.0/connect/token",
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=config.environment,
            clock=self._clock,
            shop=self.shop,
            cache=context.http.tokens,
            account=account_key(
                host, "client_credentials", config.client_id.reveal(), config.client_secret.reveal()
            ),
        )
        #: the account the per-account state is kept under (pushes, import jobs)
        self.state_account = "norce:" + account_key(host, config.client_id.reveal())
        self.inbox = PushInbox(
            context.state,
            self.state_account,
            self._clock,
            shop=self.shop,
            username=config.receiver_username,
            password=config.receiver_password,
            channels=tuple(config.channels),
        )
        self._resolved = {}
        self.jobs = ImportJobs(
            self,
            context.state,
            self.state_account,
            self._clock,
            account_id=config.account_id,
            poll_every=config.job_poll_interval,
            polls=config.job_polls,
        )

    def __repr__(self) -> str:
        return f"NorceAdapter(shop={self.shop!r}, base_url={self._root!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def state_keys(self, prefix: str = "job/") -> list[str]:
        """The keys this adapter keeps in the account state under ``prefix`` (pending jobs)."""
        return await self.jobs.keys(prefix)

    # -- brygga check --remote -----------------------------------------------------------

    async def verify_remote(self, needs: RemoteNeeds) -> list[RemoteFinding]:
        """Read-only: one token request and the first Query order row."""
        try:
            await self.tokens.get()
        except BryggaError as exc:
            return [RemoteFinding("credentials", False, str(exc))]
        findings = [RemoteFinding("credentials", True, "Norce issued an access token")]
        try:
            await self._call(
                "GET", f"{QUERY}/Orders/Orders", "Norce Query orders", params={"$top": 1}
            )
        except BryggaError as exc:
            findings.append(RemoteFinding("Query API", False, str(exc)))
        else:
            findings.append(RemoteFinding("Query API", True, "orders can be read"))
        unknown = [s for s in needs.shop_statuses if s not in WRITABLE]
        if unknown:
            findings.append(
                RemoteFinding(
                    "order statuses",
                    False,
                    f"brygga cannot set {', '.join(map(repr, unknown))} in Norce; name one of "
                    f"{', '.join(WRITABLE)} as shop_status in [connection.status]",
                )
            )
        return findings

    # -- PushReceiver ----------------------------------------------------------------------

    async def accept_push(self, body: bytes, headers: Mapping[str, str]) -> PushAnswer:
        """Verify and keep a pushed OrderRequest (idempotent; see :mod:`brygga_norce.push`)
        and answer it with the OrderResponse Norce expects: OK, no ERP number yet (the order
        is queued, as the reference's best practice says; the number follows with
        SendOrderStatus once the document exists)."""
        push = await self.inbox.accept(body, headers)
        log.info("norce shop %s: kept pushed order %s", self.shop, push.ref)
        answer = OrderResponseWire(status_code="OK", description="received; queued for the ERP")
        return PushAnswer(msgspec.json.encode(answer))

    # -- OrderSource -----------------------------------------------------------------------

    def _order_filter(self, since: datetime, until: datetime) -> str:
        # whole seconds, widened outwards: the rows are checked against the window again
        lo, hi = _odata_time(since), _odata_time(until, ceil=True)
        window = (
            f"((Updated ge {lo} and Updated lt {hi}) or "
            f"(Updated eq null and Created ge {lo} and Created lt {hi}))"
        )
        if self.config.channels:
            either = " or ".join(f"ApplicationId eq {c}" for c in self.config.channels)
            window += f" and ({either})"
        return window

    async def _query_heads(self, since: datetime, until: datetime) -> list[QueryOrderHead]:
        heads: list[QueryOrderHead] = []
        path: str = f"{QUERY}/Orders/Orders"
        params: dict[str, Any] | None = {
            "$filter": self._order_filter(since, until),
            "$orderby": "Id",
        }
        for page in range(1, self.config.page_limit + 1):
            what = f"Norce shop {self.shop}: Query orders page {page}"
            response = await self._call("GET", path, what, params=params)
            answer = decode(response.content, QueryPageWire, what)
            for row in answer.value:
                try:
                    heads.append(decode_query(row, QueryOrderHead))
                except (msgspec.DecodeError, RecursionError) as exc:
                    log.warning("%s: an order row brygga cannot read was skipped: %s", what, exc)
            if not answer.next_link:
                return heads
            path, params = self._next(answer.next_link, what), None
        log.warning(
            "norce shop %s: stopped after %s Query pages", self.shop, self.config.page_limit
        )
        return heads

    def _next(self, link: str, what: str) -> str:
        """A nextLink, only on the API's own host (never follow a link elsewhere)."""
        mine, theirs = urlsplit(self._root), urlsplit(link)
        if (theirs.scheme, theirs.netloc) != (mine.scheme, mine.netloc):
            raise PermanentError(
                f"{what}: the @odata.nextLink points at another host ({theirs.netloc[:60]!r}); "
                "brygga only follows links on base_url's host"
            )
        return link

    def _my_channel(self, application_id: int | None) -> bool:
        return not self.config.channels or application_id in self.config.channels

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Kept pushes received in ``[since, until)`` and Query orders changed in it, once each.

        A Query order is keyed by its ``QuotationId`` (the basket id pushes carry as
        ``ClientOrderRef``); each row's ``ApplicationId`` and time are checked here again,
        whatever the server's ``$filter`` (or a nextLink that lost it) let through. When the
        Query API cannot be read, the kept pushes are still yielded, at the window's start, so
        the feed's cursor stays where it was and the next poll reads the Query API again."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        changes: dict[str, OrderChange] = {}
        pushed = await self.inbox.received(since, until)
        try:
            heads = await self._query_heads(since, until)
        except CredentialsRejected:
            raise
        except BryggaError as exc:
            log.log(
                logging.WARNING if isinstance(exc, TransientError) else logging.ERROR,
                "norce shop %s: the Query API could not be read (%s); only the %s kept "
                "push(es) are reported, and the window is read again on the next poll",
                self.shop,
                exc,
                len(pushed),
            )
            for ref, _ in pushed:
                yield OrderChange(shop_order_id=ref, modified_at=since, status="Created")
            # the feed records what was yielded and keeps its cursor; the poller shows the
            # failure (brygga status, the poller's health), not only this log line
            raise
        for ref, when in pushed:
            changes[ref] = OrderChange(shop_order_id=ref, modified_at=when, status="Created")
        for head in heads:
            if head.quotation_id is None or not 0 < head.quotation_id < 2**31:
                log.warning(
                    "norce shop %s: Query order %s has no QuotationId (basket id) brygga can "
                    "key it by; it was skipped",
                    self.shop,
                    str(head.id)[:40],
                )
                continue
            ref = str(head.quotation_id)
            if not self._my_channel(head.application_id):
                continue
            try:
                when = norce_time(f"Norce order {ref}", "Updated", head.updated or head.created)
            except PermanentError as exc:
                log.warning("norce shop %s: %s (the row was skipped)", self.shop, exc)
                continue
            if not since <= when < until:
                continue
            status = _status_name(head.status_id)
            changes[ref] = OrderChange(shop_order_id=ref, modified_at=when, status=status)
        for change in sorted(changes.values(), key=lambda c: (c.modified_at, int(c.shop_order_id))):
            yield change

    async def _query_order(self, ref: str, *, full: bool) -> msgspec.Raw | None:
        """The Query order whose ``QuotationId`` is ``ref`` (the basket id), or None."""
        what = f"Norce order {ref}"
        params: dict[str, Any] = {"$filter": f"QuotationId eq {ref}"}
        if full:
            params["$expand"] = "Items,Buyer"
        response = await self._call("GET", f"{QUERY}/Orders/Orders", what, params=params)
        rows = decode(response.content, QueryPageWire, what).value
        return rows[0] if rows else None

    async def _mark(self, ref: str, head: QueryOrderHead | None) -> str:
        """The ERP number Norce holds for the order: the one brygga sent, else the Query
        ``OrderNo`` when the ERP overrode it (it is "commonly same as quotation id unless
        overriden from the ERP confirmation response"); "" for none."""
        kept = await self.inbox.erp_number(ref)
        if kept:
            return kept
        if head is not None and head.order_no and head.order_no != str(head.quotation_id):
            return head.order_no
        return ""

    async def fetch_order(self, shop_order_id: str) -> Order:
        """A kept push when there is one (its status and ERP number from the Query API when it
        can be read, never required), else the Query API's order."""
        ref = _ref(shop_order_id)
        what = f"Norce order {ref}"
        push = await self.inbox.get(ref)
        if push is not None:
            head: QueryOrderHead | None = None
            try:
                raw = await self._query_order(ref, full=False)
                head = None if raw is None else _head(raw, what)
            except CredentialsRejected:
                raise
            except BryggaError as exc:
                log.warning(
                    "%s: the Query API could not be read (%s); the kept push is used as it "
                    "came (status Created)",
                    what,
                    exc,
                )
            try:
                wire = msgspec.json.decode(push.body, type=OrderRequestWire)
            except (msgspec.DecodeError, RecursionError) as exc:
                raise PermanentError(
                    f"{what}: the pushed OrderRequest cannot be read ({str(exc)[:200]}); fix "
                    "the order in Norce Admin and transfer it by hand, or resolve this record"
                ) from None
            return map_push(
                wire,
                status=_status_name(head.status_id) if head else "Created",
                received_at=push.received_at,
                mark=await self._mark(ref, head),
            )
        raw = await self._query_order(ref, full=True)
        if raw is None:
            raise PermanentError(
                f"{what} does not exist in Norce (the Query API has no order with QuotationId "
                f"{ref}); it was probably removed there, so resolve this record"
            )
        try:
            order = decode_query(raw, QueryOrderWire)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise PermanentError(
                f"{what}: the Query API's order cannot be read ({str(exc)[:200]}); report it "
                "to Norce, then retry"
            ) from None
        if str(order.quotation_id) != ref:
            raise PermanentError(
                f"{what}: the Query API answered with order {str(order.quotation_id)[:20]}"
            )
        head = QueryOrderHead(quotation_id=order.quotation_id, order_no=order.order_no)
        return map_query(
            order, status=_status_name(order.status_id), mark=await self._mark(ref, head)
        )

    async def _head(self, ref: str) -> QueryOrderHead:
        raw = await self._query_order(ref, full=False)
        what = f"Norce order {ref}"
        if raw is None:
            raise PermanentError(f"{what} does not exist in Norce (Query API); resolve this record")
        return _head(raw, what)

    async def _send_status(self, ref: str, status: str, erp_order_no: str, what: str) -> None:
        """SendOrderStatus; ``ErpOrderNo`` is required by the operation (docs.norce.io/
        api-reference/connect/orderservice/nc-latest/operation/SendOrderStatus: "ErpOrderNo
        required string, ERP order number. Used for order matching."), so never null."""
        if not erp_order_no:
            raise PermanentError(
                f"{what}: brygga knows no ERP order number for this order, and Norce's "
                "SendOrderStatus requires one (ErpOrderNo); transfer the order first"
            )
        body: dict[str, Any] = {
            "ClientOrderRef": int(ref),
            "OrderStatus": status,
            "ErpOrderNo": erp_order_no,
        }
        if self.config.account_id is not None:
            body["AccountId"] = self.config.account_id
        await self._call("POST", f"{CONNECT}/Order/SendOrderStatus", what, json=body)

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """Store the ERP number as ``ErpOrderNo`` (idempotent; see module notes) and keep it
        in the account state for the status writes that follow."""
        ref = _ref(shop_order_id)
        what = f"Norce order {ref}: ErpOrderNo {document.number!r}"
        if not 0 < len(document.number) <= 50:
            raise PermanentError(f"{what} does not fit Norce's ErpOrderNo (1 to 50 characters)")
        head = await self._head(ref)
        if await self._mark(ref, head) != document.number:
            status = "Confirmed" if head.status_id in (None, 0) else _status_name(head.status_id)
            if status not in WRITABLE:
                raise PermanentError(
                    f"{what}: the order has status {status}, which SendOrderStatus cannot "
                    "repeat; record the ERP number in Norce Admin"
                )
            await self._send_status(ref, status, document.number, what)
        await self.inbox.keep_erp_number(ref, document.number)

    # -- StatusSink --------------------------------------------------------------------------

    async def order_statuses(self) -> list[str]:
        """The documented Query statuses (Norce has no endpoint that lists them)."""
        return list(STATUS_NAMES.values())

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
        """SendOrderStatus after a read; False when the order has the status already. The
        ``ErpOrderNo`` it requires is the ERP number brygga wrote back with
        :meth:`mark_exported` (kept in the account state), else the order's Query ``OrderNo``
        (Norce's order number, which the ERP confirmation overrides)."""
        ref = _ref(shop_order_id)
        what = f"Norce order {ref}: status {status_id_code!r}"
        if status_id_code not in WRITABLE:
            raise PermanentError(
                f"{what}: brygga cannot set this status in Norce (it can set "
                f"{', '.join(WRITABLE)}); fix the status rule in the connection's [status] table"
            )
        if capture:
            raise PermanentError(
                f"{what}: Norce captures payments with an invoice import, which brygga does not "
                "send; set capture = false in the status rule"
            )
        head = await self._head(ref)
        if _status_name(head.status_id) == status_id_code:
            return False
        number = await self._mark(ref, head) or (head.order_no or "")
        await self._send_status(ref, status_id_code, number, what)
        return True


def _odata_time(when: datetime, *, ceil: bool = False) -> str:
    """An OData v4 DateTimeOffset literal in UTC (unquoted), e.g. ``2026-03-02T08:00:00Z``;
    a fraction of a second is dropped, or (``ceil``) rounded up to the next second."""
    utc = when.astimezone(UTC)
    if ceil and utc.microsecond:
        utc += timedelta(seconds=1)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_name(status_id: int | None) -> str:
    if status_id is None:
        return "Created"
    return STATUS_NAMES.get(status_id, str(status_id))


def _ref(shop_order_id: str) -> str:
    if not shop_order_id.isdigit() or not 0 < int(shop_order_id) < 2**31:
        raise PermanentError(
            f"Norce order id {shop_order_id[:40]!r} is not a basket id (ClientOrderRef is an int32)"
        )
    return shop_order_id


def _head(raw: msgspec.Raw, what: str) -> QueryOrderHead:
    try:
        return decode_query(raw, QueryOrderHead)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise PermanentError(
            f"{what}: the Query API's order cannot be read ({str(exc)[:200]}); report it to "
            "Norce, then retry"
        ) from None
