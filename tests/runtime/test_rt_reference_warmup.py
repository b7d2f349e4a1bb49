"""A connection's start reads its ERP's reference data beside the first polls
(``brygga.adapters.ReferenceReader``): the daemon (brygga.runtime.app.serve) against the
Starweb and e-conomic simulators behind a RoutingTransport, every ERP request logged.

- after the start and before any order, e-conomic's product list and VAT chains were read
  once, and the first order's transfer then makes only its own requests;
- a warm-up that fails (a 5xx, a refused token) is logged without secrets, the connection
  runs on and the first order reads the data itself;
- a stop while the warm-up waits for an answer ends the daemon at once and cleanly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.sync.orders import document_reference
from brygga.testing import RoutingTransport, write_config
from brygga.testing.simulators import Fault

pytestmark = pytest.mark.anyio

CATALOG_OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}
TOKEN = "warm-0123456789abcdefghijklmnop"
#: the limits lifted (the warm-up's yielding to a full window has its own tests)
LIFTED = {"rate_limit": {"requests": 1_000_000, "per_seconds": 0.001}}
#: the requests that read e-conomic's reference data (products, the VAT chain's links)
REFERENCE = ("/products", "/product-groups", "/accounts", "/vat-accounts")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


class Log:
    """ASGI wrapper: (method, path) of every request that reached the simulator."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    def reference_reads(self, since: int = 0) -> list[tuple[str, str]]:
        return [r for r in self.requests[since:] if r[1].startswith(REFERENCE)]


class EchoTokenRefused:
    """In front of the e-conomic simulator: the first ``times`` GET /products are refused
    with 401 and a body that echoes the grant token (a hostile answer; the log must not show
    it)."""

    def __init__(self, app: Any, token: str, times: int = 1) -> None:
        self.app, self.token, self.times = app, token, times

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/products" and self.times > 0:
            self.times -= 1
            body = f'{{"message":"token {self.token} refused","httpStatusCode":401}}'.encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@dataclass
class Running:
    shop: Any
    erp: Any
    erp_log: Log
    control: DaemonControl[ResolvedConnection]
    http: HttpContext
    placed: list[str] = field(default_factory=list)
    stop_requested_at: float | None = None
    stopped_at: float | None = None
    #: cancels the task group the daemon runs in (a start cancelled from outside)
    cancel: Callable[[], None] = lambda: None

    async def order(self, client: httpx.AsyncClient, sku: str) -> str:
        """Place an order, send its notice; return its ERP reference."""
        order = str(
            self.shop.place_order(
                lines=[(sku, 1)], email="anna@example.se", freight=Decimal("49.00")
            )
        )
        self.placed.append(order)
        url = f"http://127.0.0.1:{self.control.port}/webhooks/demo/{TOKEN}"
        answer = await client.post(url, json={"orderId": int(order)})
        assert answer.status_code == 200
        return document_reference("demo", "se", order)

    async def wait_document(self, reference: str, seconds: float = 15) -> None:
        with anyio.fail_after(seconds):
            while not self.erp.documents_with_reference(reference):  # noqa: ASYNC110
                await anyio.sleep(0.01)


@asynccontextmanager
async def daemon(
    tmp_path: Path, *, setup: Callable[[Any], Any] | None = None
) -> AsyncIterator[Running]:
    """The daemon on the two simulators until the block ends (then a clean stop).
    ``setup(erp_simulator)`` runs before the start and returns the app to put in front of the
    simulator (or None for its own)."""
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop, erp = shop_spec.simulator(), erp_spec.simulator()
    front = setup(erp) if setup is not None else None
    erp_log = Log(front if front is not None else erp.app)
    shop_table = {
        **shop.adapter_config("http://shop.test/api/v2", name="se"),
        **LIFTED,
        "webhook_token": TOKEN,
    }
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp={**erp.adapter_config("http://erp.test"), **LIFTED},
        shops=[shop_table],
        connection={"registers": CATALOG_OFF, "poll": {"orders": "1h"}},
    )
    loaded, plugins = load(path)
    http = HttpContext(transport=RoutingTransport({"shop.test": shop.app, "erp.test": erp_log}))
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    running = Running(shop, erp, erp_log, control, http)
    async with anyio.create_task_group() as tg:

        async def run_daemon() -> None:
            await serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
            running.stopped_at = time.monotonic()

        tg.start_soon(run_daemon)
        running.cancel = tg.cancel_scope.cancel
        with anyio.fail_after(15):
            await control.wait_started()
        try:
            yield running
        finally:
            running.stop_requested_at = time.monotonic()
            control.request_stop()


async def _until(check: Callable[[], bool], seconds: float = 10) -> None:
    with anyio.fail_after(seconds):
        while not check():  # noqa: ASYNC110
            await anyio.sleep(0.01)


def _used_groups(erp: Any) -> set[int]:
    """The product groups the simulator's products are in (its own state)."""
    return {p["productGroup"]["productGroupNumber"] for p in erp.state.products.values()}


