"""Secrets hygiene: a full orders flow at DEBUG, with failures, leaks no secret anywhere.

The secrets are distinctive values: the Starweb client id and secret (from a file and the
environment), every access token the Starweb simulator issues (read off its token answers),
and both e-conomic tokens (from the environment). The flow transfers orders and hits error
paths: e-conomic answers 400 with an error document that echoes both tokens, Starweb answers
401 to a revoked token (refreshed) and 401 for good to one order, and 400 with an error that
echoes the bearer token. None of the secrets may appear in a log line (message or
traceback), an exception message, the events table, ``work_items.last_error``, anywhere in
the state file, the rendered ``/metrics``, or ``repr()``/``str()`` of the loaded config and
the adapters. Our adapters use no signed URLs (Starweb and e-conomic authenticate by
header), so there are none to check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import TaskStatus
from hostile_support import ERP_URL, SHOP_URL, FlowEnv, Rewrite, Rewriter, proxied_routes

from brygga.commands.common import load, setup_logging
from brygga.commands.run import MetricsObserver, serve
from brygga.config import LoadedConfig, ResolvedConnection
from brygga.errors import BryggaError
from brygga.http.client import HttpContext
from brygga.metrics import Metrics
from brygga.plugins import PluginHost
from brygga.runtime.actor import ActorDeps
from brygga.runtime.daemon import DaemonControl
from brygga.store import ItemState, Store
from brygga.sync.orders import WRITEBACK
from brygga.testing import RoutingTransport, write_config
from brygga.testing.connection import CATALOG_OFF
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

SW_ID = "SWID-7f3a91c2e4-client"
SW_SECRET = "SWSECRET-d41d8cd98f00b204e9800998ecf8427e"
# longer than the 60 characters an error value is shortened to: a cut must not leak a prefix
ECO_APP = "ECOAPP-9b2f4e6a1c3d5f7e-app-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0-end"
ECO_GRANT = "ECOGRANT-1a2b3c4d5e6f7a8b-grant"
#: a secret counts as leaked when any run of this many of its characters shows
FRAGMENT = 12


def fragments(secret: str) -> set[str]:
    return {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


QUIET = ("httpx", "httpcore")


class Collect(logging.Handler):
    """Every record, formatted in full (with traceback), as the daemon's handler would."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.names.append(record.name)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Collect]:
    """DEBUG for every logger via the daemon's own setup, plus a handler on the root logger;
    levels are restored afterwards."""
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("", *QUIET, "hpack")}
    setup_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    handler = Collect()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sections: dict[str, object]
) -> tuple[StarwebSimulator, EconomicSimulator, LoadedConfig]:
    """Simulators with the distinctive secrets, and a config that reads them from the
    environment and a file (never inline)."""
    shop = StarwebSimulator(seed=11)
    shop.client_id, shop.client_secret = SW_ID, SW_SECRET
    erp = EconomicSimulator(app_secret_token=ECO_APP, agreement_grant_token=ECO_GRANT)
    monkeypatch.setenv("BRYGGA_TEST_ECO_APP", ECO_APP)
    monkeypatch.setenv("BRYGGA_TEST_ECO_GRANT", ECO_GRANT)
    monkeypatch.setenv("BRYGGA_TEST_SW_ID", SW_ID)
    (tmp_path / "sw-secret").write_text(SW_SECRET + "\n", encoding="utf-8")
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        erp={
            "kind": "economic",
            "base_url": ERP_URL,
            "app_secret_token": {"env": "BRYGGA_TEST_ECO_APP"},
            "agreement_grant_token": {"env": "BRYGGA_TEST_ECO_GRANT"},
        },
        shops=[
            {
                "kind": "starweb",
                "name": "se",
                "base_url": SHOP_URL,
                "client_id": {"env": "BRYGGA_TEST_SW_ID"},
                "client_secret": {"file": "sw-secret"},
                # the leaks are provoked on each order's own read (GET /orders/{id})
                "orders_from_list": False,
            }
        ],
        daemon={"shutdown_deadline": "5s"},
        connection={"mode": "erp", "registers": CATALOG_OFF, **sections},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded, _ = load(path)
    return shop, erp, loaded


@pytest.fixture
async def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FlowEnv, Metrics]]:
    shop, erp, loaded = _setup(tmp_path, monkeypatch)
    metrics = Metrics()
    proxies: dict[str, Rewriter] = {}
    routes = proxied_routes(proxies)(shop, erp)
    transport = RoutingTransport(routes)
    flow_env = await FlowEnv.attach(
        shop=shop,
        erp=erp,
        loaded=loaded,
        http=HttpContext(transport=transport, on_request=metrics.http_request),
    )
    flow_env.proxy(proxies)
    try:
        yield flow_env, metrics
    finally:
        await flow_env.close()


