"""A remote that rejects the credentials holds the connection's work: no record fails.

Operator QA: a reload (SIGHUP) that briefly carried a wrong Starweb client secret failed every
order a worker claimed in that window for good (the token endpoint's ``invalid_client`` was a
PermanentError), and after the fix they sat in the error queue until ``brygga errors retry``.
What an operator expects instead: a rejected credential concerns the whole connection, so no
record is failed (no attempt spent, nothing in the error queue), the register's health says
"<system> rejected the credentials … fix …" (naming the shop or account and the config key,
never the secret), workers do not try every record against a remote that refuses them (the
connection waits with backoff), and work goes on by itself, or at once after a reload that
brings the right credentials (a reload restarts the connection, and with it the engine).

Starweb documents wrong client credentials as ``400 {"error": "invalid_client"}`` from
``POST /token`` (reference/shop-apis.md §2.2, https://www.starweb.se/api-dokumentation [SW1]);
e-conomic answers 401 to a wrong or revoked token ("a revoked grant shows up as HTTP 401",
reference/erp-apis.md §1.2, https://restdocs.e-conomic.com/#authentication [E1]).

The connections run as in the daemon (:func:`brygga.runtime.actor.run_connection`: pollers and
workers), a reload is a stop and a start with the reloaded config, as the supervisor does it.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.commands.common import load_state_config
from brygga.commands.status import status_report
from brygga.config import ResolvedConnection
from brygga.errors import CredentialsRejected, PermanentError, TransientError, credentials_rejection
from brygga.mappings import Mapping
from brygga.models import OrderEvent
from brygga.plugins import PluginHost
from brygga.runtime.actor import ActorDeps, run_connection
from brygga.store import Discovered, Health, ItemState, Outcome, Store, WorkItem
from brygga.store.status import RegisterStatus
from brygga.sync.engine import HELD, HOLD_ROW, Engine, before_send
from brygga.sync.flow import Flow
from brygga.sync.observer import FlowObserver
from brygga.sync.status import STATUS, WATCH
from brygga.sync.wiring import load_checked
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

#: how many orders wait when the credentials are rejected
ORDERS = 4
#: the stock register alone (products from e-conomic would create its fee articles in the shop)
STOCK_ONLY = {"registers": {"products": "off", "prices": "off", "price_lists": "off"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    with anyio.fail_after(seconds):
        while not await check():  # noqa: ASYNC110  (the store has no change notification)
            await anyio.sleep(0.02)


def _reloaded(env: SimulatedConnection, old: str, new: str, name: str) -> ResolvedConnection:
    """The connection as a reload of the config with ``old`` replaced by ``new`` loads it."""
    text = env.config_path.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the value to replace is not in the config once"
    path = env.directory / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_checked(path, PluginHost()).connections[0]


class Observed:
    """A flow observer that keeps what items became."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[str, str]] = []

    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        self.outcomes.append((register, outcome))

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        return None


