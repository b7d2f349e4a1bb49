"""The shared token cache: one fetch per account, early renewal, one refresh per 401 burst."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.http.tokens import Token, TokenCache
from brygga.secrets import Secret, resolve_secret
from brygga.testing import Fault
from brygga.testing.simulators import Asgi, Receive, Scope, Send
from brygga_starweb.adapter import StarwebAdapter, StarwebConfig
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
ACCOUNT = "api.example#0000"


class Issuer:
    """A fetch function that counts calls, hands out numbered tokens and can be held back."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.release: anyio.Event | None = None
        self.started = anyio.Event()
        self.error: Exception | None = None

    async def __call__(self) -> Token:
        self.calls += 1
        self.started.set()
        issued_at = self.clock.monotonic()
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        return Token.lasting(f"token-{self.calls}", self.lifetime, issued_at=issued_at)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def gather(count: int, job: Callable[[], Any]) -> list[Any]:
    results: list[Any] = []

    async def one() -> None:
        results.append(await job())

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
    return results


# -- TokenCache on its own --------------------------------------------------------------------


async def test_fifty_concurrent_callers_cause_one_fetch(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    issuer.release = anyio.Event()

    async def get() -> Token:
        return await cache.get(ACCOUNT, issuer)

    async with anyio.create_task_group() as tg:
        tg.start_soon(gather, 50, get)
        await issuer.started.wait()
        await anyio.wait_all_tasks_blocked()
        issuer.release.set()
    assert issuer.calls == 1
    assert cache.fetches(ACCOUNT) == 1
    assert await cache.get(ACCOUNT, issuer) == cache.current(ACCOUNT)


async def test_renewed_margin_seconds_before_expiry(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock, margin=60), Issuer(clock)
    first = await cache.get(ACCOUNT, issuer)
    clock.advance(3539)
    assert await cache.get(ACCOUNT, issuer) is first
    clock.advance(2)  # 59 s left
    second = await cache.get(ACCOUNT, issuer)
    assert second.value == "token-2" and issuer.calls == 2
    assert second.expires_at == clock.monotonic() + 3600


async def test_short_lived_tokens_are_renewed_at_half_life(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock, margin=60), Issuer(clock, lifetime=100)
    await cache.get(ACCOUNT, issuer)
    clock.advance(49)
    await cache.get(ACCOUNT, issuer)
    assert issuer.calls == 1
    clock.advance(1)
    await cache.get(ACCOUNT, issuer)
    assert issuer.calls == 2


async def test_callers_keep_the_old_token_while_one_renews_it(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    old = await cache.get(ACCOUNT, issuer)
    clock.advance(3570)  # due for renewal, still valid for 30 s
    issuer.release = anyio.Event()
    renewed: list[Token] = []

    async def renew() -> None:
        renewed.append(await cache.get(ACCOUNT, issuer))

    async with anyio.create_task_group() as tg:
        tg.start_soon(renew)
        await issuer.started.wait()
        # the renewal hangs; others are not held up by it
        assert await gather(10, lambda: cache.get(ACCOUNT, issuer)) == [old] * 10
        issuer.release.set()
    assert [t.value for t in renewed] == ["token-2"]
    assert issuer.calls == 2


async def test_callers_wait_for_the_renewal_once_the_token_expired(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    await cache.get(ACCOUNT, issuer)
    clock.advance(3600)
    tokens = await gather(50, lambda: cache.get(ACCOUNT, issuer))
    assert {t.value for t in tokens} == {"token-2"}
    assert issuer.calls == 2


async def test_invalidate_only_forgets_the_current_token(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    first = await cache.get(ACCOUNT, issuer)
    assert cache.invalidate(ACCOUNT, first)
    assert not cache.invalidate(ACCOUNT, first)  # already gone
    second = await cache.get(ACCOUNT, issuer)
    assert not cache.invalidate(ACCOUNT, first)  # a stale 401 leaves the new token alone
    assert cache.current(ACCOUNT) is second
    assert not cache.invalidate("other#1", second)


async def test_fifty_refusals_at_once_cause_one_refetch(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    refused = await cache.get(ACCOUNT, issuer)

    async def on_401() -> Token:
        cache.invalidate(ACCOUNT, refused)
        return await cache.get(ACCOUNT, issuer)

    tokens = await gather(50, on_401)
    assert {t.value for t in tokens} == {"token-2"}
    assert issuer.calls == 2


async def test_a_failed_fetch_is_reported_to_every_waiter_once(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    issuer.release = anyio.Event()
    issuer.error = PermanentError("token request: invalid_client")
    failures: list[str] = []

    async def get() -> None:
        try:
            await cache.get(ACCOUNT, issuer)
        except PermanentError as exc:
            failures.append(str(exc))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(get)
        await issuer.started.wait()
        await anyio.wait_all_tasks_blocked()
        issuer.release.set()
    assert failures == ["token request: invalid_client"] * 20
    assert issuer.calls == 1
    # a later caller tries again
    issuer.error = None
    assert (await cache.get(ACCOUNT, issuer)).value == "token-2"


async def test_a_failed_early_renewal_keeps_the_valid_token(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    old = await cache.get(ACCOUNT, issuer)
    clock.advance(3570)
    issuer.error = TransientError("token endpoint: server error 502")
    assert await cache.get(ACCOUNT, issuer) is old
    clock.advance(30)  # now expired: the failure surfaces
    with pytest.raises(TransientError):
        await cache.get(ACCOUNT, issuer)
    issuer.error = None
    assert (await cache.get(ACCOUNT, issuer)).value == "token-4"


async def test_a_cancelled_fetch_leaves_the_next_caller_to_fetch(clock: FakeClock) -> None:
    cache, issuer = TokenCache(clock), Issuer(clock)
    issuer.release = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.get, ACCOUNT, issuer)
        await issuer.started.wait()
        tg.cancel_scope.cancel()  # the fetching task is cancelled mid-request
    assert issuer.calls == 1 and cache.current(ACCOUNT) is None
    issuer.release.set()
    assert (await cache.get(ACCOUNT, issuer)).value == "token-2"


async def test_accounts_do_not_wait_for_each_other(clock: FakeClock) -> None:
    cache, slow, fast = TokenCache(clock), Issuer(clock), Issuer(clock)
    slow.release = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.get, "slow#1", slow)
        await slow.started.wait()
        assert (await cache.get("fast#2", fast)).value == "token-1"  # not blocked by slow
        slow.release.set()
    assert (slow.calls, fast.calls) == (1, 1)
    assert cache.current("slow#1") is not cache.current("fast#2")
    assert cache.fetches("slow#1") == cache.fetches("fast#2") == 1


def test_token_repr_hides_the_value() -> None:
    token = Token.lasting("very-secret-bearer", 3600, issued_at=0)
    assert "very-secret-bearer" not in repr(token)
    assert "very-secret-bearer" not in repr(TokenCache())


def test_every_http_context_has_its_own_token_cache() -> None:
    assert HttpContext().tokens is not HttpContext().tokens


# -- the Starweb adapter on the shared cache -------------------------------------------------

SHOP = "https://butiken.starwebserver.se/api/v2"


def _dec_hook(type_: type, value: Any) -> Any:
    if type_ is Secret:
        return resolve_secret(value)
    raise NotImplementedError(type_)


class Prefixed:
    """Several simulators on one host, told apart by a path prefix (``/a/...``, ``/b/...``)."""

    def __init__(self, apps: dict[str, Asgi]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix, _, rest = scope["path"].lstrip("/").partition("/")
        path = "/" + rest
        await self.apps[prefix]({**scope, "path": path, "raw_path": path.encode()}, receive, send)


Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


@pytest.fixture
def sim(clock: FakeClock) -> StarwebSimulator:
    return StarwebSimulator(clock=clock)


@pytest.fixture
def http(sim: StarwebSimulator, clock: FakeClock) -> HttpContext:
    """One context, as the daemon shares one between all connections. The rate limiter has a
    clock of its own, so its waits do not move the shop's time."""
    return HttpContext(
        transport=httpx.ASGITransport(app=sim.app),
        clock=clock,
        limiters=RateLimiterRegistry(FakeClock()),
    )


@pytest.fixture
def open_adapter(sim: StarwebSimulator, http: HttpContext) -> Open:
    @asynccontextmanager
    async def opened(
        *, context: HttpContext | None = None, connection: str = "c1", **overrides: Any
    ) -> AsyncIterator[StarwebAdapter]:
        raw = sim.adapter_config(SHOP, name="se") | overrides
        config = msgspec.convert(raw, StarwebConfig, dec_hook=_dec_hook)
        adapter = StarwebAdapter(config, AdapterContext(connection, "se", context or http))
        try:
            yield adapter
        finally:
            await adapter.aclose()

    return opened


def order_gets(sim: StarwebSimulator, order_id: str) -> int:
    return sim.requests.count(("GET", f"/orders/{order_id}"))


async def test_fifty_requests_with_an_expired_token_make_one_token_request(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        clock.advance(3600 + 1)  # expired for the shop and for the cache
        orders = await gather(50, lambda: adapter.fetch_order(order_id))
    assert len(orders) == 50
    assert sim.tokens_issued == 2
    assert order_gets(sim, order_id) == 51  # none was refused with 401 and sent again


async def test_two_connections_with_the_same_credentials_share_one_token(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(connection="c1") as one, open_adapter(connection="c2") as two:
        async with anyio.create_task_group() as tg:
            for adapter in (one, two) * 10:
                tg.start_soon(adapter.fetch_order, order_id)
        assert sim.tokens_issued == 1
        assert one.tokens.fetched + two.tokens.fetched == 1
        clock.advance(3550)  # both renew together: still one request
        await gather(10, lambda: one.fetch_order(order_id))
        await gather(10, lambda: two.fetch_order(order_id))
    assert sim.tokens_issued == 2


async def test_separate_daemons_do_not_share(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    other = HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=clock)
    async with open_adapter() as one, open_adapter(context=other) as two:
        await one.fetch_order(order_id)
        await two.fetch_order(order_id)
    assert sim.tokens_issued == 2


async def test_different_credentials_on_one_host_do_not_share(clock: FakeClock) -> None:
    shop_a, shop_b = StarwebSimulator(clock=clock, seed=1), StarwebSimulator(clock=clock, seed=2)
    http = HttpContext(
        transport=httpx.ASGITransport(app=Prefixed({"a": shop_a.app, "b": shop_b.app})),
        clock=clock,
        limiters=RateLimiterRegistry(FakeClock()),
    )
    ids = {
        "a": shop_a.place_order(lines=[("TE-100", 1)], email="a@example.se"),
        "b": shop_b.place_order(lines=[("TE-100", 2)], email="b@example.se"),
    }
    adapters = [
        StarwebAdapter(
            msgspec.convert(
                shim.adapter_config(f"https://shops.example/{key}/api/v2", name=key),
                StarwebConfig,
                dec_hook=_dec_hook,
            ),
            AdapterContext("c", key, http),
        )
        for key, shim in (("a", shop_a), ("b", shop_b))
    ]
    try:
        for key, adapter in zip("ab", adapters, strict=True):
            assert (await adapter.fetch_order(ids[key])).shop_order_id == ids[key]
    finally:
        for adapter in adapters:
            await adapter.aclose()
    assert (shop_a.tokens_issued, shop_b.tokens_issued) == (1, 1)


async def test_a_wrong_secret_never_borrows_the_right_ones_token(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter() as right, open_adapter(client_secret="wrong-secret") as wrong:
        await right.fetch_order(order_id)
        with pytest.raises(PermanentError, match="invalid_client"):
            await wrong.fetch_order(order_id)
    assert sim.tokens_issued == 1


async def test_token_is_renewed_before_expiry_without_a_401(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        clock.advance(3570)  # the shop would still take the token for 30 s
        await adapter.fetch_order(order_id)
        assert sim.tokens_issued == 2  # renewed early all the same
        for _ in range(4 * 6):  # four more hours of a request every 10 minutes
            clock.advance(600)
            await adapter.fetch_order(order_id)
    assert sim.tokens_issued == 6  # one per hour
    assert order_gets(sim, order_id) == 26  # none was refused with 401 and sent again


async def test_a_revoked_token_gets_one_refresh_and_the_requests_succeed(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(connection="c1") as one, open_adapter(connection="c2") as two:
        await one.fetch_order(order_id)
        sim.revoke_tokens()
        orders = await gather(25, lambda: one.fetch_order(order_id))
        orders += await gather(25, lambda: two.fetch_order(order_id))
    assert {o.shop_order_id for o in orders} == {order_id} and len(orders) == 50
    assert sim.tokens_issued == 2


async def test_a_second_401_after_the_refresh_is_permanent(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.faults.add(Fault("status", status=401, path=r"/orders/\d+$"))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="refused a freshly issued access token"):
            await adapter.fetch_order(order_id)
    assert sim.tokens_issued == 2