def assert_no_leak(places: dict[str, list[str]], secrets: set[str]) -> None:
    pieces = set().union(*(fragments(secret) for secret in secrets))
    for where, texts in places.items():
        for text in texts:
            for piece in pieces:
                assert piece not in text, f"a secret leaked into {where}: {text[:300]!r}"


def assert_not_stored(state: Path, secrets: set[str]) -> None:
    """Not in the state file nor its write-ahead log, in any table or free page."""
    pieces = set().union(*(fragments(secret) for secret in secrets))
    for file in (state, state.with_name(state.name + "-wal")):
        if file.exists():
            raw = file.read_bytes()
            for piece in pieces:
                assert piece.encode() not in raw, f"a secret is stored in {file.name}"


async def _state_texts(store: Store) -> dict[str, list[str]]:
    rows = await store.db.fetchall("SELECT * FROM events")
    events = [" ".join(str(value) for value in tuple(row)) for row in rows]
    assert events, "no events were recorded"
    rows = await store.db.fetchall("SELECT last_error FROM work_items")
    return {"events": events, "work_items.last_error": [str(r["last_error"]) for r in rows]}


def _tokens_from(issued: list[str]) -> Rewrite:
    """A pass-through rewrite of ``POST /token`` that records every access token issued."""

    def record(body: bytes) -> bytes:
        token = json.loads(body).get("access_token")
        if token:
            issued.append(token)
        return body

    return Rewrite(r"^POST /api/v2/token", body=record)


def _echo_secrets(body: bytes) -> bytes:
    """A 400 error document that repeats both tokens, as a careless server might."""
    return json.dumps(
        {
            "message": f"Validation failed for agreement {ECO_GRANT}",
            "developerHint": f"X-AppSecretToken {ECO_APP} is not allowed to do this",
            "errors": {
                "lines": [
                    {"arrayIndex": 0, "product": {"errors": [{"message": "x", "value": ECO_APP}]}}
                ]
            },
        }
    ).encode()


async def test_no_secret_leaks_at_debug_level(
    env: tuple[FlowEnv, Metrics], logs: Collect, caplog: pytest.LogCaptureFixture
) -> None:
    flow_env, metrics = env
    issued: list[str] = []
    flow_env.shop_proxy.add(_tokens_from(issued))
    ids = [
        flow_env.shop.place_order(
            lines=[("KAFFE-500", 1 + i)], email=f"kund{i}@example.se", freight=Decimal("49")
        )
        for i in range(5)
    ]
    ok, rejected, locked, echoed, revoked = ids
    # e-conomic refuses one invoice with a 400 that echoes both tokens
    flow_env.erp_proxy.add(
        Rewrite(rf"^POST /invoices/drafts\n.*se:{rejected}\"", status=400, body=_echo_secrets)
    )
    # Starweb keeps answering 401 for one order, and 400 echoing the bearer token for another
    flow_env.shop_proxy.add(Rewrite(rf"^GET /api/v2/orders/{locked}\?", status=401, body=b"{}"))

    def echo_bearer(body: bytes) -> bytes:
        return json.dumps(
            {"error": "invalid_request", "error_description": f"bad token {issued[-1]}"}
        ).encode()

    flow_env.shop_proxy.add(
        Rewrite(rf"^GET /api/v2/orders/{echoed}\?", status=400, body=echo_bearer)
    )
    flow = flow_env.flow()
    flow.observer = MetricsObserver(metrics)
    errors: list[BaseException] = []
    try:
        await flow.poll_once("se")
        outcomes = await flow_env.drain(flow, limit=3)
        flow_env.shop.revoke_tokens()  # the next Starweb call gets a 401 and a new token
        outcomes += await flow_env.drain(flow)
        outcomes += await flow_env.drain(flow, WRITEBACK)
    except BryggaError as exc:  # pragma: no cover - the flow records errors, never raises
        errors.append(exc)

    # the failures really happened, and the rest went through
    assert len(issued) >= 2, "the revoked token was never replaced: no 401 path was run"
    states = {oid: (await flow_env.item(oid)).state for oid in ids}
    assert states == {
        ok: ItemState.DONE,
        rejected: ItemState.FAILED,
        locked: ItemState.FAILED,
        echoed: ItemState.FAILED,
        revoked: ItemState.DONE,
    }, outcomes
    item_errors = [(await flow_env.item(oid)).last_error for oid in ids]
    assert "HTTP 400" in item_errors[1] and "401" in item_errors[2] and "400" in item_errors[3]

    # an error raised straight from an adapter (wrong client secret) leaks nothing either
    flow_env.shop.client_secret = "something-else"
    flow_env.shop.revoke_tokens()
    probe = flow_env.flow("probe")
    try:
        await probe.shops["se"].fetch_order(ok)
    except BryggaError as exc:
        errors.append(exc)
    assert errors and "invalid_client" in str(errors[-1])

    secrets = {SW_ID, SW_SECRET, ECO_APP, ECO_GRANT, *issued}
    places: dict[str, list[str]] = {
        "log lines": logs.lines,
        "caplog": [caplog.text],
        "exceptions": [f"{exc!s} {exc!r}" for exc in errors],
    }
    places.update(await _state_texts(flow_env.store))
    body, _ = metrics.render()
    places["/metrics"] = [body.decode()]
    assert "brygga_http_requests" in places["/metrics"][0]
    conn = flow_env.loaded.connections[0]
    places["repr"] = [
        repr(flow_env.loaded),
        str(flow_env.loaded),
        repr(flow_env.loaded.config),
        repr(conn),
        repr(conn.config),
        repr(conn.erp),
        repr(conn.shops),
        repr(flow.erp),
        repr(flow.shops),
    ]
    assert_no_leak(places, secrets)
    await flow_env.store.close()
    flow_env.flows.clear()
    for flow_ in (flow, probe):
        await flow_.erp.aclose()
        await flow_.shops["se"].aclose()
    assert_not_stored(flow_env.loaded.state_path, secrets)
    flow_env.store = await Store.open(flow_env.loaded.state_path)  # for the fixture's close

    # httpx and httpcore stay quiet (they log full URLs at INFO/DEBUG)
    for name in QUIET:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    assert not [n for n in logs.names if n.split(".")[0] in QUIET]
    assert any(line.startswith("DEBUG") for line in logs.lines), "DEBUG was not on"


