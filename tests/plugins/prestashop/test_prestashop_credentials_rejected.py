"""PrestaShop refusing the webservice key is a CredentialsRejected: no order fails.

The key goes as the Basic user with an empty password; PrestaShop answers a key it does not
take with 401, ``WWW-Authenticate: Basic`` and its own codes: 16-18 a missing, empty or
malformed key, 20 and 21 a key that is unknown or not active, 21 alone one without
permissions; a resource the key is not granted is 401 too, code 26 (reference/shop-apis.md
§3.1 [PS1], ``WebserviceRequest::authenticate`` and ``checkResource``). Codes 16-21 concern
the connection: the sync engine holds its work (tests/sync/test_credentials_rejected.py) and
a reload with the right key sends each order once. Code 26 stays the refusal of the request
(the key is good; one permission lacks). The message names the shop and the config key with
its source, never the key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prestashop_support import open_adapter

from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.engine import HOLD_ROW
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.common import message_of
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio

ORDERS = 3
WRONG = "WRONGKEY" * 4  # 32 characters: well formed, unknown to the shop


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
def sim() -> PrestashopSimulator:
    return PrestashopSimulator(seed=3)


async def test_a_wrong_key_is_credentials_rejected_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, sim: PrestashopSimulator
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_PS_KEY", WRONG)
    async with open_adapter(sim, key={"env": "BRYGGA_TEST_PS_KEY"}) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.fetch_order("1")
    message = str(caught.value)
    assert message.startswith(
        "PrestaShop shop se rejected the credentials (HTTP 401, code 20: Authentification "
        "key is not active; code 21: No permission for this authentication key)"
    )
    assert "key (env:BRYGGA_TEST_PS_KEY) of shop se in [[connection.shops]]" in message
    assert "reload brygga" in message
    for secret in (WRONG, sim.key):
        assert secret not in message_of(caught.value)


async def test_a_key_deactivated_or_regenerated_in_the_shop_is_rejected(
    sim: PrestashopSimulator,
) -> None:
    old = sim.key
    async with open_adapter(sim) as adapter:
        assert await adapter.order_statuses()
        sim.knobs.key_active = False
        with pytest.raises(CredentialsRejected):
            await adapter.order_statuses()
        sim.knobs.key_active = True
        sim.set_key("NEWKEY" * 5 + "XY")
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.order_statuses()
    assert old not in message_of(caught.value)


async def test_a_resource_the_key_is_not_granted_fails_the_request_not_the_connection(
    sim: PrestashopSimulator,
) -> None:
    sim.knobs.denied_resources.add("orders")
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.fetch_order("1")
    assert not isinstance(caught.value, CredentialsRejected)
    assert "code 26" in str(caught.value) and "does not grant this resource" in str(caught.value)
    assert sim.key not in message_of(caught.value)


class EchoKey:
    """In front of the simulator: every request is answered 401 code 21 with a message that
    echoes the Authorization header and the key (a hostile answer)."""

    def __init__(self, sim: PrestashopSimulator) -> None:
        self.sim = sim

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        said = dict(scope["headers"]).get(b"authorization", b"").decode() + " " + self.sim.key
        body = httpx.Response(401, json={"errors": [{"code": 21, "message": said}]}).content
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def test_a_401_that_echoes_the_key_shows_none_of_it(sim: PrestashopSimulator) -> None:
    http = HttpContext(transport=httpx.ASGITransport(app=EchoKey(sim)), clock=sim.clock)
    async with open_adapter(sim, http=http) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.fetch_order("1")
        shown = message_of(caught.value) + repr(adapter)
    assert sim.key not in shown


def _clock() -> FakeClock:
    """The connection's clock: rate-limit waits move it instead of sleeping."""
    return FakeClock(datetime.now(UTC) + timedelta(seconds=5))


class XmlRefusal:
    """Every request answered 401 with PrestaShop's XML ``<errors>`` envelope (§3.5), as
    a shop may answer before it has read the requested output format."""

    def __init__(self, codes: list[int]) -> None:
        errors = "".join(
            f"<error><code><![CDATA[{c}]]></code><message><![CDATA[refused]]></message></error>"
            for c in codes
        )
        self.body = f'<?xml version="1.0"?><prestashop><errors>{errors}</errors></prestashop>'

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": self.body.encode()})


@pytest.mark.parametrize(("codes", "held"), [([20, 21], True), ([26], False), ([], True)])
async def test_the_codes_of_an_xml_401_decide_too(
    sim: PrestashopSimulator, codes: list[int], held: bool
) -> None:
    http = HttpContext(transport=httpx.ASGITransport(app=XmlRefusal(codes)), clock=sim.clock)
    async with open_adapter(sim, http=http) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.fetch_order("1")
    assert isinstance(caught.value, CredentialsRejected) is held


def _reloaded(env: SimulatedConnection, old: str, new: str) -> ResolvedConnection:
    """The connection as a reload of the config with ``old`` replaced by ``new`` loads it."""
    text = env.config_path.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the value to replace is not in the config once"
    path = env.directory / "reload-wrong.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_checked(path, PluginHost()).connections[0]


async def test_a_wrong_key_holds_the_orders_and_the_reload_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind="prestashop",
        shop_options={"seed": 3},
        shop_config={"rate_limit": {"requests": 500, "per_seconds": 0.05}},
        clock=_clock(),
    ) as env:
        ids = [
            env.shop.place_order(lines=[("KAFFE-500", 1 + n)], email=f"k{n}@example.se")
            for n in range(ORDERS)
        ]
        assert await env.flow("discover").poll_once("se") == ORDERS
        key = env.shop.key
        bad = env.deps.open_flow(
            _reloaded(env, key, WRONG), run_id="run-wrong", mappings=env.mappings
        )
        env.flows.append(bad)
        posts = sum(1 for method, _ in env.erp.requests if method == "POST")

        item = await bad.claim()
        assert item is not None
        assert await bad.process(item) is ItemState.RETRY
        assert bad.engine.holding() is not None
        assert await bad.engine.drain("orders") == 0  # held: nothing more is claimed

        items = [await env.item(oid) for oid in ids]
        assert [i.state for i in items] == [ItemState.RETRY] + [ItemState.NEW] * (ORDERS - 1)
        assert [i.attempts for i in items] == [0] * ORDERS
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
        assert sum(1 for method, _ in env.erp.requests if method == "POST") == posts
        rows = [r for r in await env.store.status.all() if r.instance == HOLD_ROW]
        assert [(r.register, r.state) for r in rows] == [("orders", "failing")]
        sentence = rows[0].last_error
        assert items[0].last_error == sentence
        assert "PrestaShop shop se rejected the credentials (HTTP 401, code 20" in sentence
        assert "key (inline) of shop se" in sentence and "none is failed" in sentence
        assert key not in sentence and WRONG not in sentence

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert "orders failing" in out and "PrestaShop shop se rejected the credentials" in out
        assert key not in out and WRONG not in out

        fixed = env.flow("run-fixed")  # the reload with the right key
        assert await env.drain(fixed) == [ItemState.DONE] * ORDERS
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [(await env.item(oid)).attempts for oid in ids] == [1] * ORDERS
