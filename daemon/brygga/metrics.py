"""The daemon's Prometheus metric families, on a registry of their own (never the global one)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

import brygga

if TYPE_CHECKING:
    from brygga.http.client import HttpOutcome

__all__ = ["ItemOutcome", "Metrics"]

#: What became of one work item; the ``outcome`` label of ``brygga_items_total``.
ItemOutcome = Literal["done", "failed", "skipped", "retried", "held"]

# Order created in the shop -> document in the ERP: seconds (webhooks) to hours (slow polls).
_LATENCY_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600)
_HTTP_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric family the daemon exports. Create one per daemon (or per test).

    Label values are names we control (connection names, register names, system kinds, HTTP
    methods, status codes and outcomes), never anything read from a remote or a secret.
    """

    def __init__(self, *, version: str = brygga.__version__) -> None:
        # No ``*_created`` series: they double the series count and no rule or panel reads them.
        # (A process-wide switch of prometheus-client; the daemon has only this registry.)
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connection_up = Gauge(
            "brygga_connection_up",
            "1 while the connection's runner is running, 0 while it is down or stopped.",
            ["connection"],
            registry=r,
        )
        self.connection_restarts = Counter(
            "brygga_connection_restarts",
            "Restarts of a connection's runner after it failed.",
            ["connection"],
            registry=r,
        )
        self.items = Counter(
            "brygga_items",
            "Work items handled, by outcome (done, failed, skipped, retried; held: put back "
            "untried while a remote refuses the connection's credentials).",
            ["connection", "register", "outcome"],
            registry=r,
        )
        self.transfer_latency = Histogram(
            "brygga_transfer_latency_seconds",
            "Time from a record's creation on the source side to its document on the target.",
            ["connection", "register"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.backlog = Gauge(
            "brygga_backlog",
            "Work items waiting to be done (new, sending or waiting for a retry).",
            ["connection", "register"],
            registry=r,
        )
        self.failed_records = Gauge(
            "brygga_failed_records",
            "Records in state failed, waiting for a person to retry or resolve them.",
            ["connection", "register"],
            registry=r,
        )
        self.last_success = Gauge(
            "brygga_last_success_timestamp_seconds",
            "Unix time of the last work item done.",
            ["connection", "register"],
            registry=r,
        )
        self.credentials_rejected = Gauge(
            "brygga_credentials_rejected",
            "1 while a remote refuses the connection's credentials and its work is held "
            "(brygga status says which system and which config keys); 0 otherwise.",
            ["connection"],
            registry=r,
        )
        self.http_requests = Counter(
            "brygga_http_requests",
            "Requests sent to remote systems, by outcome (ok, not_found, client_error, "
            "server_error, timeout, network_error) and HTTP status ('error' for no answer).",
            ["system", "method", "status", "outcome"],
            registry=r,
        )
        self.http_request_duration = Histogram(
            "brygga_http_request_duration_seconds",
            "Duration of requests sent to remote systems.",
            ["system"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.build_info = Gauge(
            "brygga_build_info",
            "Always 1; the version label says which brygga runs.",
            ["version"],
            registry=r,
        )
        self.build_info.labels(version).set(1)
        #: connections whose brygga_credentials_rejected series exists
        self._credentials_shown: set[str] = set()

    # -- connection state (the supervisor) -------------------------------------------------

    def connection_started(self, connection: str) -> None:
        self.connection_up.labels(connection).set(1)
        self.connection_restarts.labels(connection)  # export the series at 0 from the start

    def connection_down(self, connection: str) -> None:
        self.connection_up.labels(connection).set(0)

    def connection_restarted(self, connection: str) -> None:
        self.connection_restarts.labels(connection).inc()

    def forget_connection(self, connection: str) -> None:
        """Drop every series of a connection removed from the config (no stale series)."""
        self.connection_up.remove(connection)
        self.connection_restarts.remove(connection)
        if connection in self._credentials_shown:
            self._credentials_shown.discard(connection)
            self.credentials_rejected.remove(connection)
        per_register = ("connection", "register")
        families: list[tuple[Counter | Gauge | Histogram, tuple[str, ...]]] = [
            (self.items, ("connection", "register", "outcome")),
            (self.transfer_latency, per_register),
            (self.backlog, per_register),
            (self.failed_records, per_register),
            (self.last_success, per_register),
        ]
        for family, labelnames in families:
            # Found through collect(): ``remove_by_labels`` needs a newer prometheus-client.
            doomed = {
                tuple(sample.labels[name] for name in labelnames)
                for metric in family.collect()
                for sample in metric.samples
                if sample.labels.get("connection") == connection
            }
            for labelvalues in doomed:
                family.remove(*labelvalues)

    # -- work items (connection actors and flows) -------------------------------------------

    def item(self, connection: str, register: str, outcome: ItemOutcome) -> None:
        self.items.labels(connection, register, outcome).inc()

    def transferred(
        self, connection: str, register: str, *, created: datetime, done: datetime
    ) -> None:
        """One record reached the target: observe latency and stamp the last success."""
        latency = max(0.0, (done - created).total_seconds())
        self.transfer_latency.labels(connection, register).observe(latency)
        self.last_success.labels(connection, register).set(done.timestamp())

    def succeeded(self, connection: str, register: str, *, at: datetime) -> None:
        self.last_success.labels(connection, register).set(at.timestamp())

    def set_backlog(self, connection: str, register: str, count: int) -> None:
        self.backlog.labels(connection, register).set(count)

    def set_failed_records(self, connection: str, register: str, count: int) -> None:
        self.failed_records.labels(connection, register).set(count)

    def set_credentials_rejected(self, connection: str, rejected: bool) -> None:
        self._credentials_shown.add(connection)
        self.credentials_rejected.labels(connection).set(1 if rejected else 0)

    # -- outbound HTTP (the client wrapper) ---------------------------------------------------

    def http_request(
        self, system: str, method: str, status: int | None, seconds: float, outcome: HttpOutcome
    ) -> None:
        """One request to a remote (the HttpContext.on_request hook); ``status`` None means no
        answer, and ``outcome`` then says timeout or network_error."""
        status_label = str(status) if status is not None else "error"
        self.http_requests.labels(system, method.upper(), status_label, outcome).inc()
        self.http_request_duration.labels(system).observe(max(0.0, seconds))

    # -- exposition ------------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every family: ``(body, content type)``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