async def test_no_secret_leaks_from_the_running_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: Collect
) -> None:
    """The same, through ``brygga run``'s own ``serve``: supervisor, actor, pollers, workers,
    and ``/metrics`` fetched from the daemon's HTTP endpoint on loopback."""
    shop, erp, loaded = _setup(tmp_path, monkeypatch, poll={"orders": "1s"})
    issued: list[str] = []
    shop_proxy, erp_proxy = Rewriter(shop.app), Rewriter(erp.app)
    shop_proxy.add(_tokens_from(issued))
    ids = [shop.place_order(lines=[("TE-100", 1)], email=f"kund{i}@example.se") for i in range(3)]
    erp_proxy.add(
        Rewrite(rf"^POST /invoices/drafts\n.*se:{ids[1]}\"", status=400, body=_echo_secrets)
    )
    shop_proxy.add(Rewrite(rf"^GET /api/v2/orders/{ids[2]}\?", status=401, body=b"{}"))
    metrics = Metrics()
    http = HttpContext(
        transport=RoutingTransport({"shop.test": shop_proxy, "erp.test": erp_proxy}),
        on_request=metrics.http_request,
    )
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    places: dict[str, list[str]] = {}

    async def daemon(*, task_status: TaskStatus[ActorDeps]) -> None:
        await serve(
            loaded,
            PluginHost(),
            control=control,
            http=http,
            handle_os_signals=False,
            metrics=metrics,
            task_status=task_status,
        )

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            deps: ActorDeps = await tg.start(daemon)
            await control.wait_started()
            while True:
                items = await deps.store.items.query()
                # the done order's write-back changes it in the shop: a check may follow
                items = [i for i in items if i.register in ("orders", "orders.writeback")]
                final = [i for i in items if i.state in (ItemState.DONE, ItemState.FAILED)]
                if len(items) == 4 and len(final) == 4:  # 3 orders, 1 write-back (the done one)
                    break
                await anyio.sleep(0.05)
            states = sorted(i.state.value for i in items if i.register == "orders")
            assert states == ["done", "failed", "failed"], [i.last_error for i in items]
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{control.port}/metrics")
            places["/metrics"] = [answer.text]
            places.update(await _state_texts(deps.store))
            control.request_stop()
    assert 'outcome="failed"' in places["/metrics"][0]
    assert issued, "no token was issued"
    places["log lines"] = logs.lines
    places["repr"] = [repr(loaded), repr(loaded.connections), repr(http)]
    assert_no_leak(places, {SW_ID, SW_SECRET, ECO_APP, ECO_GRANT, *issued})
    assert_not_stored(loaded.state_path, {SW_ID, SW_SECRET, ECO_APP, ECO_GRANT, *issued})
    assert not [n for n in logs.names if n.split(".")[0] in QUIET]
    assert any(line.startswith("DEBUG") for line in logs.lines), "DEBUG was not on"
