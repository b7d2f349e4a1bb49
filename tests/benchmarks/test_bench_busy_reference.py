"""In the daemon, connections on one e-conomic agreement read its reference data once: the
cold phase of benchmarks/busy_connections.py (one order waiting in every shop at start) reads
the product list once for all connections, not once per connection (issue "[9/9] Benchmarks
at scale": 4 of a first order's 7 requests were reference data read again per connection)."""

from __future__ import annotations

from typing import Any

import anyio
from test_bench_busy import _load


def test_the_cold_phase_reads_the_agreements_reference_data_once() -> None:
    bench = _load("busy_connections")
    connections = 4
    args = bench.parse_args(
        ["--connections", str(connections), "--duration", "0.5", "--rate", "2", "--limits", "off"]
    )
    document: dict[str, Any] = anyio.run(bench.measure, args, backend="asyncio")
    [run] = document["runs"]
    cold = run["cold"]
    assert cold["transferred"] == connections
    by_endpoint = cold["erp_requests_by_endpoint"]
    assert by_endpoint["POST /invoices/drafts"] == connections
    assert by_endpoint["GET /products"] == 1, "the product list is the agreement's"
    # one sales-account read per product group for all connections together: the warm-up
    # (ReferenceReader.prepare) reads every group that has products (the simulator's four),
    # the orders' reads join it; never one per connection
    assert by_endpoint["GET /product-groups/{n}/sales-accounts"] <= 4
    assert cold["reference_requests"] < 4 * connections
