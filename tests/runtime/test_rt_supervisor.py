"""Supervisor: restarts with backoff, log once, metrics, reload by fingerprint, graceful stop."""

from __future__ import annotations

import logging
import random
from collections import Counter

import anyio
import pytest
from rt_support import FakeTarget, ManualClock

from brygga.metrics import Metrics
from brygga.runtime.supervisor import StopToken, Supervisor, describe_error

pytestmark = pytest.mark.anyio

SUPERVISOR_LOG = "brygga.runtime.supervisor"


def make_supervisor(
    runner, targets, clock: ManualClock, metrics: Metrics | None = None, **kwargs
) -> Supervisor[FakeTarget]:
    options = {
        "backoff_initial": 1.0,
        "backoff_max": 4.0,
        "backoff_jitter": 0.0,
        "stable_after": 1000.0,
        "clock": clock,
        "rng": random.Random(0),
        "metrics": metrics,
    }
    options.update(kwargs)
    return Supervisor(runner, targets, **options)


def up(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value("brygga_connection_up", {"connection": name})


def restarts(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(
        "brygga_connection_restarts_total", {"connection": name}
    )


def records(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == SUPERVISOR_LOG and r.levelno == level and text in r.getMessage()
    ]


async def test_crashing_runner_restarts_with_backoff_and_sibling_is_untouched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=SUPERVISOR_LOG)
    clock, metrics = ManualClock(), Metrics()
    calls: Counter[str] = Counter()
    good_running = anyio.Event()

    async def runner(target: FakeTarget, token: StopToken) -> None:
        calls[target.name] += 1
        if target.name == "bad":
            raise RuntimeError("shop said no")
        good_running.set()
        await token.wait()

    sup = make_supervisor(runner, [FakeTarget("good"), FakeTarget("bad")], clock, metrics)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await good_running.wait()
            for attempt, delay in enumerate((1.0, 2.0, 4.0, 4.0), start=1):
                await clock.wait_sleeping(delay)
                assert calls["bad"] == attempt
                assert up(metrics, "bad") == 0
                assert restarts(metrics, "bad") == attempt
                assert not sup.started("bad")
                assert not sup.all_started()
                assert sup.ready_checks() == {"connection:good": True, "connection:bad": False}
                clock.advance(delay)
            await clock.wait_sleeping(4.0)
            assert up(metrics, "good") == 1
            status = sup.statuses()["bad"]
            assert status.failing and status.restarts == 5
            assert status.last_error == "RuntimeError: shop said no"
            await sup.stop(5)

    assert calls["good"] == 1  # the sibling was never restarted
    assert restarts(metrics, "good") == 0
    assert len(records(caplog, logging.ERROR, "connection bad failed")) == 1
    assert len(records(caplog, logging.DEBUG, "connection bad failed again")) == 4
    assert records(caplog, logging.ERROR, "connection good") == []


async def test_recovery_is_logged_once_and_resets_the_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=SUPERVISOR_LOG)
    clock = ManualClock()
    calls = 0
    healthy_run = anyio.Event()
    fail_now = anyio.Event()
    fourth_run = anyio.Event()

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1
        if calls in (1, 2):
            raise RuntimeError(f"failure {calls}")
        if calls == 3:
            healthy_run.set()
            await fail_now.wait()
            raise RuntimeError("failure after recovery")
        fourth_run.set()
        await token.wait()

    sup = make_supervisor(runner, [FakeTarget("c")], clock, stable_after=30.0)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await clock.wait_sleeping(1.0)
            clock.advance(1.0)
            await clock.wait_sleeping(2.0)
            clock.advance(2.0)
            await healthy_run.wait()
            await clock.wait_sleeping(30.0)
            clock.advance(30.0)  # the third run stayed up: recovered
            while sup.statuses()["c"].failing:
                await anyio.lowlevel.checkpoint()
            fail_now.set()
            # the backoff started over: 1 s, not 4 s
            await clock.wait_sleeping(1.0)
            assert 4.0 not in clock.pending()
            clock.advance(1.0)
            await fourth_run.wait()
            await sup.stop(5)

    assert calls == 4
    assert len(records(caplog, logging.INFO, "connection c recovered after 2 restart(s)")) == 1
    assert len(records(caplog, logging.ERROR, "connection c failed")) == 2


async def test_a_stable_run_counts_as_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SUPERVISOR_LOG)
    clock = ManualClock()
    calls = 0
    fail_now = anyio.Event()
    running = anyio.Event()

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first")
        if calls == 2:
            running.set()
            await fail_now.wait()
            raise RuntimeError("second")
        await token.wait()

    sup = make_supervisor(runner, [FakeTarget("c")], clock, stable_after=30.0)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await clock.wait_sleeping(1.0)
            clock.advance(1.0)
            await running.wait()
            await clock.wait_sleeping(30.0)
            assert sup.statuses()["c"].failing
            clock.advance(30.0)
            while sup.statuses()["c"].failing:
                await anyio.lowlevel.checkpoint()
            fail_now.set()
            await clock.wait_sleeping(1.0)  # reset: 1 s again instead of 2 s
            clock.advance(1.0)
            await sup.stop(5)
    assert len(records(caplog, logging.INFO, "recovered")) == 1


