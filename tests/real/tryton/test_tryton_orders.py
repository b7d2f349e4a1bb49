"""The Tryton adapter against a real trytond 8.2: parties, sales once, lookup by reference.

The server is reference/real-peers.md §A's (trytond 8.2 on SQLite, JSON-RPC at /<db>/rpc/,
session login), started by ``tryton_server`` (conftest). Each test uses its own references and
SKUs, so they share one server.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import httpx
import pytest
from tryton_support import TrytonServer, customer, document, open_adapter

from brygga.adapters import HelperArticle, RemoteNeeds
from brygga.errors import CredentialsRejected, PermanentError, TransientError
from brygga.models import DocumentType, LineKind

pytestmark = [pytest.mark.anyio, pytest.mark.real]

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_numbers)}"


async def product(
    server: TrytonServer, price: str = "100", vat: str = "25", stock: str = "10"
) -> str:
    sku = unique("SKU")
    await server.admin.create_product(
        sku, f"Product {sku}", Decimal(price), vat=Decimal(vat), stock=Decimal(stock)
    )
    return sku


async def test_a_customer_is_created_then_found_by_email_code_and_org_number(
    tryton_server: TrytonServer,
) -> None:
    email = f"{unique('kund')}@Example.se"
    buyer = customer(email, org="556677-8899")
    async with open_adapter(tryton_server) as adapter:
        assert await adapter.find_customer(buyer, ["email", "org_number"]) is None
        code = await adapter.create_customer(buyer, "SEK")
        assert code
        # e-mail compared case-insensitively, but never as a substring
        lower = customer(email.lower())
        assert await adapter.find_customer(lower, ["email"]) == code
        longer = customer("x" + email)
        assert await adapter.find_customer(longer, ["email"]) is None
        by_code = customer("nobody@example.se")
        by_code = type(by_code)(email="", customer_number=code)
        assert await adapter.find_customer(by_code, ["customer_number"]) == code
        org = type(buyer)(email="", org_number="556677-8899")
        assert await adapter.find_customer(org, ["org_number"]) == code
    party = await tryton_server.admin.one(
        "party.party", [["code", "=", code]], ["id", "name", "addresses", "contact_mechanisms"]
    )
    assert party["name"] == "Anna Andersson"
    assert len(party["addresses"]) == 1 and len(party["contact_mechanisms"]) == 2


async def test_a_sale_is_created_once_quoted_confirmed_processed_and_found_by_reference(
    tryton_server: TrytonServer,
) -> None:
    mug, tea = await product(tryton_server, "30", "25"), await product(tryton_server, "19.90", "12")
    freight = unique("fraktavg")  # a service product, as the fee articles are
    await tryton_server.admin.create_product(freight, "Frakt", Decimal(0), kind="service")
    reference = unique("brygga/test/shop/1001")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('k')}@example.se"), "SEK")
        rows = [(mug, "2", "30", "25"), (tea, "3", "19.90", "12"), (freight, "1", "49", "25")]
        doc = document(reference, code, rows)
        await adapter.check_document(doc)
        created = await adapter.create_document(doc)
        assert created.reference == reference and created.booked
        assert created.document_type == DocumentType.ORDER
        found = await adapter.find_document(reference, DocumentType.ORDER)
        assert found == created
        # a reference that only starts like it is another document
        assert await adapter.find_document(reference[:-1], DocumentType.ORDER) is None
        assert await adapter.find_document(reference + "0", DocumentType.ORDER) is None
    admin = tryton_server.admin
    sales = await admin.search_read(
        "sale.sale",
        [["reference", "=", reference]],
        [
            "number",
            "state",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "lines",
            "invoices",
            "shipments",
        ],
    )
    assert len(sales) == 1
    sale = sales[0]
    assert sale["number"] == created.number
    assert sale["state"] == "processing"
    # the shop's totals to the öre: 2*30 + 3*19.90 + 49 = 168.70 net, 15 + 7.16 + 12.25 VAT
    assert sale["untaxed_amount"] == doc.totals.net == Decimal("168.70")
    assert sale["tax_amount"] == doc.totals.vat == Decimal("34.41")
    assert sale["total_amount"] == doc.totals.gross
    assert len(sale["invoices"]) == 1 and len(sale["shipments"]) == 1
    lines = await admin.call(
        "sale.line.read", sale["lines"], ["product.code", "quantity", "unit_price", "taxes"]
    )
    assert sorted(
        (row["product."]["code"], row["quantity"], row["unit_price"]) for row in lines
    ) == sorted(
        [(mug, 2.0, Decimal("30")), (tea, 3.0, Decimal("19.90")), (freight, 1.0, Decimal("49"))]
    )
    assert all(len(row["taxes"]) == 1 for row in lines)


async def test_an_unbooked_order_is_quoted_and_booked_later(tryton_server: TrytonServer) -> None:
    sku = await product(tryton_server)
    reference = unique("brygga/test/shop/2001")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('k')}@example.se"), "SEK")
        created = await adapter.create_document(
            document(reference, code, [(sku, "1", "100", "25")], book=False)
        )
        assert not created.booked
        sale = await tryton_server.admin.sale_by_reference(reference)
        assert sale["state"] == "quotation" and sale["number"] == created.number
        booked = await adapter.book_document(created)
        assert booked.booked and booked.number == created.number
        assert (await tryton_server.admin.sale_by_reference(reference))["state"] == "processing"
        # booking again changes nothing
        assert await adapter.book_document(booked) == booked


class LoseAnswer(httpx.AsyncBaseTransport):
    """Sends every request to the real server, but drops the answer to the first one whose
    body names ``method``: the write happened, the adapter never hears of it."""

    def __init__(self, method: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.method = method.encode()
        self.lost = 0
        self.sent: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append(body)
        response = await self.inner.handle_async_request(request)
        if self.method in body and not self.lost:
            await response.aread()
            await response.aclose()
            self.lost += 1
            raise httpx.ReadError("connection dropped", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_create_whose_answer_is_lost_is_in_doubt_and_then_found_not_repeated(
    tryton_server: TrytonServer,
) -> None:
    sku = await product(tryton_server)
    reference = unique("brygga/test/shop/4001")
    lossy = LoseAnswer('"model.sale.sale.create"')
    async with open_adapter(tryton_server, transport=lossy) as adapter:
        code = await adapter.create_customer(customer(f"{unique('k')}@example.se"), "SEK")
        doc = document(reference, code, [(sku, "1", "100", "25")])
        with pytest.raises(TransientError) as lost:
            await adapter.create_document(doc)
        assert lost.value.in_doubt
        assert lossy.lost == 1
        # what the engine does next (DESIGN §2.1): look the reference up before any new send
        found = await adapter.find_document(reference, DocumentType.ORDER)
        assert found is not None and found.reference == reference
        # the sale landed but was never quoted: booking it (reconciliation) finishes it
        assert not found.booked
        booked = await adapter.book_document(found)
        assert booked.booked and booked.number != found.number  # the draft got its number
    creates = [b for b in lossy.sent if b'"model.sale.sale.create"' in b]
    assert len(creates) == 1
    sales = await tryton_server.admin.search_read(
        "sale.sale", [["reference", "=", reference]], ["state"]
    )
    assert [s["state"] for s in sales] == ["processing"]


async def test_unknown_sku_and_vat_rate_are_refused_before_anything_is_written(
    tryton_server: TrytonServer,
) -> None:
    sku = await product(tryton_server)
    async with open_adapter(tryton_server) as adapter:
        unknown = document(unique("brygga/test/shop/5001"), "", [("NO-SUCH-SKU", "1", "10", "25")])
        with pytest.raises(PermanentError, match=r"row 1.*NO-SUCH-SKU"):
            await adapter.check_document(unknown)
        odd_vat = document(unique("brygga/test/shop/5002"), "", [(sku, "1", "10", "17")])
        with pytest.raises(PermanentError, match="17 % VAT"):
            await adapter.check_document(odd_vat)
        # a 12 % row on a 25 % product takes the company's 12 % tax
        other = document(unique("brygga/test/shop/5003"), "", [(sku, "1", "10", "12")])
        await adapter.check_document(other)
    count = await tryton_server.admin.call(
        "sale.sale.search_count", [["reference", "like", "%/500_"]]
    )
    assert count == 0


async def test_a_wrong_password_is_a_permanent_error_that_does_not_show_it(
    tryton_server: TrytonServer,
) -> None:
    """A real trytond refusing the login: CredentialsRejected (a PermanentError the engine
    holds the connection on) naming the login, never the password."""
    async with open_adapter(tryton_server, password="not-the-password-42") as adapter:
        with pytest.raises(CredentialsRejected) as refused:
            await adapter.find_document("x", DocumentType.ORDER)
    assert isinstance(refused.value, PermanentError)
    assert "rejected the credentials" in str(refused.value)
    assert "not-the-password-42" not in str(refused.value)


async def test_check_remote_reads_login_company_and_helper_articles(
    tryton_server: TrytonServer,
) -> None:
    await tryton_server.admin.create_fee_articles()
    await tryton_server.admin.create_fee_articles()  # a repeat adds nothing
    assert (
        await tryton_server.admin.call("product.product.search_count", [["code", "=", "fraktavg"]])
        == 1
    )
    freight = "fraktavg"
    needs = RemoteNeeds(
        helper_articles=(
            HelperArticle(LineKind.FREIGHT, freight, (Decimal(25),)),
            HelperArticle(LineKind.FEE, "NO-SUCH-FEE", (Decimal(25),)),
        )
    )
    async with open_adapter(tryton_server) as adapter:
        findings = {f.check: f for f in await adapter.verify_remote(needs)}
    assert findings["login"].ok
    assert "company" not in findings  # the admin has one
    assert findings[f"product {freight}"].ok
    assert not findings["product NO-SUCH-FEE"].ok
    async with open_adapter(tryton_server, password="wrong-987") as wrong:
        [refused] = await wrong.verify_remote(needs)
    assert (refused.check, refused.ok) == ("login", False)
    assert "wrong-987" not in refused.detail


async def test_an_exact_half_ore_of_vat_is_rounded_by_tryton_and_the_difference_is_logged(
    tryton_server: TrytonServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Tryton computes the taxes itself, half to even per document by default (trytond 8.2
    ``account.configuration`` ``default_tax_rounding`` = "document", ``currency.round``
    ROUND_HALF_EVEN); brygga's document rounds VAT half up per row. 10.10 at 25 % is 2.525:
    the shop says 2.53, Tryton 2.52. The sale is made, and the difference is logged."""
    sku = await product(tryton_server, "10.10")
    reference = unique("brygga/test/shop/7001")
    async with open_adapter(tryton_server) as adapter:
        code = await adapter.create_customer(customer(f"{unique('k')}@example.se"), "SEK")
        doc = document(reference, code, [(sku, "1", "10.10", "25")])
        with caplog.at_level("WARNING", logger="brygga_tryton"):
            await adapter.create_document(doc)
    assert doc.totals.vat == Decimal("2.53")
    sale = await tryton_server.admin.one(
        "sale.sale", [["reference", "=", reference]], ["untaxed_amount", "tax_amount"]
    )
    assert (sale["untaxed_amount"], sale["tax_amount"]) == (Decimal("10.10"), Decimal("2.52"))
    [warning] = [r for r in caplog.records if reference in r.getMessage()]
    assert "VAT 2.52" in warning.getMessage() and "VAT 2.53" in warning.getMessage()
