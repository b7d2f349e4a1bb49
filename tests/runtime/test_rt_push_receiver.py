"""A shop that pushes whole orders (PushReceiver) gets each push's body before the poll is
woken: kept → 200 and a poll; refused for good → 400 with the reason; not kept → 503 so the
sender retries, and no poll. A shop without it only gets the hint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest

from brygga.adapters import PushAnswer, PushReceiver
from brygga.errors import PermanentError, TransientError
from brygga.http.app import WebhookRegistry, create_app
from brygga.metrics import Metrics
from brygga.runtime.actor import _register_webhooks
from brygga.secrets import Secret

pytestmark = pytest.mark.anyio

TOKEN = "push-0123456789abcdefghijklmnop"
HINT_TOKEN = "hint-0123456789abcdefghijklmnop"


class PushingShop:
    """Keeps what it was pushed; its answer for the next push is set by the test."""

    def __init__(self) -> None:
        self.kept: list[tuple[bytes, str]] = []
        self.fail: Exception | None = None

    async def accept_push(self, body: bytes, headers: Mapping[str, str]) -> PushAnswer | None:
        if self.fail is not None:
            raise self.fail
        self.kept.append((body, headers.get("x-signature", "")))
        if body.startswith(b"{"):  # this sender wants its own answer document
            return PushAnswer(b'{"StatusCode": "OK"}')
        return None


class HintShop:
    """A shop whose notices are hints only."""


@dataclass
class _Shop:
    name: str
    webhook_token: Secret | None


@dataclass
class _Connection:
    name: str
    shops: list[_Shop]
    erp: _Shop = field(default_factory=lambda: _Shop("erp", None))


@dataclass
class _Flow:
    shops: dict[str, object]
    poked: list[str] = field(default_factory=list)

    def poke(self, instance: str) -> None:
        self.poked.append(instance)


def _client(flow: _Flow) -> httpx.AsyncClient:
    registry = WebhookRegistry()
    conn = _Connection(
        "demo",
        [_Shop("push", Secret(TOKEN)), _Shop("hint", Secret(HINT_TOKEN))],
    )
    assert len(_register_webhooks(cast(Any, conn), cast(Any, flow), registry)) == 2
    app = create_app(Metrics(), webhooks=registry)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://d")


async def test_a_kept_push_wakes_the_poll_and_a_refused_one_says_why() -> None:
    shop = PushingShop()
    assert isinstance(shop, PushReceiver)
    flow = _Flow({"push": shop, "hint": HintShop()})
    async with _client(flow) as client:
        answer = await client.post(
            f"/webhooks/demo/{TOKEN}", content=b'{"order": 7}', headers={"X-Signature": "s1"}
        )
        assert (answer.status_code, answer.json()) == (200, {"StatusCode": "OK"})
        assert answer.headers["content-type"] == "application/json"
        assert shop.kept == [(b'{"order": 7}', "s1")]
        assert flow.poked == ["push"]
        answer = await client.post(f"/webhooks/demo/{TOKEN}", content=b"order=9")
        assert (answer.status_code, answer.text) == (200, "ok")
        assert flow.poked == ["push", "push"]
        assert shop.kept.pop() == (b"order=9", "")

        shop.fail = PermanentError("order 8: the signature does not match; check the secret")
        answer = await client.post(f"/webhooks/demo/{TOKEN}", content=b'{"order": 8}')
        assert answer.status_code == 400
        assert "signature does not match" in answer.text
        shop.fail = TransientError("the state file is busy")
        answer = await client.post(f"/webhooks/demo/{TOKEN}", content=b'{"order": 8}')
        assert answer.status_code == 503
        assert "busy" not in answer.text  # an internal reason is not the sender's business
        assert flow.poked == ["push", "push"]  # neither woke the poll
        assert len(shop.kept) == 1

        shop.fail = None
        answer = await client.get(f"/webhooks/demo/{TOKEN}")  # a receiver check: a hint only
        assert answer.status_code == 200
        assert len(shop.kept) == 1
        assert flow.poked == ["push", "push", "push"]


async def test_a_shop_without_push_gets_the_hint_and_its_body_is_ignored() -> None:
    flow = _Flow({"push": PushingShop(), "hint": HintShop()})
    async with _client(flow) as client:
        answer = await client.post(f"/webhooks/demo/{HINT_TOKEN}", content=b"not even json")
        assert answer.status_code == 200
    assert flow.poked == ["hint"]