class QuickDeps(ActorDeps):
    """The daemon's dependencies, with a short credentials hold (so a test can see the work
    go on by itself after the hold, and the hold grow, in real time)."""

    def __init__(self, *, wait: float, longest: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait, self.longest = wait, longest
        self.engines_made: list[Flow] = []

    def open_flow(
        self,
        conn: ResolvedConnection,
        *,
        run_id: str,
        mappings: Sequence[Mapping] = (),
        observer: FlowObserver | None = None,
    ) -> Flow:
        flow = super().open_flow(conn, run_id=run_id, mappings=mappings, observer=observer)
        flow.engine.credentials_wait = self.wait
        flow.engine.retry_max = self.longest
        self.engines_made.append(flow)
        return flow


async def _row(env: SimulatedConnection, register: str = "orders") -> RegisterStatus | None:
    """The health row that shows a credentials hold of ``register`` (beside its records' and
    its pollers' rows, which a poll that works marks healthy)."""
    for row in await env.store.status.all():
        if (row.connection, row.register, row.instance) == ("demo", register, HOLD_ROW):
            return row
    return None


async def _failing(env: SimulatedConnection, register: str = "orders") -> bool:
    row = await _row(env, register)
    return row is not None and row.state == "failing"


async def _items(env: SimulatedConnection, ids: Sequence[str]) -> list[WorkItem]:
    return [await env.item(oid) for oid in ids]


async def _all_done(env: SimulatedConnection, ids: Sequence[str]) -> bool:
    return all(item.state is ItemState.DONE for item in await _items(env, ids))


def _token_requests(env: SimulatedConnection) -> int:
    return sum(1 for method, path in env.shop.requests if (method, path) == ("POST", "/token"))


async def _orders(env: SimulatedConnection, count: int = ORDERS) -> list[str]:
    """``count`` paid orders in the shop, discovered (work items) by a poll that could still
    read the shop."""
    ids = [
        env.shop.place_order(lines=[("KAFFE-500", 1 + n)], email=f"kund{n}@example.se")
        for n in range(count)
    ]
    assert await env.flow("discover").poll_once("se") >= count
    return ids


async def _run_for(
    conn: ResolvedConnection, deps: ActorDeps, until: Callable[[], Awaitable[bool]]
) -> None:
    """Run the connection as the daemon does until ``until()`` holds, then stop it."""
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_connection, conn, stop, deps)
        await _until(until)
        stop.set()


async def _nothing_failed(env: SimulatedConnection, ids: Sequence[str]) -> list[WorkItem]:
    """No record failed or in the error queue; every order still waits, no attempt spent."""
    failed = await env.store.items.query(states=[ItemState.FAILED], connection="demo")
    assert failed == [], [(f.external_id, f.last_error) for f in failed]
    items = await _items(env, ids)
    for item in items:
        assert item.state in (ItemState.NEW, ItemState.RETRY), (item.state, item.last_error)
        assert item.attempts == 0, f"order {item.external_id} spent {item.attempts} attempt(s)"
        assert item.reference == "", "an intent was left behind although nothing was sent"
    return items


async def test_a_reload_with_a_wrong_starweb_secret_fails_no_order_and_the_fix_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}) as env:
        ids = await _orders(env)
        secret = env.shop.client_secret
        wrong = "wrong-" + secret
        bad = _reloaded(env, secret, wrong, "reload-wrong.toml")
        observed = Observed()
        deps = ActorDeps(store=env.store, run_id="daemon-1", http=env.http, observer=observed)
        before = _token_requests(env)

        async def held_for_a_while() -> bool:
            if not await _failing(env):
                return False
            await anyio.sleep(1.0)  # the workers wait; they do not try order after order
            return True

        await _run_for(bad, deps, held_for_a_while)

        items = await _nothing_failed(env, ids)
        row = await _row(env)
        assert row is not None and row.state == "failing"
        sentence = row.last_error
        assert "Starweb shop se rejected the credentials (invalid_client" in sentence
        assert "client_secret" in sentence and "fix" in sentence and "reload" in sentence
        assert "none is failed" in sentence
        assert secret not in sentence and wrong not in sentence
        touched = [item for item in items if item.last_error]
        assert touched and all(item.last_error == sentence for item in touched)
        # one token request by the first worker (and one by the poller), not one per order
        assert _token_requests(env) - before <= 3
        assert len(touched) < ORDERS
        assert ("orders", HELD) in observed.outcomes
        assert ("orders", "failed") not in observed.outcomes

        # `brygga status` says it, with the sentence
        assert await status_report(load_state_config(env.config_path), datetime.now(UTC)) == 1
        out = capsys.readouterr().out
        assert "orders failing" in out and "Starweb shop se rejected the credentials" in out
        assert secret not in out and wrong not in out

        # the operator fixes the secret and reloads: the connection starts again and sends
        # every order at once (long before the hold would have ended), each exactly once,
        # with no `brygga errors retry`
        started = time.monotonic()
        await _run_for(env.loaded.connections[0], deps, lambda: _all_done(env, ids))
        assert time.monotonic() - started < 20
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [item.attempts for item in await _items(env, ids)] == [1] * ORDERS
        fixed = await _row(env)
        assert fixed is not None and fixed.state == "ok"


