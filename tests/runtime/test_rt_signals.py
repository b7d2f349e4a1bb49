"""Signal handling with real signals sent to this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from functools import partial

import anyio
import pytest

from brygga.runtime.signals import handle_signals


class Recorder:
    def __init__(self) -> None:
        self.stops = 0
        self.reloads = 0
        self.forced = 0
        self.changed = anyio.Event()

    def _bump(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    def on_stop(self) -> None:
        self.stops += 1
        self._bump()

    def on_force(self) -> None:
        self.forced += 1
        self._bump()

    async def on_reload(self) -> None:
        self.reloads += 1
        self._bump()
        if self.reloads == 1:
            raise RuntimeError("first reload breaks")

    async def send(self, signum: int) -> None:
        """Send a signal to ourselves and wait until the handler did something."""
        changed = self.changed
        os.kill(os.getpid(), signum)
        await changed.wait()


@pytest.mark.anyio
async def test_sighup_reloads_sigterm_stops_second_sigint_forces(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(
                partial(handle_signals, rec.on_stop, rec.on_reload, on_force=rec.on_force)
            )
            await rec.send(signal.SIGHUP)  # raises inside: logged, handler keeps going
            await rec.send(signal.SIGHUP)
            assert rec.reloads == 2
            await rec.send(signal.SIGTERM)
            assert (rec.stops, rec.forced) == (1, 0)
            await rec.send(signal.SIGINT)
            assert (rec.stops, rec.forced) == (1, 1)
            tg.cancel_scope.cancel()
    assert "reload failed; the daemon keeps running" in caplog.text


@pytest.mark.anyio
async def test_repeated_sigterm_and_sighup_while_stopping_are_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="brygga.runtime.signals")
    rec = Recorder()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(
                partial(handle_signals, rec.on_stop, rec.on_reload, on_force=rec.on_force)
            )
            await rec.send(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGHUP)
            # a final SIGINT proves the two before it were received (and ignored)
            await rec.send(signal.SIGINT)
            tg.cancel_scope.cancel()
    assert (rec.stops, rec.reloads, rec.forced) == (1, 0, 1)
    assert "SIGTERM ignored" in caplog.text
    assert "SIGHUP ignored" in caplog.text


CHILD = textwrap.dedent(
    """
    import anyio
    from brygga.runtime.signals import handle_signals

    async def main() -> None:
        async def on_reload() -> None:
            pass

        async with anyio.create_task_group() as tg:
            await tg.start(handle_signals, lambda: print("stopping", flush=True), on_reload)
            print("ready", flush=True)
            await anyio.sleep_forever()  # an uncooperative daemon: only a forced exit ends it

    anyio.run(main)
    """
)


@pytest.mark.subprocess
def test_second_sigint_forces_exit_130() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "stopping\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.anyio
async def test_sigterm_during_a_slow_reload_stops_at_once() -> None:
    reload_started = anyio.Event()
    stopped = anyio.Event()
    never = anyio.Event()

    async def on_reload() -> None:
        reload_started.set()
        await never.wait()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(handle_signals, stopped.set, on_reload)
            os.kill(os.getpid(), signal.SIGHUP)
            await reload_started.wait()
            os.kill(os.getpid(), signal.SIGTERM)
            await stopped.wait()
            tg.cancel_scope.cancel()
    assert not never.is_set()
