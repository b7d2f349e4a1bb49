"""Orders through the adapter: canonical mapping, garbage, faults, export marks, status writes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import pytest
from starweb_support import utc

from brygga.clock import FakeClock
from brygga.documents import round_money
from brygga.errors import PermanentError, TransientError
from brygga.models import Address, CustomerKind, DocumentRef, DocumentType, LineKind
from brygga.testing import Fault
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.mapping import looks_like_org_number
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.records import SimStatus

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def invoice(number: str = "10001") -> DocumentRef:
    return DocumentRef(document_type=DocumentType.INVOICE, number=number, reference="b-se-1")


def full_order(sim: StarwebSimulator, **kwargs: Any) -> str:
    return sim.place_order(
        lines=[("KAFFE-500", 3), ("TE-100", 1), ("BOK-01", 2)],
        email="anna.svensson@example.se",
        freight=Decimal("49"),
        discount_percent=Decimal("10"),
        payment_fee=Decimal("19"),
        order_discount=Decimal("20"),
        **kwargs,
    )


# -- mapping ------------------------------------------------------------------------------------


async def test_full_order_maps_to_canonical(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        order = await adapter.fetch_order(order_id)
    assert (order.shop_order_id, order.number, order.status) == (order_id, order_id, "created")
    assert order.created_at == order.modified_at == utc(2026, 2, 2, 8, 0, 0)
    assert order.currency == "SEK"
    assert (order.total, order.total_vat) == (Decimal("785.43"), Decimal("98.43"))
    assert order.paid is False
    kinds = [(line.kind, line.sku) for line in order.lines]
    assert kinds == [
        (LineKind.ITEM, "KAFFE-500"),
        (LineKind.ITEM, "TE-100"),
        (LineKind.ITEM, "BOK-01"),
        (LineKind.DISCOUNT, ""),
        (LineKind.FREIGHT, ""),
        (LineKind.FEE, ""),
    ]
    coffee, tea, book, discount, freight, fee = order.lines
    assert (coffee.quantity, coffee.unit_price, coffee.vat_rate) == (3, Decimal("89.00"), 25)
    assert coffee.discount == Decimal("26.7")  # 10 % of 3 x 89.00, excl. VAT
    assert tea.discount == Decimal("4.5") and tea.vat_rate == 12
    assert book.discount == Decimal("39.8") and book.vat_rate == 6
    assert (discount.quantity, discount.unit_price, discount.vat_rate) == (1, Decimal("-20.00"), 25)
    assert discount.discount == 0
    assert (freight.name, freight.unit_price, freight.vat_rate) == ("PostNord MyPack", 49, 25)
    assert (fee.name, fee.unit_price) == ("Klarna", 19)
    assert order.extra["payment_method"] == "Klarna"
    assert order.extra["payment_status"] == "reserved"


async def test_mapped_lines_reproduce_the_shops_totals(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        order = await adapter.fetch_order(order_id)
    nets = [round_money(line.net_amount) for line in order.lines]
    vat = sum(
        (round_money(n * line.vat_rate / 100) for n, line in zip(nets, order.lines, strict=True)),
        Decimal(0),
    )
    assert sum(nets, Decimal(0)) + vat == order.total
    assert vat == order.total_vat


async def test_registered_customer(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        customer = (await adapter.fetch_order(order_id)).customer
    assert customer.shop_customer_id == "501" and not customer.is_guest
    assert customer.kind is CustomerKind.PERSON
    assert (customer.email, customer.name, customer.org_number) == (
        "anna.svensson@example.se",
        "Anna Svensson",
        "",
    )
    assert customer.billing == Address(
        name="Anna Svensson",
        street="Storgatan 1",
        postal_code="111 22",
        city="Stockholm",
        country_code="SE",
        phone="070-123 45 67",
    )
    assert customer.shipping == customer.billing


async def test_guest_customer(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="gast@example.se", guest=True)
    async with open_adapter() as adapter:
        customer = (await adapter.fetch_order(order_id)).customer
    assert customer.is_guest and customer.shop_customer_id is None
    assert customer.email == "gast@example.se"
    assert customer.kind is CustomerKind.PERSON


async def test_company_customer(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = sim.place_order(
        lines=[("MUGG-VIT", 10)],
        email="inkop@kafferosteriet.se",
        company="Kafferosteriet AB",
        org_number="556677-8899",
        name="Kalle Rost",
    )
    async with open_adapter() as adapter:
        customer = (await adapter.fetch_order(order_id)).customer
    assert customer.kind is CustomerKind.COMPANY
    assert (customer.name, customer.org_number) == ("Kafferosteriet AB", "556677-8899")
    assert (customer.billing.company, customer.billing.name) == ("Kafferosteriet AB", "Kalle Rost")


async def test_guest_with_an_org_number_is_a_company(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    company = sim.place_order(
        lines=[("TE-100", 1)], email="a@ab.se", guest=True, org_number="5566778899"
    )
    person = sim.place_order(
        lines=[("TE-100", 1)], email="b@ab.se", guest=True, org_number="19800101-1234"
    )
    async with open_adapter() as adapter:
        assert (await adapter.fetch_order(company)).customer.kind is CustomerKind.COMPANY
        found = (await adapter.fetch_order(person)).customer
    assert (found.kind, found.org_number) == (CustomerKind.PERSON, "")


@pytest.mark.parametrize(
    ("value", "company"),
    [
        ("556677-8899", True),
        ("165566778899", True),
        ("802412-3456", True),  # a Swedish foundation/association number
        ("12345678", True),  # Danish CVR / Finnish Y-tunnus digits
        ("923609016", True),  # Norwegian org number
        ("800101-1234", False),
        ("198001011234", False),
        ("", False),
        ("N/A", False),
    ],
)
def test_org_number_heuristic(value: str, company: bool) -> None:
    assert looks_like_org_number(value) is company


async def test_amount_discount_and_returned_items(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = sim.place_order(lines=[("KAFFE-500", 2), ("TE-100", 1)], email="a@example.se")
    coffee, tea = sim.order(order_id).items
    coffee.discount_type, coffee.discount = "amount", Decimal("10")
    tea.quantity, tea.discount = -1, Decimal("20")
    async with open_adapter() as adapter:
        order = await adapter.fetch_order(order_id)
    coffee_line, tea_line = order.lines
    assert coffee_line.discount == 10 and coffee_line.net_amount == Decimal("168.00")
    assert tea_line.discount == 0 and tea_line.unit_price == Decimal("36.00")
    assert round_money(tea_line.net_amount) == tea.net == Decimal("-36.00")


async def test_custom_status_is_named_by_its_id(sim: StarwebSimulator, open_adapter: Open) -> None:
    sim.state.statuses[7] = SimStatus(7, "", "Betald", False)
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.order(order_id).status_id = 7
    async with open_adapter() as adapter:
        assert (await adapter.fetch_order(order_id)).status == "7"


async def test_paid_orders(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se", paid=True)
    async with open_adapter() as adapter:
        assert (await adapter.fetch_order(order_id)).paid is True


# -- garbage ------------------------------------------------------------------------------------


def set_field(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mangle(order: dict[str, Any]) -> None:
        target: Any = order
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mangle


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("items.data.0.quantity", "three", r"field `items\[0\].quantity`"),
        ("items.data.0.unitPrice", None, r"field `items\[0\].unitPrice`"),
        ("items.data.1.vatRate", 250, r"item 2 \(TE-100\): vatRate is 250"),
        ("items.data.0.discount", -5, r"item 1 \(KAFFE-500\): discount is -5"),
        ("items.data.0.discountType", "bogus", r"field `items\[0\].discountType`"),
        ("addresses.data.customerInvoice.countryCode", "Sverige", r"customerInvoice.countryCode"),
        ("currencyCode", "kr", r"field `currencyCode`"),
        ("createdAt", "2026-02-02 09:00", r"field `createdAt`"),
        ("amountToPay", "785,43", r"field `amountToPay`"),
        ("shippingVatRate", None, r"shippingCost is 49 but its VAT rate is missing"),
        ("shippingCost", -49, r"shippingCost is -49"),
        ("customer.data.type", "robot", r"field `customer.type`"),
    ],
)
async def test_garbage_is_permanent_and_names_order_and_field(
    sim: StarwebSimulator, open_adapter: Open, path: str, value: Any, message: str
) -> None:
    order_id = full_order(sim)
    sim.mangle_order(order_id, set_field(path, value))
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=rf"Starweb order {order_id}.*{message}"):
            await adapter.fetch_order(order_id)


async def test_missing_and_malformed_order_ids(sim: StarwebSimulator, open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="does not exist"):
            await adapter.fetch_order("424242")
        with pytest.raises(PermanentError, match="not a number"):
            await adapter.fetch_order("../token")


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "retry_after"),
    [
        ("status", {"status": 503}, None),
        ("status", {"status": 500}, None),
        ("rate_limit", {"retry_after": 7}, 7.0),
        ("timeout", {}, None),
        ("drop", {}, None),
    ],
)
async def test_remote_trouble_is_transient(
    sim: StarwebSimulator,
    open_adapter: Open,
    kind: Any,
    options: dict[str, Any],
    retry_after: float | None,
) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)  # the token is in hand
        sim.faults.add(Fault(kind, times=1, path=r"/orders/\d+$", **options))
        with pytest.raises(TransientError) as caught:
            await adapter.fetch_order(order_id)
        assert caught.value.retry_after == retry_after
        assert (await adapter.fetch_order(order_id)).shop_order_id == order_id
    assert sim.faults.fired == {kind: 1}


# -- export marks -----------------------------------------------------------------------------


def puts(sim: StarwebSimulator, order_id: str) -> int:
    return sim.requests.count(("PUT", f"/orders/{order_id}/external-services/brygga"))


def posts(sim: StarwebSimulator, order_id: str) -> int:
    return sim.requests.count(("POST", f"/orders/{order_id}/external-services"))


async def test_mark_exported_is_idempotent(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        clock.advance(10)
        await adapter.mark_exported(order_id, invoice())
        stamped = sim.order(order_id).modified_at
        clock.advance(10)
        await adapter.mark_exported(order_id, invoice())
        fetched = await adapter.fetch_order(order_id)
    assert sim.exported_document(order_id) == "10001"
    assert (posts(sim, order_id), puts(sim, order_id)) == (2, 0)  # the repeat was refused
    assert sim.order(order_id).modified_at == stamped == utc(2026, 2, 2, 8, 0, 10)
    assert fetched.extra["external_service.brygga"] == "10001"


async def test_mark_exported_after_commit_then_fail(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    post = frozenset({"POST"})
    sim.faults.add(Fault("commit_then_fail", methods=post, path="/external-services", times=1))
    async with open_adapter() as adapter:
        with pytest.raises(TransientError):
            await adapter.mark_exported(order_id, invoice())
        await adapter.mark_exported(order_id, invoice())  # the retry finds it done
    assert (posts(sim, order_id), puts(sim, order_id)) == (2, 0)
    assert list(sim.order(order_id).external_services) == ["brygga"]


async def test_mark_exported_updates_a_changed_number(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    async with open_adapter(service_name="Visma") as adapter:
        await adapter.mark_exported(order_id, invoice("1"))
        await adapter.mark_exported(order_id, invoice("2"))
    assert sim.exported_document(order_id, "Visma") == "2"


async def test_mark_exported_refusals(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = full_order(sim)
    sim.order(order_id).external_services["brygga"] = ("999", True)
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="read-only"):
            await adapter.mark_exported(order_id, invoice())
        with pytest.raises(PermanentError, match="1 to 40 characters"):
            await adapter.mark_exported(order_id, invoice("9" * 41))
    assert sim.exported_document(order_id) == "999"


def gets(sim: StarwebSimulator, order_id: str) -> int:
    return sim.requests.count(("GET", f"/orders/{order_id}/external-services/brygga"))


async def test_the_write_back_after_a_fetch_reads_no_mark_again(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    # the transfer fetched the order with include=externalServices: the write-back that
    # follows knows the mark (absent here) and only writes it
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        await adapter.mark_exported(order_id, invoice())  # one POST, no read
        await adapter.mark_exported(order_id, invoice())  # no fetch since: refused, read, same
    assert (gets(sim, order_id), posts(sim, order_id), puts(sim, order_id)) == (1, 2, 0)
    assert sim.exported_document(order_id) == "10001"


async def test_a_read_only_mark_seen_in_the_fetch_is_refused_without_a_read(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    sim.order(order_id).external_services["brygga"] = ("999", True)
    async with open_adapter() as adapter:
        fetched = await adapter.fetch_order(order_id)
        with pytest.raises(PermanentError, match="read-only"):
            await adapter.mark_exported(order_id, invoice())
    assert fetched.exported_as == "999"
    assert (gets(sim, order_id), puts(sim, order_id)) == (0, 0)


# -- status writes ------------------------------------------------------------------------------


async def test_set_status_with_side_effects(sim: StarwebSimulator, open_adapter: Open) -> None:
    quiet = full_order(sim)
    loud = full_order(sim)
    async with open_adapter(tracker_type=4) as adapter:
        await adapter.set_status(quiet, "picking", email=False, capture=False)
        await adapter.set_status(
            loud, "completed", email=True, capture=True, tracking_number="00370712345"
        )
    (change,) = sim.status_changes(quiet)
    assert (change.status, change.email_requested, change.capture_requested) == (
        "picking",
        False,
        False,
    )
    assert (change.email_sent, change.payment_action) == (False, "")
    (change,) = sim.status_changes(loud)
    assert (change.email_sent, change.payment_action) == (True, "captured")
    assert change.tracking_number == "00370712345"
    assert sim.order(loud).tracker_type == 4
    assert sim.order_status(loud) == "completed"


async def test_set_status_does_not_repeat_itself(sim: StarwebSimulator, open_adapter: Open) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        for _ in range(3):
            await adapter.set_status(order_id, "completed", email=True, capture=True)
        await adapter.set_status(
            order_id, "completed", email=True, capture=True, tracking_number="PN1"
        )
    assert len(sim.status_changes(order_id)) == 1
    assert sim.requests.count(("PATCH", f"/orders/{order_id}")) == 2
    assert sim.order(order_id).tracking_no == "PN1"


async def test_set_status_accepts_custom_ids_and_refuses_unknown(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = full_order(sim)
    async with open_adapter() as adapter:
        await adapter.set_status(order_id, "created", email=False, capture=False)  # loads table
        sim.state.statuses[7] = SimStatus(7, "", "Betald", False)
        await adapter.set_status(order_id, "7", email=False, capture=False)
        with pytest.raises(PermanentError, match=r"no such order status \(known: 7, canceled"):
            await adapter.set_status(order_id, "shipped", email=False, capture=False)
    assert sim.order(order_id).status_id == 7