async def test_work_goes_on_by_itself_once_the_shop_accepts_the_credentials_again(
    tmp_path: Path,
) -> None:
    """No reload: the shop's admin rotated the secret, then put the old one back. The held
    work goes on after the hold, by itself, and the hold grows while the refusals go on."""
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}) as env:
        ids = await _orders(env)
        secret = env.shop.client_secret
        env.shop.client_secret = "rotated-in-the-shop-admin"
        env.shop.revoke_tokens()
        deps = QuickDeps(wait=0.2, longest=0.8, store=env.store, run_id="d", http=env.http)
        holds: list[float] = []

        async def refused_a_few_times() -> bool:
            engine = deps.engines_made[-1].engine if deps.engines_made else None
            hold = engine.credentials_refused if engine is not None else None
            if hold is not None:
                length = round((hold.until - hold.since).total_seconds(), 3)
                if not holds or holds[-1] != length:
                    holds.append(length)
            return len(holds) >= 4

        async def back_and_done() -> bool:
            if await refused_a_few_times() and env.shop.client_secret != secret:
                await _nothing_failed(env, ids)
                env.shop.client_secret = secret  # the shop takes the configured secret again
            return await _all_done(env, ids)

        await _run_for(env.loaded.connections[0], deps, back_and_done)
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert [item.attempts for item in await _items(env, ids)] == [1] * ORDERS
        # the hold grew (until - since: 0.2, then about 0.6, 1.4, ... with jitter)
        assert holds == sorted(holds) and holds[-1] > 2 * holds[0], holds
        assert await env.store.items.query(states=[ItemState.FAILED]) == []


async def test_a_revoked_e_conomic_grant_holds_the_orders_until_a_reload_with_the_new_one(
    tmp_path: Path,
) -> None:
    """e-conomic refuses the grant token (401) on the first request of the document's
    transfer, before the document is sent: the order waits, no intent stays behind, and the
    reload with the new grant sends each order once."""
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}) as env:
        ids = await _orders(env)
        old_grant = env.erp.agreement_grant_token
        env.erp.gate.agreement_grant_token = b"granted-anew-by-the-administrator"
        deps = ActorDeps(store=env.store, run_id="daemon-1", http=env.http)
        posts_before = sum(1 for method, _ in env.erp.requests if method == "POST")

        async def held_for_a_while() -> bool:
            if not await _failing(env):
                return False
            await anyio.sleep(0.5)
            return True

        await _run_for(env.loaded.connections[0], deps, held_for_a_while)
        await _nothing_failed(env, ids)
        row = await _row(env)
        assert row is not None
        assert "e-conomic at erp.test rejected the credentials (HTTP 401) while" in row.last_error
        assert "agreement_grant_token" in row.last_error and "[connection.erp]" in row.last_error
        assert old_grant not in row.last_error
        assert sum(1 for method, _ in env.erp.requests if method == "POST") == posts_before

        fixed = _reloaded(env, old_grant, "granted-anew-by-the-administrator", "reload.toml")
        await _run_for(fixed, deps, lambda: _all_done(env, ids))
        assert [env.copies(oid) for oid in ids] == [1] * ORDERS
        assert await env.store.items.query(states=[ItemState.FAILED]) == []


