"""The simulator shows each order's state changes with what PrestaShop did on them.

PrestaShop 8.x ``OrderHistory::changeIdOrderState`` (classes/order/OrderHistory.php): on a
state whose ``paid`` is 1 it records an ``OrderPayment`` for what each invoice still lacks
("set orders as paid": ``getRestPaid() > 0``) and raises ``total_paid_real``; a later paid
state finds nothing left and records none. ``addWs`` (``POST /order_histories``) e-mails the
customer only with ``sendemail=1`` and a state whose ``send_email`` is 1 (§3.6 [PS6]).
"""

from __future__ import annotations

import pytest
from prestashop_support import open_adapter

from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio


def test_a_paid_checkout_records_the_payment_once(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 2)], email="a@example.com")
    sim.set_status(order_id, "processing-in-progress")  # paid too: nothing left to record
    changes = sim.status_changes(order_id)
    assert [(c.status, c.via, c.payment_action) for c in changes] == [
        ("payment-accepted", "checkout", "captured"),
        ("processing-in-progress", "back office", ""),
    ]
    payments = sim.payments(order_id)
    assert len(payments) == 1
    assert payments[0]["amount"] == sim.order(order_id)["total_paid_tax_incl"]
    assert sim.order(order_id)["total_paid_real"] == sim.order(order_id)["total_paid_tax_incl"]


def test_an_unpaid_order_is_paid_when_it_reaches_a_paid_state(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(
        lines=[("KAFFE-500", 1)], email="a@example.com", status="awaiting-bank-wire-payment"
    )
    assert sim.payments(order_id) == []
    sim.set_status(order_id, "payment-accepted")
    sim.set_status(order_id, "shipped")
    assert [c.payment_action for c in sim.status_changes(order_id)] == ["", "captured", ""]
    assert len(sim.payments(order_id)) == 1


async def test_webservice_changes_show_their_e_mail(sim: PrestashopSimulator) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 1)], email="a@example.com")
    async with open_adapter(sim) as adapter:
        await adapter.set_status(order_id, "processing-in-progress", email=False, capture=False)
        await adapter.set_status(order_id, "shipped", email=True, capture=True)
    assert [(c.status, c.via, c.email_sent) for c in sim.status_changes(order_id)] == [
        ("payment-accepted", "checkout", False),
        ("processing-in-progress", "webservice", False),
        ("shipped", "webservice", True),
    ]
    assert sim.order_status(order_id) == "shipped"
    assert sum(c.payment_action == "captured" for c in sim.status_changes(order_id)) == 1
