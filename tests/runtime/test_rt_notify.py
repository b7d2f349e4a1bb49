"""systemd notify over a real datagram socket; watchdog interval and loop."""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from rt_support import ManualClock

from brygga.runtime.notify import SystemdNotifier, run_watchdog


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """An abstract-namespace datagram socket and the NOTIFY_SOCKET value that reaches it."""
    name = f"brygga-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    try:
        yield sock, "@" + name
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_messages_reach_an_abstract_socket(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": address})
    assert notifier.enabled
    assert notifier.ready()
    assert notifier.status("2/2 connections running\nINJECTED=1")
    assert notifier.watchdog()
    assert notifier.stopping()
    assert notifier.extend_timeout(1.5)
    notifier.close()
    assert received(sock) == [
        "READY=1",
        "STATUS=2/2 connections running INJECTED=1",
        "WATCHDOG=1",
        "STOPPING=1",
        "EXTEND_TIMEOUT_USEC=1500000",
    ]


def test_reloading_sends_monotonic_usec(listener: tuple[socket.socket, str]) -> None:
    sock, address = listener
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": address})
    notifier.reloading()
    notifier.close()
    [message] = received(sock)
    match = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)", message)
    assert match is not None
    assert int(match[1]) > 0


def test_messages_reach_a_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        notifier = SystemdNotifier(env={"NOTIFY_SOCKET": str(path)})
        notifier.ready()
        notifier.close()
        assert received(sock) == ["READY=1"]


def test_environment_is_read_by_default(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    notifier = SystemdNotifier()
    notifier.stopping()
    notifier.close()
    assert received(sock) == ["STOPPING=1"]


def test_no_socket_means_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    for notifier in (SystemdNotifier(), SystemdNotifier(env={})):
        assert not notifier.enabled
        assert not notifier.ready()
        assert not notifier.status("x")
        assert not notifier.watchdog()
        assert not notifier.stopping()
        notifier.close()


def test_unsupported_address_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert not notifier.ready()
    assert "neither a path nor @abstract" in caplog.text


def test_a_vanished_socket_does_not_raise_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": str(tmp_path / "missing.sock")})
    assert not notifier.ready()
    assert not notifier.watchdog()
    notifier.close()
    warnings = [r for r in caplog.records if "systemd notify failed" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}, 1.5),
        ({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "nope"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert SystemdNotifier(env=env).watchdog_interval() == expected


@pytest.mark.anyio
async def test_run_watchdog_pings_every_half_interval(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "8000000"})
    clock = ManualClock()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_watchdog, notifier, clock)
            await clock.wait_sleeping(4.0)
            assert received(sock) == ["WATCHDOG=1"]
            clock.advance(4.0)
            await clock.wait_sleeping(4.0)
            assert received(sock) == ["WATCHDOG=1"]
            tg.cancel_scope.cancel()
    notifier.close()
    assert set(clock.requested) == {4.0}


@pytest.mark.anyio
async def test_run_watchdog_returns_without_a_watchdog(
    listener: tuple[socket.socket, str],
) -> None:
    sock, address = listener
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": address})
    with anyio.fail_after(10):
        await run_watchdog(notifier, ManualClock())
    assert received(sock) == []