class RefuseDocumentPosts:
    """In front of the e-conomic simulator: while ``on``, a POST of a draft invoice is
    answered 401 (the grant was revoked between the reads and the write) and never reaches
    the simulator."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.on = True
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            self.on
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/invoices/drafts")
        ):
            self.refused += 1
            body = b'{"message":"Unauthorized access (401).","httpStatusCode":401}'
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


async def test_a_401_on_the_document_write_keeps_the_reference_and_sends_once(
    tmp_path: Path,
) -> None:
    """A 401 to the document's POST itself (after the reads): nothing was written, but the
    engine cannot tell that from a refusal after an earlier write of the attempt, so the
    order keeps its ERP reference and is looked up before it is sent again. It is held, not
    failed, and lands once when the remote takes the credentials again."""
    gate: dict[str, RefuseDocumentPosts] = {}

    def routes(shop: Any, erp: Any) -> dict[str, Any]:
        gate["erp"] = RefuseDocumentPosts(erp.app)
        return {"shop.test": shop.app, "erp.test": gate["erp"]}

    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, routes=routes) as env:
        ids = await _orders(env, 2)
        deps = QuickDeps(wait=0.3, longest=0.3, store=env.store, run_id="d", http=env.http)

        async def refused_then_let_through() -> bool:
            if gate["erp"].refused >= 2 and gate["erp"].on:
                failed = await env.store.items.query(states=[ItemState.FAILED])
                assert failed == [], [f.last_error for f in failed]
                held = [i for i in await _items(env, ids) if i.last_error]
                assert held and all("rejected the credentials" in i.last_error for i in held)
                assert all(i.reference for i in held), "the intent was withdrawn"
                gate["erp"].on = False
            return await _all_done(env, ids)

        await _run_for(env.loaded.connections[0], deps, refused_then_let_through)
        assert [env.copies(oid) for oid in ids] == [1, 1]
        assert await env.store.items.query(states=[ItemState.FAILED]) == []


async def test_the_stock_push_to_a_shop_that_rejects_the_credentials_is_held(
    tmp_path: Path,
) -> None:
    """The catalog registers run on the same engine: a stock item for a shop whose secret
    is rejected is held, not failed, and is pushed after the reload with the right one."""
    async with SimulatedConnection.open(
        tmp_path,
        shop_options={"seed": 3},
        erp_options={"inventory_module": True},
        catalog=True,
        connection=STOCK_ONLY,
    ) as env:
        env.erp.set_stock("KAFFE-500", Decimal(42))
        secret = env.shop.client_secret
        bad = _reloaded(env, secret, "wrong-" + secret, "reload-wrong.toml")
        deps = ActorDeps(store=env.store, run_id="daemon-1", http=env.http)

        async def stock_held() -> bool:
            return await _failing(env, "stock")

        await _run_for(bad, deps, stock_held)
        row = await _row(env, "stock")
        assert row is not None and "Starweb shop se rejected the credentials" in row.last_error
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
        stock = [
            i
            for i in await env.store.items.query(connection="demo")
            if i.register == "stock" and "rejected the credentials" in i.last_error
        ]
        assert stock and all(i.attempts == 0 for i in stock)

        async def stock_pushed() -> bool:
            return bool(env.shop.stock("KAFFE-500") == Decimal(42))

        await _run_for(env.loaded.connections[0], deps, stock_pushed)
        assert await env.store.items.query(states=[ItemState.FAILED]) == []


# -- the engine's side, with a handler of its own and a fake clock ------------------------------

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
REFUSED = "Testsys rejected the credentials (invalid_client): fix secret (env:X), then reload"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


@dataclass
class Remote:
    """A handler whose remote refuses the credentials while ``refusing``: before its write
    (``where="before"``), after a write of the same attempt (``"after"``), or wrapped in a
    PermanentError of the handler's own (``"wrapped"``)."""

    refusing: bool = True
    where: str = "before"
    register: str = "things"
    calls: list[str] = field(default_factory=list)

    def intent(self, item: WorkItem) -> str:
        return f"ref-{item.external_id}"

    async def handle(self, item: WorkItem) -> Outcome:
        self.calls.append(item.external_id)
        with before_send():
            if self.refusing and self.where == "before":
                raise CredentialsRejected(REFUSED)
        if self.refusing and self.where == "after":
            raise CredentialsRejected(REFUSED)
        if self.refusing and self.where == "wrapped":
            try:
                raise CredentialsRejected(REFUSED)
            except PermanentError as exc:
                raise PermanentError(f"thing {item.external_id}: could not ({exc})") from None
        return Outcome(state="done", result="sent", health=Health("things", ok=True))


def _engine(store: Store, handler: Remote, clock: FakeClock) -> Engine:
    return Engine(
        connection="c",
        store=store,
        clock=clock,
        run_id="r",
        handlers={"things": handler},
        rng=random.Random(0),
    )


async def _queue(store: Store, *ids: str) -> None:
    await store.items.enqueue_many(
        connection="c",
        register="things",
        instance="shop",
        records=[Discovered(i, True) for i in ids],
        now=NOW,
    )


