"""What the HTTP endpoint says in the daemon's log: its address once, no hypercorn banner, and a
bind failure as one sentence with the fix."""

from __future__ import annotations

import logging
import re
import socket
from functools import partial

import anyio
import httpx
import pytest

from brygga.errors import ConfigError
from brygga.http.app import create_app
from brygga.http.server import ListenError, parse_listen, serve_http
from brygga.metrics import Metrics

pytestmark = pytest.mark.anyio


async def test_a_started_server_logs_no_ctrl_c_banner(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                partial(
                    serve_http, create_app(Metrics()), "127.0.0.1:0", shutdown_trigger=stop.wait
                )
            )
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            stop.set()
    messages = [record.getMessage() for record in caplog.records]
    assert f"HTTP endpoint listening on 127.0.0.1:{port}" in messages, "the address is logged"
    assert not [m for m in messages if "Running on" in m or "CTRL + C" in m], messages


async def test_a_port_in_use_is_one_sentence_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stop = anyio.Event()
        stop.set()
        with pytest.raises(ListenError) as info:
            await serve_http(create_app(Metrics()), f"127.0.0.1:{port}", shutdown_trigger=stop.wait)
    assert str(info.value).startswith(f"cannot listen on 127.0.0.1:{port}: address already in use")
    assert info.value.reason.startswith("address already in use; ")
    assert "choose another port" in info.value.reason
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("listen", "problem"),
    [
        ("localhost", "has no port"),
        ("127.0.0.1:65536", "0-65535"),
        ("127.0.0.1:99999", "0-65535"),
        ("127.0.0.1: 80", "0-65535"),
        ("127.0.0.1:+80", "0-65535"),
        ("::1:9464", "brackets"),
        ("[::1:9464", "not host:port"),
        ("my host:9464", "not an IP address or host name"),
    ],
)
def test_parse_listen_says_what_is_wrong(listen: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"listen address {listen!r}")) as info:
        parse_listen(listen)
    assert problem in str(info.value)
    assert "e.g. " in str(info.value), "an example of what works"
