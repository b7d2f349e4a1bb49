"""A real `brygga run` process to start, signal and kill, its config file, and loopback servers."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.abc import Process, TaskStatus

from brygga.http.server import serve_http

__all__ = [
    "DaemonProcess",
    "free_port",
    "serve_asgi",
    "toml_config",
    "write_config",
]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def toml_config(
    *,
    state: str,
    erp: Mapping[str, Any],
    shops: Sequence[Mapping[str, Any]],
    name: str = "demo",
    listen: str = "127.0.0.1:0",
    daemon: Mapping[str, Any] | None = None,
    connection: Mapping[str, Any] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """A config file for one connection (the demo's and the end-to-end tests')."""
    lines = ["[daemon]", f"state = {_value(state)}", f"listen = {_value(listen)}"]
    lines += [f"{k} = {_value(v)}" for k, v in (daemon or {}).items()]
    lines += ["", "[[connection]]", f"name = {_value(name)}", f"erp = {_value(erp)}"]
    lines.append("shops = [" + ", ".join(_value(shop) for shop in shops) + "]")
    lines += [f"{k} = {_value(v)}" for k, v in (connection or {}).items()]
    for section, values in (sections or {}).items():
        lines += ["", f"[connection.{section}]"]
        lines += [f"{k} = {_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, **kwargs: Any) -> Path:
    path.write_text(toml_config(**kwargs), encoding="utf-8")
    return path


def free_port() -> int:
    """A loopback port that was free a moment ago (for a daemon's ``listen``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_asgi(app: Any, stop: anyio.Event, *, task_status: TaskStatus[int]) -> None:
    """Serve a simulator on a free loopback port (reported via ``task_status``) until ``stop``."""
    await serve_http(app, "127.0.0.1:0", shutdown_trigger=stop.wait, task_status=task_status)


class DaemonProcess:
    """One real `brygga run -c CONFIG` process, its output appended to ``log``."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config = config
        self.port = port
        self.log = log
        self.process: Process | None = None

    async def start(self, ready_within: float = 60) -> None:
        """Start it and wait until ``/readyz`` answers 200."""
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["PYTHONUNBUFFERED"] = "1"
        with self.log.open("ab") as out:
            self.process = await anyio.open_process(
                [sys.executable, "-m", "brygga", "run", "-c", str(self.config)],
                stdin=None,
                stdout=out,
                stderr=out,
                env=env,
            )
        await self.wait_ready(ready_within)

    async def wait_ready(self, seconds: float) -> None:
        async with httpx.AsyncClient() as client:
            with anyio.fail_after(seconds):
                while True:
                    if self.process is None or self.process.returncode is not None:
                        raise RuntimeError(f"the daemon exited early; see {self.log}")
                    try:
                        answer = await client.get(f"http://127.0.0.1:{self.port}/readyz")
                        if answer.status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.1)

    def signal(self, signum: int) -> None:
        assert self.process is not None, "not started"
        self.process.send_signal(signal.Signals(signum))

    async def wait(self, seconds: float = 30) -> int:
        assert self.process is not None, "not started"
        with anyio.fail_after(seconds):
            return await self.process.wait()

    async def terminate(self, seconds: float = 60) -> int:
        """SIGTERM, then the exit status (0 for a graceful stop)."""
        self.signal(signal.SIGTERM)
        return await self.wait(seconds)

    async def kill(self) -> None:
        """SIGKILL: no chance to clean up, as after a power cut."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self.process is not None:
            await self.process.aclose()

    async def close(self) -> None:
        await self.kill()
