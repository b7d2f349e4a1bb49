"""A request with no answer says why (refused, DNS, TLS, timeout, dropped) and to which host."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest

from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient

pytestmark = pytest.mark.anyio

SECRET = "s3cret-Token-9f2"
E = TypeVar("E", bound=BaseException)


def _cert_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
    )
    error.verify_message = "certificate has expired"
    return error


def _wrong_version() -> ssl.SSLError:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    return error


def _chained(exc: E, cause: BaseException) -> E:
    """``exc`` raised from ``cause``, as httpx raises it from httpcore's error (itself raised
    from the socket's)."""
    exc.__cause__ = cause
    return exc


#: (what the transport raises, words the message must hold); the causes chained as httpx does
FAILURES: dict[str, tuple[Callable[[], httpx.TransportError], str]] = {
    "refused": (
        lambda: _chained(
            httpx.ConnectError("All connection attempts failed"),
            _chained(
                OSError("All connection attempts failed"),
                ConnectionRefusedError(111, "Connect call failed ('10.0.0.1', 443)"),
            ),
        ),
        "connection refused",
    ),
    "dns": (
        lambda: _chained(
            httpx.ConnectError("[Errno -2] Name or service not known"),
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        ),
        "DNS name not found",
    ),
    "dns temporary": (
        lambda: _chained(
            httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        ),
        "DNS lookup failed: Temporary failure in name resolution",
    ),
    "tls certificate": (
        lambda: _chained(httpx.ConnectError("certificate verify failed"), _cert_error()),
        "TLS certificate not accepted: certificate has expired",
    ),
    "tls other": (
        lambda: _chained(httpx.ConnectError("wrong version number"), _wrong_version()),
        "TLS failure: WRONG_VERSION_NUMBER",
    ),
    "unreachable": (
        lambda: _chained(
            httpx.ConnectError("[Errno 101] Network is unreachable"),
            OSError(101, "Connect call failed ('10.0.0.1', 443)"),
        ),
        "network is unreachable",
    ),
    "connect timeout": (lambda: httpx.ConnectTimeout("timed out"), "connect timeout"),
    "read timeout": (lambda: httpx.ReadTimeout("timed out"), "read timeout, no answer within 7 s"),
    "reset": (
        lambda: _chained(httpx.ReadError(""), ConnectionResetError(104, "Connection reset")),
        "connection dropped (reset by the remote)",
    ),
    "dropped": (
        lambda: httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "connection dropped",
    ),
}


def _client(failure: httpx.TransportError) -> RemoteClient:
    def handle(request: httpx.Request) -> httpx.Response:
        failure.request = request
        raise failure

    return RemoteClient(
        system="starweb",
        base_url=f"https://user:{SECRET}@shop.example.se:8443/api",
        context=HttpContext(
            transport=httpx.MockTransport(handle), timeout=httpx.Timeout(7.0, connect=3.0)
        ),
        account="a",
        headers={"Authorization": f"Bearer {SECRET}"},
    )


@pytest.mark.parametrize("case", list(FAILURES))
async def test_a_failed_request_names_the_cause_and_the_host(case: str) -> None:
    make, words = FAILURES[case]
    client = _client(make())
    try:
        with pytest.raises(TransientError) as raised:
            await client.request("POST", f"token?key={SECRET}", json={"secret": SECRET})
    finally:
        await client.aclose()
    message = str(raised.value)
    assert message.startswith("starweb POST /token: "), message
    assert words in message, message
    assert message.endswith("(shop.example.se:8443)"), message
    assert SECRET not in message and "Error" not in message, message


async def test_a_host_on_the_default_port_is_named_without_it() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    client = RemoteClient(
        system="fortnox",
        base_url="https://api.fortnox.example/3",
        context=HttpContext(transport=httpx.MockTransport(handle)),
        account="a",
    )
    try:
        with pytest.raises(TransientError) as raised:
            await client.request("GET", "articles/KAFFE-500")
    finally:
        await client.aclose()
    assert str(raised.value) == (
        "fortnox GET /articles/KAFFE-500: connect timeout, no connection within 10 s "
        "(api.fortnox.example)"
    )


async def test_a_real_refused_connection_on_loopback_says_refused() -> None:
    # a bound socket that does not listen: the kernel refuses every connection to its port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        client = RemoteClient(
            system="erp",
            base_url=f"http://127.0.0.1:{port}",
            context=HttpContext(timeout=httpx.Timeout(5.0)),
            account="a",
        )
        try:
            with pytest.raises(TransientError) as raised:
                await client.request("GET", "invoices?token=x")
        finally:
            await client.aclose()
    assert str(raised.value) == f"erp GET /invoices: connection refused (127.0.0.1:{port})"
    assert raised.value.in_doubt is False
