"""Every request reaches the metrics hook with an outcome: a 404 lookup is not an error."""

from __future__ import annotations

import contextlib

import anyio
import httpx
import pytest

from brygga.errors import TransientError
from brygga.http.client import HttpContext, HttpOutcome, RemoteClient
from brygga.metrics import Metrics

pytestmark = pytest.mark.anyio

#: path -> what the remote does, and the outcome (and status label) it must be counted as
CASES: dict[str, tuple[int | httpx.TransportError, HttpOutcome, str]] = {
    "found": (200, "ok", "200"),
    "created": (201, "ok", "201"),
    "missing": (404, "not_found", "404"),
    "invalid": (422, "client_error", "422"),
    "limited": (429, "client_error", "429"),
    "broken": (503, "server_error", "503"),
    "slow": (httpx.ReadTimeout("slow"), "timeout", "error"),
    "refused": (httpx.ConnectError("refused"), "network_error", "error"),
    "dropped": (httpx.RemoteProtocolError("Server disconnected"), "network_error", "error"),
}


def _remote(request: httpx.Request) -> httpx.Response:
    answer = CASES[request.url.path.strip("/")][0]
    if isinstance(answer, Exception):
        raise answer
    return httpx.Response(answer, json={})


async def test_each_request_is_counted_once_by_its_outcome() -> None:
    metrics = Metrics()
    client = RemoteClient(
        system="economic",
        base_url="https://erp.test",
        context=HttpContext(
            transport=httpx.MockTransport(_remote), on_request=metrics.http_request
        ),
        account="a",
    )
    try:
        for path in CASES:
            with contextlib.suppress(TransientError):
                await client.request("GET", f"{path}?q=1")
    finally:
        await client.aclose()
    for path, (_, outcome, status) in CASES.items():
        labels = {"system": "economic", "method": "GET", "status": status, "outcome": outcome}
        assert metrics.registry.get_sample_value("brygga_http_requests_total", labels) == (
            sum(1 for _, o, s in CASES.values() if (o, s) == (outcome, status))
        ), path
    count = metrics.registry.get_sample_value(
        "brygga_http_request_duration_seconds_count", {"system": "economic"}
    )
    assert count == len(CASES)


async def test_a_request_cancelled_at_shutdown_is_not_counted_as_an_error() -> None:
    calls: list[tuple[str, str, int | None, float, HttpOutcome]] = []
    scope = anyio.CancelScope()

    async def hang(request: httpx.Request) -> httpx.Response:
        scope.cancel()
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    client = RemoteClient(
        system="starweb",
        base_url="https://shop.test",
        context=HttpContext(
            transport=httpx.MockTransport(hang),
            on_request=lambda *args: calls.append(args),
        ),
        account="a",
    )
    try:
        with scope:
            await client.request("GET", "orders")
    finally:
        await client.aclose()
    assert scope.cancelled_caught
    assert calls == []
