"""BearerAuth: a cached token on every request; a 401 gets one new token and one retry."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import httpx
import pytest

from brygga.clock import FakeClock
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import RateLimit
from brygga.http.tokens import BearerAuth, Token

pytestmark = pytest.mark.anyio


@dataclass
class Api:
    """A token endpoint and one resource that wants a token it issued and did not revoke."""

    clock: FakeClock
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    #: (path, bearer token or "", the fake clock's monotonic time) of every request
    seen: list[tuple[str, str, float]] = field(default_factory=list)
    always_401: bool = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.seen.append((request.url.path, bearer, self.clock.monotonic()))
        if request.url.path == "/token":
            self.issued.append(f"token-{len(self.issued) + 1}")
            return httpx.Response(200, json={"access_token": self.issued[-1]})
        if self.always_401 or bearer not in self.issued or bearer in self.revoked:
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.seen]


class Setup:
    def __init__(self, *, rate_limit: RateLimit | None = None, hold_401s: int = 0) -> None:
        self.clock = FakeClock()
        self.api = Api(self.clock)
        refused: list[httpx.Request] = []
        all_refused = anyio.Event()

        async def answer(request: httpx.Request) -> httpx.Response:
            """The API's answer; the first ``hold_401s`` refusals are held back until all of
            them happened (requests refused at the same time)."""
            response = self.api(request)
            if response.status_code == 401 and len(refused) < hold_401s:
                refused.append(request)
                if len(refused) == hold_401s:
                    all_refused.set()
                await all_refused.wait()
            return response

        self.reported: list[tuple[str, int | None]] = []
        self.http = HttpContext(
            clock=self.clock,
            transport=httpx.MockTransport(answer),
            on_request=lambda system, method, status, seconds, outcome: self.reported.append(
                (method, status)
            ),
        )
        self.client = RemoteClient(
            system="api",
            base_url="http://api.test",
            context=self.http,
            account="acct",
            rate_limit=rate_limit,
        )
        self.auth = BearerAuth(self.http.tokens, "acct", self.fetch)

    async def fetch(self) -> Token:
        issued_at = self.clock.monotonic()
        response = await self.client.request("POST", "token")  # no auth: a plain request
        return Token.lasting(response.json()["access_token"], 3600, issued_at=issued_at)

    async def get(self) -> httpx.Response:
        return await self.client.request("GET", "thing", auth=self.auth)


async def test_a_401_leads_to_one_token_request_and_one_retry() -> None:
    setup = Setup()
    try:
        assert (await setup.get()).status_code == 200
        setup.api.revoked.add("token-1")
        setup.api.seen.clear()
        setup.reported.clear()
        response = await setup.get()
    finally:
        await setup.client.aclose()
    assert response.status_code == 200
    assert setup.api.paths() == ["/thing", "/token", "/thing"]
    assert [bearer for _, bearer, _ in setup.api.seen] == ["token-1", "", "token-2"]
    # every HTTP request is reported, the refused one too
    assert sorted(setup.reported) == [("GET", 200), ("GET", 401), ("POST", 200)]


async def test_many_401s_at_once_fetch_one_token() -> None:
    setup = Setup(hold_401s=10)
    try:
        await setup.get()
        setup.api.revoked.add("token-1")
        statuses: list[int] = []

        async def one() -> None:
            statuses.append((await setup.get()).status_code)

        async with anyio.create_task_group() as tasks:
            for _ in range(10):
                tasks.start_soon(one)
    finally:
        await setup.client.aclose()
    assert statuses == [200] * 10
    assert setup.api.issued == ["token-1", "token-2"]
    assert setup.api.paths().count("/thing") == 1 + 10 + 10  # each refused once, retried once


async def test_a_second_401_is_returned_not_retried_again() -> None:
    setup = Setup()
    setup.api.always_401 = True
    try:
        response = await setup.get()
    finally:
        await setup.client.aclose()
    assert response.status_code == 401
    assert setup.api.paths() == ["/token", "/thing", "/token", "/thing"]


async def test_the_retry_waits_its_turn_at_the_rate_limiter() -> None:
    setup = Setup(rate_limit=RateLimit(1, 1.0))  # one request a second
    try:
        await setup.get()
        setup.api.revoked.add("token-1")
        await setup.get()
    finally:
        await setup.client.aclose()
    # token, thing; then thing (401), token, thing: one a window (a second and the limiter's
    # 2 % guard), after the first window
    assert [when for _, _, when in setup.api.seen] == pytest.approx([1.0, 2.02, 3.04, 4.06, 5.08])


def test_it_refuses_a_sync_client() -> None:
    auth = BearerAuth(HttpContext().tokens, "acct", Setup().fetch)
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(RuntimeError, match="AsyncClient only"),
    ):
        client.get("http://api.test/", auth=auth)
