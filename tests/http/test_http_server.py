"""The endpoint over real loopback sockets: port 0, a real request, clean shutdown."""

from __future__ import annotations

import logging
from functools import partial

import anyio
import httpx
import pytest

from brygga.errors import ConfigError
from brygga.http.app import create_app
from brygga.http.server import parse_listen, serve_http
from brygga.metrics import Metrics

pytestmark = pytest.mark.anyio


async def test_serves_on_a_free_port_and_shuts_down_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    stop = anyio.Event()
    metrics = Metrics()
    metrics.connection_started("butiken")
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                partial(serve_http, create_app(metrics), "127.0.0.1:0", shutdown_trigger=stop.wait)
            )
            assert port > 0
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                health = await client.get("/healthz")
                scraped = await client.get("/metrics")
            stop.set()
        # the server task returned: the socket no longer accepts connections
        with pytest.raises(OSError):
            await anyio.connect_tcp("127.0.0.1", port)
    assert (health.status_code, health.text) == (200, "ok")
    assert 'brygga_connection_up{connection="butiken"} 1.0' in scraped.text
    # no access log lines
    server_lines = [r for r in caplog.records if not r.name.startswith("httpx")]
    assert not any("/healthz" in r.getMessage() for r in server_lines)


async def test_cancelling_the_caller_still_closes_the_server() -> None:
    never = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                partial(
                    serve_http, create_app(Metrics()), "127.0.0.1:0", shutdown_trigger=never.wait
                )
            )
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            tg.cancel_scope.cancel()
        with pytest.raises(OSError):
            await anyio.connect_tcp("127.0.0.1", port)


async def test_an_address_in_use_is_a_config_error() -> None:
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                partial(serve_http, create_app(Metrics()), ":0", shutdown_trigger=stop.wait)
            )
            with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
                await serve_http(
                    create_app(Metrics()), f"127.0.0.1:{port}", shutdown_trigger=stop.wait
                )
            stop.set()


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
        ("[::1]:80", ("::1", 80)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("localhost:8080", ("localhost", 8080)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["9464", "host:port", "127.0.0.1:70000", "127.0.0.1:-1"])
def test_parse_listen_rejects(listen: str) -> None:
    with pytest.raises(ConfigError, match="listen address"):
        parse_listen(listen)