async def test_a_runner_that_returns_is_not_restarted(caplog: pytest.LogCaptureFixture) -> None:
    clock, metrics = ManualClock(), Metrics()
    calls = 0

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1

    sup = make_supervisor(runner, [FakeTarget("once")], clock, metrics)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            while not sup.statuses()["once"].stopped:
                await anyio.lowlevel.checkpoint()
            status = sup.statuses()["once"]
            assert not status.started and not status.failing and status.restarts == 0
            assert up(metrics, "once") == 0
            assert not sup.all_started()
            await sup.stop(5)
    assert calls == 1
    assert records(caplog, logging.WARNING, "stays stopped until a reload")


async def test_reload_starts_stops_and_restarts_only_what_changed() -> None:
    clock, metrics = ManualClock(), Metrics()
    started: list[tuple[str, str]] = []
    stopped: list[tuple[str, str]] = []
    running: dict[str, anyio.Event] = {}

    async def runner(target: FakeTarget, token: StopToken) -> None:
        started.append((target.name, target.fingerprint))
        running.setdefault(f"{target.name}@{target.fingerprint}", anyio.Event()).set()
        await token.wait()
        stopped.append((target.name, target.fingerprint))

    async def wait_running(*keys: str) -> None:
        for key in keys:
            await running.setdefault(key, anyio.Event()).wait()

    first = [FakeTarget("a"), FakeTarget("b"), FakeTarget("c")]
    sup = make_supervisor(runner, first, clock, metrics)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await wait_running("a@v1", "b@v1", "c@v1")
            result = await sup.reload([FakeTarget("a"), FakeTarget("b", "v2"), FakeTarget("d")])
            await wait_running("b@v2", "d@v1")
            assert result.started == ("d",)
            assert result.stopped == ("c",)
            assert result.restarted == ("b",)
            assert result.unchanged == ("a",)
            assert sorted(stopped) == [("b", "v1"), ("c", "v1")]
            assert sorted(sup.statuses()) == ["a", "b", "d"]
            assert sup.statuses()["b"].fingerprint == "v2"
            assert up(metrics, "c") is None  # the removed connection's series are gone
            assert sup.all_started()

            nothing = await sup.reload([FakeTarget("a"), FakeTarget("b", "v2"), FakeTarget("d")])
            assert nothing.started == nothing.stopped == nothing.restarted == ()
            await sup.stop(5)

    assert sorted(started) == [("a", "v1"), ("b", "v1"), ("b", "v2"), ("c", "v1"), ("d", "v1")]
    assert started.count(("a", "v1")) == 1


async def test_reload_starts_a_connection_that_had_stopped_again() -> None:
    clock = ManualClock()
    calls = 0

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1

    sup = make_supervisor(runner, [FakeTarget("x")], clock)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            while not sup.statuses()["x"].stopped:
                await anyio.lowlevel.checkpoint()
            result = await sup.reload([FakeTarget("x")])
            assert result.restarted == ("x",)
            while calls < 2:
                await anyio.lowlevel.checkpoint()
            await sup.stop(5)


async def test_reload_rejects_duplicate_names() -> None:
    async def runner(target: FakeTarget, token: StopToken) -> None:
        pass

    sup = make_supervisor(runner, [], ManualClock())
    with pytest.raises(ValueError, match="two connections are named 'a'"):
        await sup.reload([FakeTarget("a"), FakeTarget("a", "v2")])


async def test_stop_lets_cooperative_runners_finish_and_cancels_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    finished_in_flight = anyio.Event()
    stubborn_running = anyio.Event()
    stubborn_cancelled = False
    polite_running = anyio.Event()

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal stubborn_cancelled
        if target.name == "polite":
            polite_running.set()
            await token.wait()
            await anyio.lowlevel.checkpoint()  # "finish the in-flight item"
            finished_in_flight.set()
            return
        stubborn_running.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            stubborn_cancelled = True
            raise

    sup = make_supervisor(runner, [FakeTarget("polite"), FakeTarget("stubborn")], clock)
    stop_done = anyio.Event()

    async def stop() -> None:
        await sup.stop(deadline=7.0)
        stop_done.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await polite_running.wait()
            await stubborn_running.wait()
            tg.start_soon(stop)
            await clock.wait_sleeping(7.0)
            await finished_in_flight.wait()
            assert not stubborn_cancelled and not stop_done.is_set()
            clock.advance(7.0)
            await stop_done.wait()
    assert stubborn_cancelled
    assert all(s.stopped and not s.started for s in sup.statuses().values())
    assert records(caplog, logging.WARNING, "connection stubborn did not stop within 7.0 s")
    assert not records(caplog, logging.WARNING, "connection polite did not stop")


async def test_stop_interrupts_a_restart_backoff() -> None:
    clock = ManualClock()
    calls = 0

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("down")

    sup = make_supervisor(runner, [FakeTarget("x")], clock, backoff_initial=50, backoff_max=50)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await clock.wait_sleeping(50.0)
            await sup.stop(5)  # returns without anyone advancing the clock
    assert calls == 1
    assert sup.statuses()["x"].stopped


async def test_stop_before_run_starts_nothing() -> None:
    calls = 0

    async def runner(target: FakeTarget, token: StopToken) -> None:
        nonlocal calls
        calls += 1

    sup = make_supervisor(runner, [FakeTarget("x")], ManualClock())
    await sup.stop(1)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
    assert calls == 0


def test_describe_error_unwraps_groups() -> None:
    group = ExceptionGroup("many", [ValueError("inner problem"), KeyError("k")])
    assert describe_error(group) == "ValueError: inner problem"
    assert describe_error(RuntimeError()) == "RuntimeError"
