"""serve_daemon's clock is the supervisor's: a FakeClock makes restart backoff instant."""

from __future__ import annotations

import random
from functools import partial

import anyio
import pytest
from rt_support import FakeTarget

from brygga.clock import FakeClock
from brygga.metrics import Metrics
from brygga.runtime.daemon import DaemonControl, serve_daemon
from brygga.runtime.notify import SystemdNotifier
from brygga.runtime.supervisor import StopToken

pytestmark = pytest.mark.anyio


async def test_restart_backoff_waits_on_the_daemons_clock() -> None:
    clock = FakeClock()
    starts: list[float] = []
    restarted = anyio.Event()

    async def runner(target: FakeTarget, token: StopToken) -> None:
        starts.append(clock.monotonic())
        if len(starts) == 1:
            raise RuntimeError("the first start fails")
        restarted.set()
        await token.wait()

    # ten minutes of backoff would outlast the test's limit on any clock but the fake one
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            control: DaemonControl[FakeTarget] = await tasks.start(
                partial(
                    serve_daemon,
                    targets=[FakeTarget("a")],
                    runner=runner,
                    metrics=Metrics(),
                    listen="127.0.0.1:0",
                    shutdown_deadline=5.0,
                    reload_targets=lambda: [FakeTarget("a")],
                    notifier=SystemdNotifier(env={}),
                    handle_os_signals=False,
                    restart_backoff=600.0,
                    restart_backoff_max=600.0,
                    clock=clock,
                    rng=random.Random(0),
                )
            )
            await restarted.wait()
            control.request_stop()
    assert len(starts) == 2
    assert starts[1] - starts[0] >= 600.0 * 0.9  # the backoff (less its jitter), on the fake clock
