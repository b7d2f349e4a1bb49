"""Serve an ASGI app with hypercorn on the running anyio backend, on a socket bound by us."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

from brygga.errors import ConfigError

__all__ = ["DEFAULT_HOST", "bind_socket", "parse_listen", "serve_http"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (host 127.0.0.1) into ``(host, port)``."""
    host, sep, port_text = listen.strip().rpartition(":")
    if not sep:
        raise ConfigError(f"listen address {listen!r} is not host:port (e.g. 127.0.0.1:9464)")
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"listen address {listen!r}: the port must be a number 0-65535")
    return host, port


def bind_socket(host: str, port: int, *, backlog: int = 100) -> socket.socket:
    """A listening, non-blocking TCP socket (port 0 picks a free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(f"listen address {host}:{port}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _current_backend() -> str:
    try:
        import sniffio
    except ImportError:  # trio needs sniffio, so without it we run on asyncio
        return "asyncio"
    return sniffio.current_async_library()


async def _hypercorn(app: Any, config: Config, sock: socket.socket, trigger: Any) -> None:
    # hypercorn's public ``serve`` binds its own sockets and, on asyncio, cannot report the
    # port it got; its ``worker_serve`` (what ``serve`` calls) takes ready sockets.
    sockets = Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    if _current_backend() == "trio":
        from hypercorn.trio.run import worker_serve as trio_serve

        await trio_serve(wrapped, config, sockets=sockets, shutdown_trigger=trigger)
    else:
        from hypercorn.asyncio.run import worker_serve as asyncio_serve

        await asyncio_serve(wrapped, config, sockets=sockets, shutdown_trigger=trigger)


async def serve_http(
    app: Any,
    listen: str,
    *,
    shutdown_trigger: Callable[[], Awaitable[object]],
    graceful_timeout: float = 5.0,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``listen`` until ``shutdown_trigger()`` returns, then shut down
    gracefully (in-flight requests get ``graceful_timeout`` seconds) and return.

    Reports the bound port through ``task_status`` once the socket listens, so
    ``port = await tg.start(partial(serve_http, app, "127.0.0.1:0", shutdown_trigger=...))``
    works. Cancelling the caller also shuts the server down gracefully. No access log.
    """
    host, port = parse_listen(listen)
    sock = bind_socket(host, port)
    config = Config()
    config.accesslog = None
    config.errorlog = logging.getLogger("brygga.http.hypercorn")
    config.graceful_timeout = graceful_timeout
    stop = anyio.Event()
    try:
        async with anyio.create_task_group() as tg:

            async def watch_trigger() -> None:
                try:
                    await shutdown_trigger()
                finally:
                    stop.set()

            tg.start_soon(watch_trigger)
            bound = sock.getsockname()[1]
            log.info("HTTP endpoint listening on %s:%d", host, bound)
            task_status.started(bound)
            # Shielded so a cancelled caller still gets a clean shutdown: cancellation sets
            # ``stop`` (watch_trigger's finally) and hypercorn finishes within graceful_timeout.
            with anyio.CancelScope(shield=True):
                await _hypercorn(app, config, sock, stop.wait)
            tg.cancel_scope.cancel()
    finally:
        sock.close()
