"""What every vendor simulator shares: fault injection and the control surface tests drive."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

import anyio
import httpx

from brygga.models import OrderEvent

__all__ = [
    "CatalogShopSimulator",
    "ErpSimulator",
    "Fault",
    "FaultInjector",
    "FaultWrapped",
    "PushingShopSimulator",
    "ShopSimulator",
    "SimulatedDocument",
    "StatusErpSimulator",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

FaultKind = Literal[
    "status", "rate_limit", "delay", "timeout", "drop", "commit_then_fail", "late_commit"
]


@dataclass
class Fault:
    """One fault rule. It applies to requests whose method and path match, either the next
    ``times`` of them (when set) or each with ``probability``.

    - ``status``: answer ``status`` (default 500) without running the handler
    - ``rate_limit``: answer 429 with ``Retry-After: retry_after``
    - ``delay``: sleep ``seconds`` then run the handler
    - ``timeout``: the client sees a read timeout (in-process) / a long stall (loopback)
    - ``drop``: the connection drops before an answer
    - ``commit_then_fail``: run the handler (the write is stored), then answer 500 (or
      time out when ``then_timeout``) so the client believes it failed
    - ``late_commit``: a write slower than the client's patience: the client times out first
      and the write lands afterwards. In-process the request is held until the test calls
      :meth:`FaultInjector.land_held`; over loopback it runs after ``seconds`` even if the
      client has been killed meanwhile (a slow ERP that keeps working)
    """

    kind: FaultKind
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
    path: str = ".*"
    times: int | None = None
    probability: float = 1.0
    status: int = 500
    retry_after: float = 1.0
    seconds: float = 0.0
    then_timeout: bool = False

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and re.search(self.path, path) is not None


@dataclass
class FaultInjector:
    """ASGI middleware state: a list of fault rules, switchable per test, seeded for replay."""

    rules: list[Fault] = field(default_factory=list)
    seed: int = 0
    #: how faults that fired are counted, by kind (tests assert they really happened)
    fired: dict[str, int] = field(default_factory=dict)
    #: True when the app is called in-process (httpx.ASGITransport): a timeout or a drop is
    #: then raised as the httpx error the client would see; over loopback it really stalls
    in_process: bool = True
    loopback_stall: float = 60.0

    #: ``late_commit`` writes over loopback that have not landed yet (a chaos run aims a kill)
    landing: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._held: list[Callable[..., Awaitable[None]]] = []

    @property
    def held(self) -> int:
        """How many ``late_commit`` writes have not landed yet."""
        return len(self._held)

    async def land_held(self) -> int:
        """Let every held ``late_commit`` write land now (in order); return how many."""
        landing, self._held = self._held, []
        for land in landing:
            await land()
        return len(landing)

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.times is not None:
                if rule.times <= 0:
                    continue
                rule.times -= 1
            elif self._random.random() >= rule.probability:
                continue
            self.fired[rule.kind] = self.fired.get(rule.kind, 0) + 1
            return rule
        return None

    def wrap(self, app: Asgi) -> Asgi:
        """An ASGI app that applies these faults in front of ``app``."""

        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            fault = self.pick(scope["method"], scope["path"])
            if fault is None:
                await app(scope, receive, send)
                return
            in_process = self.in_process
            if fault.kind == "delay":
                await anyio.sleep(fault.seconds)
                await app(scope, receive, send)
            elif fault.kind == "status":
                await _answer(send, fault.status, b'{"error":"injected"}')
            elif fault.kind == "rate_limit":
                headers = [(b"retry-after", str(fault.retry_after).encode())]
                await _answer(send, 429, b'{"error":"rate_limited"}', headers)
            elif fault.kind in ("timeout", "drop"):
                await self._break(fault.kind, in_process)
            elif fault.kind == "late_commit":
                land = _later(app, scope, await _body(receive))
                if in_process:
                    self._held.append(land)
                    await self._break("timeout", in_process)
                    return
                # over loopback the ERP keeps working on it even if the client gives up or is
                # killed meanwhile: the write lands after ``seconds`` whatever happens
                self.landing += 1
                try:
                    with anyio.CancelScope(shield=True):
                        await anyio.sleep(fault.seconds)
                        await land(send)
                finally:
                    self.landing -= 1
            else:  # commit_then_fail
                await app(scope, receive, _discard)
                if fault.then_timeout:
                    await self._break("timeout", in_process)
                else:
                    await _answer(send, 500, b'{"error":"injected after commit"}')

        return faulty

    async def _break(self, kind: str, in_process: bool) -> None:
        if kind == "timeout":
            if in_process:
                raise httpx.ReadTimeout("injected timeout")
            await anyio.sleep(self.loopback_stall)
        raise httpx.RemoteProtocolError("injected dropped connection")


async def _discard(message: Message) -> None:
    return None


async def _body(receive: Receive) -> bytes:
    """The whole request body, read now (the client is gone when the held write runs)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class FaultWrapped:
    """The ASGI face of a simulator: its app (the system's routes behind its gate) wrapped by
    its ``faults``, set with :meth:`serve`; the simulator itself is callable as that app."""

    faults: FaultInjector
    _app: Asgi

    def serve(self, gate: Asgi) -> None:
        """Serve ``gate`` behind the simulator's fault injector."""
        self._app = self.faults.wrap(gate)

    @property
    def app(self) -> Asgi:
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _later(app: Asgi, scope: Scope, body: bytes) -> Callable[..., Awaitable[None]]:
    """Run ``app`` on a request read earlier; its answer goes to ``send`` (default: nowhere,
    the client has given up)."""

    async def land(send: Send = _discard) -> None:
        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        await app(dict(scope), replay, send)

    return land


