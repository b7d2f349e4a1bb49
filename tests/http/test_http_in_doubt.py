"""Which failed requests leave a write in doubt: it may have reached the remote and landed."""

from __future__ import annotations

import httpx
import pytest

from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient

pytestmark = pytest.mark.anyio


def _failing(exc: httpx.TransportError) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("method", "failure", "in_doubt"),
    [
        # the request went out: a write may still be stored by the remote
        ("POST", httpx.ReadTimeout("slow"), True),
        ("PUT", httpx.WriteTimeout("slow"), True),
        ("POST", httpx.RemoteProtocolError("dropped mid-answer"), True),
        ("POST", httpx.ReadError("reset"), True),
        # it never left: nothing can have landed
        ("POST", httpx.ConnectError("refused"), False),
        ("POST", httpx.ConnectTimeout("no route"), False),
        ("POST", httpx.PoolTimeout("busy"), False),
        # a read changes nothing, whatever happened
        ("GET", httpx.ReadTimeout("slow"), False),
    ],
)
async def test_a_write_that_may_have_been_sent_is_in_doubt(
    method: str, failure: httpx.TransportError, in_doubt: bool
) -> None:
    client = RemoteClient(
        system="erp",
        base_url="http://erp.test",
        context=HttpContext(transport=_failing(failure)),
        account="a",
    )
    try:
        with pytest.raises(TransientError) as raised:
            await client.request(method, "invoices/drafts", json={"x": 1})
    finally:
        await client.aclose()
    assert raised.value.in_doubt is in_doubt
    assert "erp" in str(raised.value) and "invoices/drafts" in str(raised.value)
