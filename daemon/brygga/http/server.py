"""Serve an ASGI app with hypercorn on the running anyio backend, on a socket bound by us."""

from __future__ import annotations

import errno
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus
from hypercorn.config import Config, Sockets
from hypercorn.logging import Logger
from hypercorn.utils import wrap_app

from brygga.errors import ConfigError

__all__ = ["DEFAULT_HOST", "ListenError", "bind_socket", "parse_listen", "serve_http"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


#: a DNS host name: dot-separated labels of letters, digits and inner hyphens
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_LISTEN_EXAMPLE = "e.g. 127.0.0.1:9464, [::1]:9464 or :9464"


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (host 127.0.0.1) into ``(host, port)``; port 0
    picks a free port. ConfigError says what is wrong and what is expected."""
    text = listen.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ConfigError(
            f"listen address {listen!r} has no port; write host:port ({_LISTEN_EXAMPLE})"
        )
    if host.startswith("[") != host.endswith("]"):
        raise ConfigError(f"listen address {listen!r} is not host:port ({_LISTEN_EXAMPLE})")
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise ConfigError(
            f"listen address {listen!r}: the port must be a number 0-65535 ({_LISTEN_EXAMPLE})"
        )
    bracketed = host.startswith("[")
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_HOST
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if ":" in host or _HOSTNAME.fullmatch(host) is None:
            raise ConfigError(
                f"listen address {listen!r}: {host!r} is not an IP address or host name "
                f"({_LISTEN_EXAMPLE}; IPv6 addresses go in brackets)"
            ) from None
    else:
        if address.version == 6 and not bracketed:
            raise ConfigError(
                f"listen address {listen!r}: write an IPv6 address in brackets, e.g. [{host}]:9464"
            )
    return host, int(port_text)


class ListenError(ConfigError):
    """The listen address cannot be bound; ``reason`` says why and what to do."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.reason = reason


def _listen_reason(exc: OSError, port: int) -> str:
    text = (exc.strerror or type(exc).__name__).lower()
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{text}; another program (or another brygga) listens there: stop it, or choose "
            f"another port (`ss -ltnp 'sport = :{port}'` shows which program)"
        )
    if exc.errno == errno.EACCES:
        return f"{text}; ports below 1024 need privileges: choose a port above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{text}; this machine has no such address: use 127.0.0.1 or one of its own"
    return f"{text}; choose another listen address"


def bind_socket(host: str, port: int, *, backlog: int = 100) -> socket.socket:
    """A listening, non-blocking TCP socket (port 0 picks a free port); ListenError if not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(
            host, port, f"{str(exc.strerror).lower()}; use an IP address of this machine"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError(host, port, _listen_reason(exc, port)) from None
    return sock


class _DaemonLogger(Logger):
    """hypercorn's logger minus its start banner ("Running on … (CTRL + C to quit)"): a daemon
    is not stopped with Ctrl-C, and :func:`serve_http` logs the bound address itself."""

    async def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        if not message.startswith("Running on "):
            await super().info(message, *args, **kwargs)


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
    config.logger_class = _DaemonLogger
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
