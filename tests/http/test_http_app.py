"""The daemon's ASGI app in-process: metrics, health, readiness, webhook token guard."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from brygga.http.app import WebhookRegistry, create_app, new_webhook_token
from brygga.metrics import Metrics
from brygga.secrets import Secret

pytestmark = pytest.mark.anyio


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://brygga")  # type: ignore[arg-type]


async def test_metrics_exposes_our_families() -> None:
    metrics = Metrics()
    metrics.connection_started("butiken")
    metrics.item("butiken", "orders", "done")
    async with client_for(create_app(metrics)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert 'brygga_connection_up{connection="butiken"} 1.0' in response.text
    assert "# TYPE brygga_items_total counter" in response.text or (
        "# TYPE brygga_items counter" in response.text
    )
    assert "brygga_build_info" in response.text
    # a fresh registry: nothing from the process-wide default one
    assert "python_gc_objects_collected_total" not in response.text


async def test_healthz() -> None:
    async with client_for(create_app(Metrics())) as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


async def test_readyz_reports_what_is_not_ready() -> None:
    state = {"connection:a": True, "connection:b": True, "store": True}

    def checks() -> Mapping[str, bool]:
        return state

    async with client_for(create_app(Metrics(), ready_checks=checks)) as client:
        ready = await client.get("/readyz")
        state["connection:b"] = False
        state["store"] = False
        not_ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert not_ready.status_code == 503
    assert not_ready.json()["ready"] is False
    assert not_ready.json()["not_ready"] == ["connection:b", "store"]
    assert not_ready.json()["checks"]["connection:a"] is True


async def test_readyz_without_checks_is_ready_and_a_broken_check_is_not() -> None:
    def broken() -> Mapping[str, bool]:
        raise RuntimeError("no")

    async with client_for(create_app(Metrics())) as client:
        assert (await client.get("/readyz")).status_code == 200
    async with client_for(create_app(Metrics(), ready_checks=broken)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False


class Receiver:
    def __init__(self, status: int = 202) -> None:
        self.bodies: list[bytes] = []
        self.status = status

    async def __call__(self, request: Request) -> Response:
        self.bodies.append(await request.body())
        return JSONResponse({"accepted": True}, status_code=self.status)


async def test_webhook_with_the_right_token_reaches_its_handler() -> None:
    token = new_webhook_token()
    registry = WebhookRegistry()
    receiver = Receiver()
    registry.register("butiken", token, receiver)
    async with client_for(create_app(Metrics(), webhooks=registry)) as client:
        response = await client.post(f"/webhooks/butiken/{token}", content=b'{"order": 1}')
    assert response.status_code == 202
    assert receiver.bodies == [b'{"order": 1}']


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/butiken/wrong-token",
        "/webhooks/butiken/{token}x",
        "/webhooks/butiken/{prefix}",
        "/webhooks/other/{token}",
        "/webhooks/butiken",
        "/webhooks/butiken/{token}/extra",
    ],
)
async def test_webhook_with_a_wrong_token_is_404_without_side_effects(path: str) -> None:
    token = new_webhook_token()
    registry = WebhookRegistry()
    receiver = Receiver()
    registry.register("butiken", token, receiver)
    async with client_for(create_app(Metrics(), webhooks=registry)) as client:
        response = await client.post(
            path.format(token=token, prefix=token[:10]), content=b"payload"
        )
    assert response.status_code == 404
    assert receiver.bodies == []


async def test_webhooks_per_token_secret_tokens_and_unregister() -> None:
    registry = WebhookRegistry()
    se, no = Receiver(), Receiver(status=200)
    registry.register("butiken", "token-se-0123456789", se)
    registry.register("butiken", Secret("token-no-0123456789"), no)
    app = create_app(Metrics(), webhooks=registry)
    assert app.state.webhooks is registry
    async with client_for(app) as client:
        assert (await client.post("/webhooks/butiken/token-se-0123456789")).status_code == 202
        assert (await client.put("/webhooks/butiken/token-no-0123456789")).status_code == 200
        registry.unregister("butiken", "token-se-0123456789")
        assert (await client.post("/webhooks/butiken/token-se-0123456789")).status_code == 404
        assert (await client.post("/webhooks/butiken/token-no-0123456789")).status_code == 200
        registry.unregister("butiken")
        assert (await client.post("/webhooks/butiken/token-no-0123456789")).status_code == 404
    assert (len(se.bodies), len(no.bodies)) == (1, 2)
    assert registry.connections() == []


def test_webhook_registry_rejects_bad_and_duplicate_tokens() -> None:
    registry = WebhookRegistry()
    registry.register("a", "token-1", Receiver())
    with pytest.raises(ValueError, match="already has a receiver"):
        registry.register("a", "token-1", Receiver())
    for bad in ("", "a/b"):
        with pytest.raises(ValueError, match="non-empty"):
            registry.register("a", bad, Receiver())
    registry.register("b", "token-1", Receiver())  # same token, other connection: fine
    assert registry.connections() == ["a", "b"]


async def test_a_failing_webhook_handler_is_500_and_the_token_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = new_webhook_token()
    registry = WebhookRegistry()

    async def broken(request: Request) -> Response:
        raise RuntimeError("receiver bug")

    registry.register("butiken", token, broken)
    with caplog.at_level(logging.DEBUG):
        async with client_for(create_app(Metrics(), webhooks=registry)) as client:
            response = await client.post(f"/webhooks/butiken/{token}")
    assert response.status_code == 500
    assert "receiver bug" not in response.text
    ours = [r for r in caplog.records if r.name.startswith("brygga")]
    assert [r.getMessage() for r in ours] == ["webhook receiver of connection butiken failed"]
    assert all(token not in r.getMessage() and token not in (r.exc_text or "") for r in ours)
