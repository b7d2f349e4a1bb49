"""Fortnox OAuth2 in the adapter: single-use refresh tokens rotated through the adapter state.

Documented (reference/erp-apis.md §2.1 [doc F2], https://www.fortnox.se/developer/
authorization/get-refresh-token): access tokens live 1 h; each refresh issues a new refresh
token and invalidates the old one. §2.10: losing one forces a new consent; two workers
refreshing the same token is a real hazard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fortnox_support import config_for

from brygga.accountstate import MemoryAdapterState
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import DocumentType
from brygga_fortnox.auth import ACCESS_KEY, REFRESH_KEY, tenant_account
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


def _http(sim: FortnoxSimulator, clock: FakeClock, app: Any = None) -> HttpContext:
    return HttpContext(
        transport=httpx.ASGITransport(app=app or sim.app),
        clock=clock,
        limiters=RateLimiterRegistry(clock),
    )


class Recording(MemoryAdapterState):
    """The adapter state, noting every write in ``log`` (shared with a request recorder)."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def put(self, account: str, key: str, value: bytes, now: datetime) -> None:
        self.log.append(f"put {key}")
        await super().put(account, key, value, now)

    async def replace(
        self, account: str, key: str, old: bytes | None, new: bytes, now: datetime
    ) -> bool:
        self.log.append(f"replace {key}")
        return await super().replace(account, key, old, new, now)


async def _lookup(adapter: Any) -> None:
    assert await adapter.find_document("nothing", DocumentType.INVOICE) is None


async def test_the_new_refresh_token_is_stored_before_the_new_access_token_is_used(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    log: list[str] = []

    async def recorder(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            log.append(f"{scope['method']} {scope['path']}")
        await sim.app(scope, receive, send)

    state = Recording(log)
    config = config_for(sim)
    async with open_adapter(
        config=config, http=_http(sim, clock, recorder), adapter_state=state
    ) as adapter:
        await _lookup(adapter)
    assert log[:4] == [
        "POST /oauth-v1/token",
        "replace refresh_token",
        "put access_token",
        "GET /3/invoices",
    ]
    account = tenant_account(config.client_id.reveal(), config.refresh_token.reveal())
    stored = await state.get(account, REFRESH_KEY)
    assert stored is not None and stored.decode() != config.refresh_token.reveal()
    # the initial token is spent at Fortnox: it cannot be used again
    assert sim.oauth.refresh[config.refresh_token.reveal()].used


async def test_a_restart_uses_the_stored_tokens_not_the_spent_initial_one(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any, state: MemoryAdapterState
) -> None:
    config = config_for(sim)
    async with open_adapter(config=config, http=_http(sim, clock)) as adapter:
        await _lookup(adapter)
    assert sim.oauth.issued == {"refresh_token": 1}
    # a new process (new token cache) on the same state file: the stored access token
    async with open_adapter(config=config, http=_http(sim, clock)) as adapter:
        await _lookup(adapter)
    assert sim.oauth.issued == {"refresh_token": 1}
    # an hour later the access token has expired: the stored refresh token is used
    clock.advance(3600)
    async with open_adapter(config=config, http=_http(sim, clock)) as adapter:
        await _lookup(adapter)
    assert sim.oauth.issued == {"refresh_token": 2}


async def test_a_spent_refresh_token_is_a_permanent_error_naming_the_fix(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    config = config_for(sim)
    async with open_adapter(config=config, adapter_state=MemoryAdapterState()) as adapter:
        await _lookup(adapter)
    # another install without the state file starts again from the config's token
    async with open_adapter(config=config, adapter_state=MemoryAdapterState()) as adapter:
        with pytest.raises(PermanentError) as info:
            await _lookup(adapter)
    message = str(info.value)
    assert "connect brygga to Fortnox again" in message
    for secret in (config.refresh_token.reveal(), config.client_secret.reveal()):
        assert secret not in message


class StaleOnce(MemoryAdapterState):
    """A state whose first reads are what a slower process saw: no access token and the
    refresh token another process has just spent."""

    def __init__(self, stale_refresh: bytes) -> None:
        super().__init__()
        self.stale: dict[str, bytes | None] = {ACCESS_KEY: None, REFRESH_KEY: stale_refresh}

    async def get(self, account: str, key: str) -> bytes | None:
        if key in self.stale:
            return self.stale.pop(key)
        return await super().get(account, key)


async def test_the_process_that_loses_the_refresh_race_reads_the_winners_tokens(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    config = config_for(sim)
    initial = config.refresh_token.reveal().encode()
    state = StaleOnce(initial)
    account = tenant_account(config.client_id.reveal(), initial.decode())
    async with open_adapter(config=config, adapter_state=MemoryAdapterState()) as winner:
        # the winner refreshed first; its tokens are in the shared state
        await _lookup(winner)
        winner_state = winner.tokens._state
        for key in (REFRESH_KEY, ACCESS_KEY):
            value = await winner_state.get(account, key)
            assert value is not None
            await MemoryAdapterState.put(state, account, key, value, clock.now())
    async with open_adapter(config=config, adapter_state=state) as loser:
        await _lookup(loser)
        # one refused refresh (the spent token), then the winner's access token: no new one
        assert loser.tokens.refreshes == 1
    assert sim.oauth.issued == {"refresh_token": 1}


async def test_wrong_client_credentials_are_named_without_the_secret(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    config = config_for(sim, client_secret="wrong-secret-123456")
    async with open_adapter(config=config) as adapter:
        with pytest.raises(PermanentError) as info:
            await _lookup(adapter)
    assert "client_id and client_secret" in str(info.value)
    assert "wrong-secret-123456" not in str(info.value)


async def test_an_access_token_refused_with_401_gets_one_new_token(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        await _lookup(adapter)
        sim.oauth.revoke_access()
        await _lookup(adapter)
    assert sim.oauth.issued == {"refresh_token": 2}


async def test_a_garbled_token_answer_is_a_permanent_error(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    async def garble(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/oauth-v1/token":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"<html>login</html>"})
            return
        await sim.app(scope, receive, send)

    async with open_adapter(http=_http(sim, clock, garble)) as adapter:
        with pytest.raises(PermanentError, match="without an access and a refresh token"):
            await _lookup(adapter)


async def test_a_token_request_without_an_answer_is_transient_and_never_in_doubt(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    from brygga.errors import TransientError
    from brygga.testing.simulators import Fault

    sim.faults.add(Fault("drop", methods=frozenset({"POST"}), path="^/oauth-v1/token$", times=1))
    async with open_adapter() as adapter:
        with pytest.raises(TransientError) as info:
            await _lookup(adapter)
    assert not info.value.in_doubt
    assert "refreshing the Fortnox access token" in str(info.value)
