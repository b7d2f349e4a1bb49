"""The shared adapter conformance kit (ERP battery and order-status checks) run against the
Fortnox adapter and its simulator."""

from __future__ import annotations

from brygga.testing import ErpAdapterConformance


class TestFortnoxConformance(ErpAdapterConformance):
    """(conftest.py installs the plugin while pyproject.toml lacks its entry point.)"""

    kind = "fortnox"
    #: invoices and orders are created by POST to these collections (reference §2.6)
    create_path = r"^/3/(invoices|orders)/?$"
