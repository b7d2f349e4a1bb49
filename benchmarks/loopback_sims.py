"""The simulators of an in-process test connection served from a forked child over loopback HTTP.

``SimulatedConnection`` (both the current ``brygga.testing`` one and the baseline's
``brygga.simulated``) calls its simulators in-process, through one ``httpx.ASGITransport`` per
simulated host, so a benchmark's figures include the vendors' own work (routing, validation,
JSON) on the daemon's event loop. In production the vendor's server runs elsewhere. This module
moves the simulators out of the process under test without touching brygga:

1. :meth:`LoopbackSimulators.recording` records every ``httpx.ASGITransport`` built while the
   connection is set up (wrapping ``__init__``; nothing else changes).
2. :meth:`LoopbackSimulators.fork` binds one loopback socket per recorded app, forks, and the
   child serves each app with hypercorn on its socket (its own asyncio loop, the state as it was
   at the fork: the orders already placed). The child's simulators are the only ones that answer
   from then on.
3. In the parent, each recorded transport forwards its requests to its socket through one
   shared ``httpx.AsyncHTTPTransport`` (real HTTP/1.1 on loopback, keep-alive), with the URL's
   host and port replaced and the ``Host`` header kept, so the apps see what they saw before.
4. :meth:`LoopbackSimulators.finish` tells the child to stop and returns what ``report`` (a
   function evaluated in the child after its servers stopped) returned, as JSON.

POSIX only (``os.fork``); the child never touches the parent's store or event loop and leaves
with ``os._exit``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx

__all__ = ["LoopbackSimulators"]


class LoopbackSimulators:
    """Record the ASGI transports of a test connection, then serve their apps from a child."""

    def __init__(self) -> None:
        self._transports: list[httpx.ASGITransport] = []
        self._ports: dict[int, int] = {}  # id(transport) -> loopback port
        self._pid = 0
        self._stop_w = -1
        self._report_r = -1
        self._forward: httpx.AsyncHTTPTransport | None = None
        self._real_handle: Any = None

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Record every ``httpx.ASGITransport`` built inside the block."""
        real_init = httpx.ASGITransport.__init__
        transports = self._transports

        def init(transport: httpx.ASGITransport, *args: Any, **kwargs: Any) -> None:
            real_init(transport, *args, **kwargs)
            transports.append(transport)

        httpx.ASGITransport.__init__ = init  # type: ignore[method-assign]
        try:
            yield
        finally:
            httpx.ASGITransport.__init__ = real_init  # type: ignore[method-assign]

    def fork(self, report: Callable[[], Any]) -> None:
        """Serve every recorded app from a forked child; route the parent's requests there."""
        if not self._transports:
            raise RuntimeError("no ASGI transport was recorded: nothing to serve")
        sockets = []
        for transport in self._transports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted ones inherit it
            sock.bind(("127.0.0.1", 0))
            sock.listen(256)
            sock.setblocking(False)
            sockets.append(sock)
            self._ports[id(transport)] = sock.getsockname()[1]
        stop_r, stop_w = os.pipe()
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: serve until told to stop, answer the report, leave
            code = 1
            try:
                os.close(stop_w)
                os.close(report_r)
                apps = [transport.app for transport in self._transports]
                _serve(apps, sockets, stop_r)
                payload = json.dumps(report()).encode()
                view = memoryview(payload)
                while view:
                    view = view[os.write(report_w, view) :]
                code = 0
            finally:
                os._exit(code)
        for sock in sockets:
            sock.close()
        os.close(stop_r)
        os.close(report_w)
        self._pid, self._stop_w, self._report_r = pid, stop_w, report_r
        self._forward = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
            # no Nagle: a request's head and body are separate writes (40 ms delayed ACKs)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self._route()

    def _route(self) -> None:
        ports, forward = self._ports, self._forward
        assert forward is not None
        real_handle = httpx.ASGITransport.handle_async_request
        self._real_handle = real_handle

        async def handle(transport: httpx.ASGITransport, request: httpx.Request) -> httpx.Response:
            port = ports.get(id(transport))
            if port is None:
                return await real_handle(transport, request)
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
            return await forward.handle_async_request(request)

        httpx.ASGITransport.handle_async_request = handle  # type: ignore[method-assign]

    async def finish(self) -> Any:
        """Stop the child's servers; what ``report`` returned in the child (JSON)."""
        httpx.ASGITransport.handle_async_request = self._real_handle  # type: ignore[method-assign]
        if self._forward is not None:
            await self._forward.aclose()
        os.write(self._stop_w, b"x")
        os.close(self._stop_w)
        return await anyio.to_thread.run_sync(self._collect)

    def _collect(self) -> Any:
        """Read the child's report to its end and reap the child (blocking: in a thread)."""
        chunks = []
        while chunk := os.read(self._report_r, 1 << 16):
            chunks.append(chunk)
        os.close(self._report_r)
        _, status = os.waitpid(self._pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not chunks:
            raise RuntimeError(f"the simulators' child failed (status {status})")
        return json.loads(b"".join(chunks))


def _serve(apps: list[Any], sockets: list[socket.socket], stop_fd: int) -> None:
    """In the child: serve each app on its socket with hypercorn until ``stop_fd`` is readable."""
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.config import Config, Sockets
    from hypercorn.utils import wrap_app

    asyncio.events._set_running_loop(None)  # the parent's loop, copied by fork: not ours
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        stop = asyncio.Event()
        loop.add_reader(stop_fd, stop.set)
        config = Config()
        config.accesslog = None
        config.errorlog = None
        config.keep_alive_timeout = 600
        await asyncio.gather(
            *(
                worker_serve(
                    wrap_app(app, config.wsgi_max_body_size, "asgi"),
                    config,
                    sockets=Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[]),
                    shutdown_trigger=stop.wait,
                )
                for app, sock in zip(apps, sockets, strict=True)
            )
        )

    loop.run_until_complete(main())