def _to_hold_end(clock: FakeClock, engine: Engine) -> None:
    hold = engine.holding()
    assert hold is not None
    clock.advance((hold.until - clock.now()).total_seconds())


async def _hold_row(store: Store) -> RegisterStatus | None:
    rows = [r for r in await store.status.all() if (r.connection, r.instance) == ("c", HOLD_ROW)]
    return rows[0] if rows else None


async def test_the_engine_holds_the_work_and_takes_it_up_after_a_growing_hold(
    store: Store,
) -> None:
    clock, remote = FakeClock(NOW), Remote()
    engine = _engine(store, remote, clock)
    await _queue(store, "1", "2", "3")
    assert await engine.drain("things", batch=3) == 3
    assert remote.calls == ["1"], "the batch's other items were tried against a refusing remote"
    items = await store.items.query(connection="c")
    # all three went back as they were claimed: no attempt, no reference, the sentence
    assert {i.state for i in items} == {ItemState.RETRY}
    assert all(i.attempts == 0 and i.reference == "" for i in items)
    assert all(i.last_error.startswith(REFUSED) for i in items)
    hold = engine.holding()
    assert hold is not None and 27 <= (hold.until - NOW).total_seconds() <= 33
    row = await _hold_row(store)
    assert row is not None and row.state == "failing" and row.last_error == hold.error
    assert await engine.drain("things") == 0 and remote.calls == ["1"]  # nothing claimed
    lengths = [(hold.until - NOW).total_seconds()]
    for _ in range(4):
        _to_hold_end(clock, engine)
        started = clock.now()
        assert await engine.drain("things") == 1  # one try per hold, then held again
        hold = engine.holding()
        assert hold is not None
        lengths.append((hold.until - started).total_seconds())
    assert lengths == sorted(lengths) and 270 <= lengths[-1] <= 300, lengths  # up to retry_max
    assert await store.items.query(states=[ItemState.FAILED]) == []
    assert all(i.attempts == 0 for i in await store.items.query(connection="c"))

    remote.refusing = False
    _to_hold_end(clock, engine)
    assert await engine.drain("things", batch=3) == 3
    assert {i.state for i in await store.items.query(connection="c")} == {ItemState.DONE}
    row = await _hold_row(store)
    assert row is not None and row.state == "ok"
    assert engine.credentials_refused is None
    # the next refusal starts again at the first hold (the backoff was reset)
    remote.refusing = True
    await _queue(store, "4")
    await engine.drain("things")
    hold = engine.holding()
    assert hold is not None and (hold.until - clock.now()).total_seconds() <= 33


async def test_a_refusal_after_this_attempt_wrote_keeps_the_reference(store: Store) -> None:
    """The engine cannot tell a refused write from a refusal after an earlier write of the
    same attempt: the intent stays (the next attempt looks it up first), never failed."""
    clock = FakeClock(NOW)
    engine = _engine(store, Remote(where="after"), clock)
    await _queue(store, "1")
    await engine.drain("things")
    item = (await store.items.query(connection="c"))[0]
    assert (item.state, item.reference) == (ItemState.RETRY, "ref-1")
    assert engine.holding() is not None and item.attempts == 1
    # the reference is on record now: further holds give their attempts back
    for _ in range(3):
        _to_hold_end(clock, engine)
        assert await engine.drain("things") == 1
    item = (await store.items.query(connection="c"))[0]
    assert (item.state, item.reference, item.attempts) == (ItemState.RETRY, "ref-1", 1)


async def test_a_refusal_wrapped_in_the_handlers_own_error_is_still_a_hold(store: Store) -> None:
    engine = _engine(store, Remote(where="wrapped"), FakeClock(NOW))
    await _queue(store, "1")
    await engine.drain("things")
    item = (await store.items.query(connection="c"))[0]
    assert (item.state, item.reference) == (ItemState.RETRY, "ref-1")  # raised after the send
    # the connection's sentence (the refusal itself), not the record's wrapping of it
    assert item.last_error.startswith(REFUSED) and engine.holding() is not None
    assert credentials_rejection(PermanentError("plain")) is None
    assert credentials_rejection(TransientError("503")) is None


