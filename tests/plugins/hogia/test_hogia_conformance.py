"""The shared ERP conformance kit (and its order-status checks) on Hogia Smart and its simulator.

Hogia Smart creates invoices only (reference/erp-apis.md §4; DESIGN.md §1), so the kit's
document checks run on invoices and the order ones are skipped by the capabilities.
"""

from __future__ import annotations

from brygga.testing import ErpAdapterConformance


class TestHogiaConformance(ErpAdapterConformance):
    kind = "hogia"
    #: invoices are created by POST to this collection (wire assumption 4/5)
    create_path = r"/customerinvoices$"