async def _answer(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class SimulatedDocument:
    """An ERP document as the ERP simulator holds it, for assertions."""

    number: str
    reference: str
    customer_number: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_by_rate: dict[Decimal, Decimal]
    booked: bool = False


class ShopSimulator(Protocol):
    """The control surface of a shop simulator (what tests, the demo and the kit drive)."""

    kind: str
    faults: FaultInjector

    @property
    def app(self) -> Asgi: ...

    def adapter_config(self, base_url: str, *, name: str = "") -> dict[str, Any]:
        """A raw config table for this simulator's adapter kind (inline test credentials)."""
        ...

    def catalog_skus(self) -> list[str]: ...

    def place_order(
        self,
        *,
        lines: Sequence[tuple[str, int]],
        email: str,
        status: str | None = None,
        freight: Decimal = Decimal(0),
        discount_percent: Decimal = Decimal(0),
    ) -> str:
        """Place an order for catalog SKUs; return the shop order id. ``status`` defaults to a
        status that the default config treats as ready."""
        ...

    def set_status(self, shop_order_id: str, status: str) -> None: ...

    def order_total(self, shop_order_id: str) -> tuple[Decimal, Decimal]:
        """(grand total incl. VAT, total VAT) as the shop computed them."""
        ...

    def exported_document(self, shop_order_id: str) -> str | None:
        """The ERP document number the adapter wrote back to the order, if any."""
        ...

    def order_ids(self) -> list[str]: ...


@runtime_checkable
class PushingShopSimulator(Protocol):
    """A shop simulator that sends its new orders to brygga's receiver (the shop adapter's
    webhook, ``/webhooks/<connection>/<webhook_token>``) as the system does, rather than only
    being polled for them (the Norce simulator). The demo drives it."""

    def configure_receiver(self, url: str, *, username: str = "", password: str = "") -> None:
        """Where the orders go (and the Basic credentials sent, if any)."""
        ...

    async def push_pending(self, client: httpx.AsyncClient) -> Sequence[Any]:
        """Send every order not yet accepted by the receiver once; one not accepted stays
        pending for the next call (the system's retry)."""
        ...


@runtime_checkable
class CatalogShopSimulator(Protocol):
    """A shop simulator that tells the articles its catalog sells, so a run can give an ERP
    simulator whose seed catalog lacks them those articles first (``add_article``), as the
    ERP of a real installation holds what its shop sells. The demo uses it."""

    def catalog_articles(self) -> Sequence[tuple[str, str, Decimal, Decimal]]:
        """(SKU, name, price excluding VAT, VAT rate in percent) of each SKU of
        :meth:`ShopSimulator.catalog_skus`."""
        ...


class ErpSimulator(Protocol):
    """The control surface of an ERP simulator."""

    kind: str
    faults: FaultInjector

    @property
    def app(self) -> Asgi: ...

    def adapter_config(self, base_url: str) -> dict[str, Any]: ...

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None: ...

    def documents(self) -> list[SimulatedDocument]: ...

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]: ...


@runtime_checkable
class StatusErpSimulator(ErpSimulator, Protocol):
    """An ERP simulator whose documents can be moved along as a person in the ERP would, for
    tests of the order-status flow (an adapter that implements ``StatusSource``)."""

    def order_event(self, reference: str, event: OrderEvent) -> None:
        """Make ``event`` happen to the ERP documents with ``reference`` the way a person
        does in that ERP (``invoiced``: book the draft; ``paid``: register full payment;
        ``cancelled``: delete the draft; ``delivered``: deliver it, …). ValueError for an
        event the ERP has no state for or cannot reach from the document's state."""
        ...
