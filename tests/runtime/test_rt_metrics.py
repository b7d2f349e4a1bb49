"""Metrics: a registry per instance, every family exported, no stale series after removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import enable_created_metrics

from brygga.commands.run import seed_last_success
from brygga.metrics import Metrics
from brygga.store import Store

NOW = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)

FAMILIES = [
    "brygga_connection_up",
    "brygga_connection_restarts_total",
    "brygga_items_total",
    "brygga_transfer_latency_seconds",
    "brygga_backlog",
    "brygga_failed_records",
    "brygga_last_success_timestamp_seconds",
    "brygga_http_requests_total",
    "brygga_http_request_duration_seconds",
    "brygga_build_info",
]


def test_two_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.connection_started("a")
    assert first.registry.get_sample_value("brygga_connection_up", {"connection": "a"}) == 1
    assert second.registry.get_sample_value("brygga_connection_up", {"connection": "a"}) is None


def test_render_contains_every_family() -> None:
    metrics = Metrics(version="9.9.9")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    metrics.connection_started("butiken")
    metrics.connection_restarted("butiken")
    metrics.item("butiken", "orders", "done")
    metrics.transferred("butiken", "orders", created=created, done=created + timedelta(seconds=3))
    metrics.set_backlog("butiken", "orders", 4)
    metrics.set_failed_records("butiken", "orders", 1)
    metrics.http_request("starweb", "get", 200, 0.2, "ok")
    metrics.http_request("starweb", "post", None, 1.0, "timeout")
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    for family in FAMILIES:
        assert f"\n{family}" in text or text.startswith(family), family
    assert 'brygga_build_info{version="9.9.9"} 1.0' in text
    assert 'brygga_items_total{connection="butiken",outcome="done",register="orders"} 1.0' in text
    assert (
        'brygga_http_requests_total{method="POST",outcome="timeout",status="error",'
        'system="starweb"} 1.0'
    ) in text
    bucket = (
        'brygga_transfer_latency_seconds_bucket{connection="butiken",le="5.0",register="orders"}'
    )
    assert f"{bucket} 1.0" in text
    assert (
        metrics.registry.get_sample_value(
            "brygga_last_success_timestamp_seconds",
            {"connection": "butiken", "register": "orders"},
        )
        == (created + timedelta(seconds=3)).timestamp()
    )


def test_forget_connection_drops_its_series_only() -> None:
    metrics = Metrics()
    for name in ("gone", "kept"):
        metrics.connection_started(name)
        metrics.item(name, "orders", "failed")
        metrics.set_backlog(name, "stock", 2)
        metrics.transferred(name, "orders", created=datetime(2026, 1, 1, tzinfo=UTC), done=NOW)
    metrics.forget_connection("gone")
    text = metrics.render()[0].decode()
    assert 'connection="gone"' not in text
    assert 'brygga_connection_up{connection="kept"} 1.0' in text
    assert 'brygga_backlog{connection="kept",register="stock"} 2.0' in text
    assert 'brygga_transfer_latency_seconds_count{connection="kept",register="orders"} 1.0' in text


def test_no_created_series() -> None:
    enable_created_metrics()  # prometheus-client's default, whatever ran before
    metrics = Metrics()
    metrics.connection_started("butiken")
    metrics.connection_restarted("butiken")
    metrics.item("butiken", "orders", "done")
    metrics.transferred("butiken", "orders", created=NOW, done=NOW)
    metrics.http_request("starweb", "GET", 404, 0.2, "not_found")
    text = metrics.render()[0].decode()
    assert "brygga_items_total" in text and "brygga_http_request_duration_seconds_count" in text
    assert "_created" not in text


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the store needs asyncio
async def test_last_success_starts_from_the_state_file(tmp_path: Path) -> None:
    # after a restart the stale-register alert must still see when orders last went through
    store = await Store.open(tmp_path / "state.db")
    try:
        await store.status.success("c", "orders", "", NOW - timedelta(hours=2))
        await store.status.success("other", "orders", "", NOW)
        await store.status.poll_failed("c", "orders", "se", "401", NOW)
        metrics = Metrics()
        await seed_last_success(store, metrics, ["c"])
    finally:
        await store.close()
    value = metrics.registry.get_sample_value(
        "brygga_last_success_timestamp_seconds", {"connection": "c", "register": "orders"}
    )
    assert value == (NOW - timedelta(hours=2)).timestamp()
    other = metrics.registry.get_sample_value(
        "brygga_last_success_timestamp_seconds", {"connection": "other", "register": "orders"}
    )
    assert other is None  # not a connection this daemon runs


def test_a_record_put_back_by_a_credentials_hold_is_counted_as_held() -> None:
    """The engine reports "held" for a record it put back untried (a remote refused the
    connection's credentials): counted, never as retried or failed."""
    from brygga.runtime.app import MetricsObserver

    metrics = Metrics()
    observer = MetricsObserver(metrics)
    observer.item_finished("c", "orders", "held")
    labels = {"connection": "c", "register": "orders"}
    value = metrics.registry.get_sample_value
    assert value("brygga_items_total", {**labels, "outcome": "held"}) == 1
    assert value("brygga_items_total", {**labels, "outcome": "retried"}) is None


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the store needs asyncio
async def test_a_held_connection_shows_as_credentials_rejected_until_it_works(
    tmp_path: Path,
) -> None:
    """Operator: a held connection's runner is up and may have nothing due, so neither
    brygga_connection_up nor brygga_items_total{outcome="held"} says that its credentials are
    refused; the gauge follows the hold's status row (kept in the state file)."""
    from brygga.runtime.app import refresh_gauges_once
    from brygga.sync.engine import HOLD_ROW

    metrics = Metrics()
    value = metrics.registry.get_sample_value
    store = await Store.open(tmp_path / "state.db")
    try:
        await refresh_gauges_once(store, metrics, ["c", "d"])
        assert value("brygga_credentials_rejected", {"connection": "c"}) == 0
        await store.status.failure("c", "orders", HOLD_ROW, "shop se rejected …", NOW)
        await refresh_gauges_once(store, metrics, ["c", "d"])
        assert value("brygga_credentials_rejected", {"connection": "c"}) == 1
        assert value("brygga_credentials_rejected", {"connection": "d"}) == 0
        await store.status.success("c", "orders", HOLD_ROW, NOW + timedelta(minutes=1))
        await refresh_gauges_once(store, metrics, ["c", "d"])
        assert value("brygga_credentials_rejected", {"connection": "c"}) == 0
    finally:
        await store.close()
    metrics.forget_connection("c")
    assert value("brygga_credentials_rejected", {"connection": "c"}) is None