def _warm_reads(erp: Any) -> list[tuple[str, str]]:
    """What the warm-up reads: the product list, the accounts, the VAT accounts and each
    used group's sales accounts (plugins/brygga_economic/warmup.py), each once."""
    return sorted(
        [("GET", "/products"), ("GET", "/accounts"), ("GET", "/vat-accounts")]
        + [("GET", f"/product-groups/{g}/sales-accounts") for g in _used_groups(erp)]
    )


async def test_reference_data_is_read_once_at_start_and_the_first_order_makes_only_its_own(
    tmp_path: Path,
) -> None:
    async with daemon(tmp_path) as run, httpx.AsyncClient(timeout=10) as client:
        expected = _warm_reads(run.erp)
        assert len(expected) > 4  # the simulator's catalog spans several groups
        await _until(lambda: len(run.erp_log.reference_reads()) >= len(expected))
        await anyio.sleep(0.2)  # nothing more follows
        assert run.placed == []
        assert sorted(run.erp_log.reference_reads()) == expected

        # the first order: its customer search, its customer and its invoice; nothing else
        before = len(run.erp_log.requests)
        reference = await run.order(client, run.shop.catalog_skus()[0])
        await run.wait_document(reference)
        assert run.erp_log.requests[before:] == [
            ("GET", "/customers"),
            ("POST", "/customers"),
            ("POST", "/invoices/drafts"),
        ]


async def test_an_order_during_the_warm_up_joins_its_read_instead_of_reading_again(
    tmp_path: Path,
) -> None:
    # the warm-up's product list answers after a second; the order placed meanwhile waits
    # for that read (the agreement cache's single flight) and makes none of its own
    def slow_products(erp: Any) -> None:
        erp.faults.add(
            Fault("delay", methods=frozenset({"GET"}), path="^/products$", seconds=1.0, times=1)
        )

    async with (
        daemon(tmp_path, setup=slow_products) as run,
        httpx.AsyncClient(timeout=10) as client,
    ):
        await _until(lambda: ("GET", "/products") in run.erp_log.requests)
        reference = await run.order(client, run.shop.catalog_skus()[0])
        await run.wait_document(reference)
        reads = run.erp_log.reference_reads()
        assert reads.count(("GET", "/products")) == 1
        for read in set(reads):
            assert reads.count(read) == 1, read


@pytest.mark.parametrize("failure", ["500", "token refused"])
async def test_a_failed_warm_up_is_logged_without_secrets_and_the_first_order_transfers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    caplog.set_level(logging.INFO)
    tokens: list[str] = []

    def refuse(erp: Any) -> Any:
        tokens.extend([erp.app_secret_token, erp.agreement_grant_token])
        if failure == "500":
            erp.faults.add(Fault("status", methods=frozenset({"GET"}), path="^/products$", times=1))
            return None
        return EchoTokenRefused(erp.app, erp.agreement_grant_token)

    async with daemon(tmp_path, setup=refuse) as run, httpx.AsyncClient(timeout=10) as client:
        await _until(lambda: "reading reference data at start failed" in caplog.text)
        reference = await run.order(client, run.shop.catalog_skus()[0])
        await run.wait_document(reference)
        # the order read the product list itself (the warm-up's read failed)
        assert run.erp_log.requests.count(("GET", "/products")) == 2
    assert len(run.erp.documents_with_reference(reference)) == 1
    assert all(token not in caplog.text for token in tokens)
    warning = next(r for r in caplog.records if "reference data at start" in r.getMessage())
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert "products" in message or "product list" in message  # what failed


async def test_a_stop_while_the_warm_up_waits_for_an_answer_ends_the_daemon_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the product list would answer after 30 s: a stop must not wait for it
    def hang(erp: Any) -> None:
        erp.faults.add(Fault("delay", methods=frozenset({"GET"}), path="^/products$", seconds=30.0))

    with anyio.fail_after(10):
        async with daemon(tmp_path, setup=hang) as run:
            await _until(lambda: ("GET", "/products") in run.erp_log.requests)
    assert run.stopped_at is not None and run.stop_requested_at is not None
    assert run.stopped_at - run.stop_requested_at < 5.0
    # a cancelled warm-up is not a failure
    assert "reading reference data at start failed" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_start_cancelled_during_the_warm_up_ends_at_once_without_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # structured concurrency: the warm-up is a task of the connection's group, so cancelling
    # the daemon's scope ends it with everything else
    def hang(erp: Any) -> None:
        erp.faults.add(Fault("delay", methods=frozenset({"GET"}), path="^/products$", seconds=30.0))

    started = time.monotonic()
    with anyio.fail_after(10):
        async with daemon(tmp_path, setup=hang) as run:
            await _until(lambda: ("GET", "/products") in run.erp_log.requests)
            run.cancel()
            await anyio.sleep(30)  # cancelled at once
    assert time.monotonic() - started < 8
    assert run.stopped_at is None  # serve did not return: it was cancelled
    assert "reading reference data at start failed" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
