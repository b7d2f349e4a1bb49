"""serve_daemon end to end: endpoint, supervisor, notify, reload and stop, in-process."""

from __future__ import annotations

import os
import random
import signal
import socket
import uuid
from collections.abc import Iterator, Sequence
from functools import partial

import anyio
import httpx
import pytest
from rt_support import FakeTarget

from brygga.clock import SystemClock
from brygga.errors import ConfigError
from brygga.metrics import Metrics
from brygga.runtime.daemon import DaemonControl, serve_daemon
from brygga.runtime.notify import SystemdNotifier
from brygga.runtime.supervisor import StopToken

pytestmark = pytest.mark.anyio


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, SystemdNotifier]]:
    name = f"brygga-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    try:
        yield sock, SystemdNotifier(env={"NOTIFY_SOCKET": "@" + name})
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


class FakeConnections:
    """A runner that records starts and graceful stops, plus a config that can change."""

    def __init__(self, targets: Sequence[FakeTarget]) -> None:
        self.config: list[FakeTarget] | ConfigError = list(targets)
        self.started: list[tuple[str, str]] = []
        self.finished: list[tuple[str, str]] = []
        self.running: dict[str, anyio.Event] = {}

    def event(self, key: str) -> anyio.Event:
        return self.running.setdefault(key, anyio.Event())

    async def runner(self, target: FakeTarget, token: StopToken) -> None:
        key = f"{target.name}@{target.fingerprint}"
        self.started.append((target.name, target.fingerprint))
        self.event(key).set()
        await token.wait()
        await anyio.lowlevel.checkpoint()  # finish the in-flight item
        self.finished.append((target.name, target.fingerprint))

    def reload_targets(self) -> Sequence[FakeTarget]:
        if isinstance(self.config, ConfigError):
            raise self.config
        return self.config


async def test_serve_daemon_runs_reloads_and_stops(
    notify_socket: tuple[socket.socket, SystemdNotifier],
) -> None:
    sock, notifier = notify_socket
    conns = FakeConnections([FakeTarget("a"), FakeTarget("b")])
    metrics = Metrics()
    extra_ready = {"store": True}
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            control: DaemonControl[FakeTarget] = await tg.start(
                partial(
                    serve_daemon,
                    targets=conns.config,
                    runner=conns.runner,
                    clock=SystemClock(),
                    rng=random.Random(),
                    metrics=metrics,
                    listen="127.0.0.1:0",
                    shutdown_deadline=10.0,
                    reload_targets=conns.reload_targets,
                    ready_checks=lambda: extra_ready,
                    notifier=notifier,
                    handle_os_signals=False,
                )
            )
            await conns.event("a@v1").wait()
            await conns.event("b@v1").wait()
            assert received(sock) == [
                "READY=1",
                f"STATUS=2/2 connections running; http on port {control.port}",
            ]
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control.port}") as client:
                ready = await client.get("/readyz")
                extra_ready["store"] = False
                not_ready = await client.get("/readyz")
                extra_ready["store"] = True
                scraped = await client.get("/metrics")

                # a broken config keeps the old one running
                conns.config = ConfigError("brygga.toml: connection[1].erp: unknown kind")
                assert await control.reload() is None
                assert received(sock)[0].startswith("RELOADING=1\nMONOTONIC_USEC=")

                conns.config = [FakeTarget("a"), FakeTarget("b", "v2"), FakeTarget("c")]
                result = await control.reload()
                assert result is not None
                assert (result.restarted, result.started, result.unchanged) == (
                    ("b",),
                    ("c",),
                    ("a",),
                )
                await conns.event("b@v2").wait()
                await conns.event("c@v1").wait()
                messages = received(sock)
                assert messages[0].startswith("RELOADING=1")
                assert messages[1] == "READY=1"

                control.request_stop()
    assert received(sock)[:2] == ["STOPPING=1", "STATUS=stopping: finishing in-flight work"]

    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"daemon", "connection:a", "connection:b", "store"}
    assert not_ready.status_code == 503 and not_ready.json()["not_ready"] == ["store"]
    assert 'brygga_connection_up{connection="a"} 1.0' in scraped.text
    # every runner was asked to stop and finished its in-flight work
    assert sorted(conns.started) == [("a", "v1"), ("b", "v1"), ("b", "v2"), ("c", "v1")]
    assert sorted(conns.finished) == sorted(conns.started)
    assert control.stop_requested
    assert await control.reload() is None
    with pytest.raises(OSError):
        await anyio.connect_tcp("127.0.0.1", control.port or 0)


async def test_serve_daemon_obeys_sighup_and_sigterm(
    notify_socket: tuple[socket.socket, SystemdNotifier],
) -> None:
    sock, notifier = notify_socket
    conns = FakeConnections([FakeTarget("a")])
    control: DaemonControl[FakeTarget] = DaemonControl()
    done = anyio.Event()

    async def daemon() -> None:
        await serve_daemon(
            targets=conns.config,
            runner=conns.runner,
            clock=SystemClock(),
            rng=random.Random(),
            metrics=Metrics(),
            listen="127.0.0.1:0",
            shutdown_deadline=10.0,
            reload_targets=conns.reload_targets,
            notifier=notifier,
            control=control,
        )
        done.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(daemon)
            await control.wait_started()  # the signal handlers are installed
            await conns.event("a@v1").wait()
            conns.config = [FakeTarget("a", "v2")]
            os.kill(os.getpid(), signal.SIGHUP)
            await conns.event("a@v2").wait()
            os.kill(os.getpid(), signal.SIGTERM)
            await done.wait()
    assert conns.finished == [("a", "v1"), ("a", "v2")]
    assert "STOPPING=1" in received(sock)
