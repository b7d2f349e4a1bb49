"""The shared ERP conformance kit (and its order-status checks) on Specter and its simulator.

Specter's order statuses come from two document types (reference/erp-apis.md §3.2: partial
delivery per order row is reported on orders [S7]): deliveries happen to orders, payment to
invoices.
"""

from __future__ import annotations

from brygga.models import DocumentType, OrderEvent
from brygga.testing import ErpAdapterConformance


class TestSpecterConformance(ErpAdapterConformance):
    kind = "specter"
    #: invoices and orders are created by POST to these collections (wire assumption 1)
    create_path = r"^/(invoices|orders)$"

    def status_document_type(self, event: OrderEvent) -> DocumentType:
        if event in (OrderEvent.DELIVERED, OrderEvent.PARTIALLY_DELIVERED):
            return DocumentType.ORDER
        return DocumentType.INVOICE
