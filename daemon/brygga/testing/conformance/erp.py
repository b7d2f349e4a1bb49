"""The ERP battery as plain async checks: each drives an ErpAdapter against its simulator.

The checks add the kit's own articles to the simulator (``add_article``) and build their
documents the way the orders flow does (:func:`brygga.sync.order_document.build_document`
from a canonical Order), so they need no knowledge of the simulator's catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from brygga.adapters import ErpAdapter
from brygga.config import FeeArticles
from brygga.documents import Document
from brygga.errors import TransientError
from brygga.models import (
    Address,
    Customer,
    DocumentRef,
    DocumentType,
    LineKind,
    Order,
    OrderLine,
)
from brygga.sync.order_document import build_document, shop_totals
from brygga.testing.conformance.common import (
    FaultKind,
    assert_no_secret,
    expect_permanent,
    expect_transient_fault,
    message_of,
)
from brygga.testing.simulators import ErpSimulator, Fault, SimulatedDocument

__all__ = [
    "KIT_ARTICLES",
    "KIT_FEES",
    "check_bad_erp_credentials",
    "check_commit_then_fail",
    "check_create_and_find",
    "check_customer_matching",
    "check_erp_authentication",
    "check_erp_fault",
    "check_unknown_article",
    "kit_customer",
    "kit_document",
    "kit_order",
    "prepare_catalog",
]

#: the kit's articles: (article number, name, price excl. VAT, VAT rate)
KIT_ARTICLES: tuple[tuple[str, str, Decimal, Decimal], ...] = (
    ("KIT-A25", "Kit article 25 %", Decimal("89.00"), Decimal("25")),
    ("KIT-B12", "Kit article 12 %", Decimal("45.50"), Decimal("12")),
    ("KIT-C6", "Kit article 6 %", Decimal("19.90"), Decimal("6")),
    ("KIT-FRAKT", "Kit freight", Decimal("0"), Decimal("25")),
    ("KIT-EXP", "Kit handling fee", Decimal("0"), Decimal("25")),
    ("KIT-RABATT", "Kit discount", Decimal("0"), Decimal("25")),
    ("KIT-AVRUND", "Kit rounding", Decimal("0"), Decimal("0")),
)
KIT_FEES = FeeArticles(
    freight="KIT-FRAKT", handling="KIT-EXP", discount="KIT-RABATT", rounding="KIT-AVRUND"
)
UNKNOWN_ARTICLE = "KIT-NOSUCH-1"
_ORDER_TIME = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


def prepare_catalog(sim: ErpSimulator) -> None:
    """Add (or replace) the kit's articles in the simulator."""
    for sku, name, price, rate in KIT_ARTICLES:
        sim.add_article(sku, name, price, rate)


def kit_customer(tag: str) -> Customer:
    """A private person with an address and an e-mail address unique to ``tag``."""
    name = f"Kit Kund {tag}"
    return Customer(
        shop_customer_id=f"kit-{tag}",
        email=f"kit.kund.{tag}@example.com",
        name=name,
        billing=Address(
            name=name,
            street="Storgatan 1",
            postal_code="111 22",
            city="Stockholm",
            country_code="SE",
            phone="070-123 45 67",
        ),
    )


def kit_order(shop_order_id: str, customer: Customer, *, sku: str = "KIT-A25") -> Order:
    """A canonical order over the kit's articles: three VAT rates, a row discount, freight,
    and a grand total rounded to whole kronor (so the document gets a rounding row)."""
    lines = (
        OrderLine(
            sku=sku,
            name="Kit article 25 %",
            quantity=Decimal(2),
            unit_price=Decimal("89.00"),
            vat_rate=Decimal(25),
            discount=Decimal("17.80"),
        ),
        OrderLine(
            sku="KIT-B12",
            name="Kit article 12 %",
            quantity=Decimal(3),
            unit_price=Decimal("45.50"),
            vat_rate=Decimal(12),
        ),
        OrderLine(
            sku="KIT-C6",
            name="Kit article 6 %",
            quantity=Decimal(1),
            unit_price=Decimal("19.90"),
            vat_rate=Decimal(6),
        ),
        OrderLine(
            kind=LineKind.FREIGHT,
            name="Frakt",
            quantity=Decimal(1),
            unit_price=Decimal("49.00"),
            vat_rate=Decimal(25),
        ),
    )
    draft = Order(
        shop_order_id=shop_order_id,
        number=shop_order_id,
        created_at=_ORDER_TIME,
        modified_at=_ORDER_TIME,
        status="paid",
        currency="SEK",
        customer=customer,
        lines=lines,
        total=Decimal(0),
        total_vat=Decimal(0),
        paid=True,
    )
    totals = shop_totals(draft)
    whole = totals.gross.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return msgspec.structs.replace(draft, total=whole, total_vat=totals.vat)