async def test_a_record_in_doubt_stays_in_doubt_when_the_lookup_is_refused(store: Store) -> None:
    """A write whose outcome is unknown is looked up before anything is sent again; a
    refused lookup changes nothing about that (state, reference and settle time stay)."""
    clock = FakeClock(NOW)
    await _queue(store, "1")
    first = _engine(store, Remote(refusing=False), clock)
    claimed = await first.claim("things")
    assert claimed is not None
    until = NOW + timedelta(seconds=60)
    doubt = Outcome(state="reconcile", error="timed out", next_attempt=NOW, doubt_until=until)
    await store.items.apply(claimed, doubt, NOW)
    engine = _engine(store, Remote(where="before"), clock)
    await engine.drain("things")
    item = (await store.items.query(connection="c"))[0]
    assert (item.state, item.reference, item.doubt_until) == (ItemState.RECONCILE, "ref-1", until)
    assert item.attempts == 1  # the claim that recorded the doubt; the held one gave its back


async def test_a_new_run_clears_the_hold_an_earlier_run_showed(store: Store) -> None:
    """A reload with the right credentials starts a new engine: its first record that works
    clears the health row the old run left failing."""
    clock = FakeClock(NOW)
    await _queue(store, "1")
    await _engine(store, Remote(), clock).drain("things")
    row = await _hold_row(store)
    assert row is not None and row.state == "failing"
    fresh = _engine(store, Remote(refusing=False), clock)
    assert await fresh.drain("things") == 1  # at once: the new run has no hold
    row = await _hold_row(store)
    assert row is not None and row.state == "ok"


class Stopped:
    def is_set(self) -> bool:
        return True


async def test_a_new_run_starts_with_a_clean_board_even_before_a_record_works(
    store: Store,
) -> None:
    """A reload that fixed the credentials on a quiet connection: the old run's hold row is
    not left saying 'failing' until the next order (a refusal would show it again)."""
    clock = FakeClock(NOW)
    await _queue(store, "1")
    await _engine(store, Remote(), clock).drain("things")
    row = await _hold_row(store)
    assert row is not None and row.state == "failing"
    await _engine(store, Remote(), clock).work("things", Stopped())
    row = await _hold_row(store)
    assert row is not None and row.state == "ok"


STATUS_RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
}


async def test_a_status_write_to_a_shop_that_rejects_the_credentials_is_held(
    tmp_path: Path,
) -> None:
    """The status register (ERP event → shop status, with capture) runs on the same engine:
    the write is held, not failed, and after the fix it is made once (one capture)."""
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, status=STATUS_RULES
    ) as env:
        flow = env.flow()
        (order,) = await _orders(env, 1)
        assert await env.drain(flow) == [ItemState.DONE]
        env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
        secret = env.shop.client_secret
        env.shop.client_secret = "rotated-in-the-shop-admin"
        env.shop.revoke_tokens()
        await flow.engine.drain(WATCH, batch=50)
        await flow.engine.drain(STATUS, batch=10)
        held = [i for i in await env.store.items.query(connection="demo") if i.register == STATUS]
        assert held and all(i.state is not ItemState.FAILED for i in held)
        # the refusal came inside the shop write (its token request), after before_send: the
        # engine keeps the intent (the next attempt reads the order first), and that first
        # claim's attempt stays counted; later holds of it spend none
        assert all(i.attempts <= 1 for i in held)
        assert any("Starweb shop se rejected the credentials" in i.last_error for i in held)
        row = await _row(env, STATUS)
        assert row is not None and row.state == "failing"
        assert env.shop.order_status(order) != "completed"

        env.shop.client_secret = secret  # fixed; a reload starts a new run of the connection
        again = env.flow("run-2")
        await again.engine.drain(STATUS, batch=10)
        assert env.shop.order_status(order) == "completed"
        completed = [c for c in env.shop.status_changes(order) if c.status == "completed"]
        assert len(completed) == 1 and completed[0].payment_action == "captured"
        assert await env.store.items.query(states=[ItemState.FAILED]) == []
