"""The shared adapter conformance kit run against the e-conomic adapter and its simulator."""

from __future__ import annotations

from brygga.testing import ErpAdapterConformance


class TestEconomicConformance(ErpAdapterConformance):
    kind = "economic"
    #: draft invoices and draft orders are created by POST to these collections
    create_path = r"^/(invoices|orders)/drafts/?$"