async def _customer_number(adapter: ErpAdapter, customer: Customer) -> str:
    found = await adapter.find_customer(customer, ["email"])
    return found if found is not None else await adapter.create_customer(customer, "SEK")


async def kit_document(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    shop_order_id: str,
    document_type: DocumentType = DocumentType.INVOICE,
    *,
    sku: str = "KIT-A25",
) -> Document:
    """The kit's articles in ``sim``, a customer found or created through ``adapter``, and
    the document the orders flow would send for the kit's order ``shop_order_id``."""
    prepare_catalog(sim)
    customer = kit_customer(shop_order_id.lower())
    return build_document(
        kit_order(shop_order_id, customer, sku=sku),
        reference=f"brygga:kit:{shop_order_id}",
        document_type=document_type,
        customer_number=await _customer_number(adapter, customer),
        fee_articles=KIT_FEES,
    )


def _nonzero(vat_by_rate: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    return {Decimal(rate).normalize(): vat for rate, vat in vat_by_rate.items() if vat}


def _assert_stored(sim: ErpSimulator, document: Document, what: str) -> SimulatedDocument:
    stored = sim.documents_with_reference(document.reference)
    assert len(stored) == 1, (
        f"{what}: the ERP holds {len(stored)} documents with reference {document.reference!r}"
    )
    held, totals = stored[0], document.totals
    assert (held.net, held.vat, held.gross) == (totals.net, totals.vat, totals.gross), (
        f"{what}: the ERP's document totals net {held.net}, VAT {held.vat}, gross {held.gross}; "
        f"the document sent totals {totals.net}, {totals.vat}, {totals.gross}"
    )
    assert _nonzero(held.vat_by_rate) == _nonzero(totals.vat_by_rate), (
        f"{what}: VAT per rate in the ERP {held.vat_by_rate}, sent {totals.vat_by_rate}"
    )
    assert held.customer_number == document.customer_number, (
        f"{what}: the ERP's document is for customer {held.customer_number}, "
        f"not {document.customer_number}"
    )
    return held


def _assert_ref(ref: DocumentRef | None, document: Document, what: str) -> DocumentRef:
    assert isinstance(ref, DocumentRef), f"{what} returned {ref!r}, not a DocumentRef"
    assert ref.reference == document.reference, (
        f"{what} returned reference {ref.reference!r}, not {document.reference!r}"
    )
    assert ref.document_type is document.document_type, (
        f"{what} returned a {ref.document_type} for a {document.document_type}"
    )
    assert ref.number, f"{what} returned no document number"
    return ref


async def check_erp_authentication(sim: ErpSimulator, adapter: ErpAdapter) -> None:
    """With the simulator's credentials the adapter looks a customer and a document up."""
    assert await adapter.find_customer(kit_customer("auth"), ["email"]) is None, (
        "find_customer found a customer in an ERP where the kit created none"
    )
    assert await adapter.find_document("brygga:kit:auth", DocumentType.INVOICE) is None


async def check_bad_erp_credentials(
    sim: ErpSimulator, adapter: ErpAdapter, secrets: Iterable[str]
) -> None:
    """An adapter built with wrong credentials raises PermanentError, and no error or repr
    shows a secret."""
    secrets = [s for s in secrets if s]
    for what, call in (
        (
            "find_customer with wrong credentials",
            lambda: adapter.find_customer(kit_customer("auth"), ["email"]),
        ),
        (
            "find_document with wrong credentials",
            lambda: adapter.find_document("brygga:kit:auth", DocumentType.INVOICE),
        ),
    ):
        error = await expect_permanent(call, what)
        assert_no_secret(message_of(error), secrets, f"the error of {what}")
    assert_no_secret(repr(adapter), secrets, "the adapter's repr")
    assert_no_secret(str(adapter), secrets, "the adapter's str")


async def check_customer_matching(sim: ErpSimulator, adapter: ErpAdapter) -> None:
    """Created customers are found again by e-mail, each as itself; an unknown e-mail
    address matches nobody."""
    first, second = kit_customer("match-a"), kit_customer("match-b")
    assert await adapter.find_customer(first, ["email"]) is None, (
        "find_customer matched an e-mail address before any customer had it"
    )
    numbers = [await adapter.create_customer(c, "SEK") for c in (first, second)]
    assert all(isinstance(n, str) and n for n in numbers), f"create_customer returned {numbers}"
    assert numbers[0] != numbers[1], f"two customers got the same number {numbers[0]}"
    for customer, number in zip((first, second), numbers, strict=True):
        found = await adapter.find_customer(customer, ["email"])
        assert found == number, (
            f"find_customer by e-mail {customer.email} found {found!r}, not {number!r}"
        )
    nobody = kit_customer("nobody")
    assert await adapter.find_customer(nobody, ["email"]) is None, (
        f"find_customer matched {nobody.email}, which no customer has"
    )


async def check_create_and_find(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """``create_document`` stores one document with the document's totals and VAT per
    rate; ``find_document`` finds it by reference, and an unknown reference is None."""
    document = await kit_document(
        sim, adapter, f"K{document_type.value[:1].upper()}1001", document_type
    )
    assert any(line.kind is LineKind.ROUNDING for line in document.lines)
    created = _assert_ref(await adapter.create_document(document), document, "create_document")
    _assert_stored(sim, document, f"create_document({document.reference!r})")
    found = _assert_ref(
        await adapter.find_document(document.reference, document_type), document, "find_document"
    )
    assert found.number == created.number, (
        f"find_document found {document_type} {found.number}, create_document made {created.number}"
    )
    unknown = document.reference + "-unknown"
    missing = await adapter.find_document(unknown, document_type)
    assert missing is None, f"find_document({unknown!r}) found {missing!r}; nothing has it"


async def check_commit_then_fail(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    create_path: str = ".*",
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """The ERP stores the document but the answer to the create call is lost (a 500 after
    the commit, on POSTs whose path matches ``create_path``): ``create_document`` raises
    TransientError, and ``find_document`` then finds the one document, so the flow's
    reconcile binds it instead of sending it again."""
    document = await kit_document(sim, adapter, "K1002", document_type)
    before = sim.faults.fired.get("commit_then_fail", 0)
    sim.faults.add(
        Fault("commit_then_fail", methods=frozenset({"POST"}), path=create_path, times=1)
    )
    returned: DocumentRef | None = None
    try:
        returned = await adapter.create_document(document)
    except TransientError:
        pass
    except Exception as exc:
        raise AssertionError(
            f"create_document after commit-then-fail: expected TransientError, got "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sim.faults.clear()
    assert sim.faults.fired.get("commit_then_fail", 0) == before + 1, (
        f"no POST matched create_path {create_path!r}; set create_path to the create call's path"
    )
    assert returned is None, (
        f"create_document returned {returned!r} although the answer to its create call was lost"
    )
    _assert_stored(sim, document, "after commit-then-fail")
    found = await adapter.find_document(document.reference, document.document_type)
    _assert_ref(found, document, "find_document after commit-then-fail")
    assert len(sim.documents_with_reference(document.reference)) == 1


async def check_unknown_article(
    sim: ErpSimulator, adapter: ErpAdapter, document_type: DocumentType = DocumentType.INVOICE
) -> None:
    """A row whose article the ERP does not have is a PermanentError naming the order and
    the article, and no document is left behind."""
    document = await kit_document(sim, adapter, "K1003", document_type, sku=UNKNOWN_ARTICLE)
    what = f"create_document with article {UNKNOWN_ARTICLE} the ERP lacks"
    error = await expect_permanent(lambda: adapter.create_document(document), what)
    text = str(error)
    assert document.shop_order_id in text and UNKNOWN_ARTICLE in text, (
        f"{what}: the error does not name order {document.shop_order_id} and the article: {text}"
    )
    left = sim.documents_with_reference(document.reference)
    assert not left, f"{what}: the ERP holds {len(left)} documents afterwards"


async def check_erp_fault(
    sim: ErpSimulator,
    adapter: ErpAdapter,
    kind: FaultKind,
    document_type: DocumentType = DocumentType.INVOICE,
) -> None:
    """A 5xx, a 429 (``retry_after`` passed on), a timeout or a dropped connection is a
    TransientError from the lookups and from ``create_document``, which leaves no document;
    the adapter works again once the fault is gone."""
    customer = kit_customer(f"fault-{kind}")
    await adapter.find_customer(customer, ["email"])  # signed in and warmed up
    await expect_transient_fault(
        sim.faults, kind, lambda: adapter.find_customer(customer, ["email"]), "find_customer"
    )
    document = await kit_document(sim, adapter, "K1004", document_type)
    await expect_transient_fault(
        sim.faults, kind, lambda: adapter.create_document(document), "create_document"
    )
    left = sim.documents_with_reference(document.reference)
    assert not left, f"create_document failed on a {kind} fault but left {len(left)} documents"
    created = _assert_ref(await adapter.create_document(document), document, "create_document")
    _assert_stored(sim, document, f"create_document after a {kind} fault")
    assert created.number
