"""A real trytond on loopback for tests and demos: installed, started, set up, stopped.

Nothing in the daemon imports this module. It drives ``contrib/real/tryton/setup.sh`` (a pinned
trytond in its own venv plus a template SQLite database with the sale, invoice and stock modules
activated, cached), then :func:`running_tryton` copies the template, starts ``trytond -d`` on a
free 127.0.0.1 port and sets the database up the way reference/real-peers.md §A verified it
(company, chart of accounts, fiscal year with invoice sequences, a product category with
accounts, VAT taxes), and yields a :class:`TrytonServer`::

    async with running_tryton() as server:
        config = {"kind": "tryton", "base_url": server.url, "database": server.database,
                  "login": server.login, "password": server.password}
        await server.admin.create_product("SKU-1", "Mug", Decimal("100"), vat=Decimal("25"),
                                          stock=Decimal("7"))

It raises :class:`TrytonUnavailable` (tests skip on it) when trytond cannot be installed.
:class:`TrytonAdmin` is the person at the Tryton client: it creates products and stock,
ships a sale, posts and pays its invoices, cancels it, with its own tiny JSON-RPC codec (not
the adapter's, so a mistake there cannot hide one of the adapter's).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx

__all__ = [
    "DATABASE",
    "TrytonAdmin",
    "TrytonServer",
    "TrytonUnavailable",
    "default_cache",
    "ensure_installed",
    "running_tryton",
]

DATABASE = "brygga"
LOGIN = "admin"
#: the repository's setup script (this module sits in plugins/brygga_tryton/)
SETUP_SCRIPT = Path(__file__).resolve().parents[2] / "contrib" / "real" / "tryton" / "setup.sh"
#: VAT rates the set-up database has taxes for (Swedish rates)
#: the admin password setup.sh gives the template database (a throwaway loopback database)
TEMPLATE_PASSWORD = "brygga-template-admin"
VAT_RATES = (Decimal("25"), Decimal("12"), Decimal("6"))


class TrytonUnavailable(RuntimeError):
    """trytond could not be installed or started here; the message says why."""


def default_cache() -> Path:
    """``$BRYGGA_REAL_CACHE/tryton``, else ``/tmp/brygga-real-cache/tryton``."""
    root = os.environ.get("BRYGGA_REAL_CACHE") or str(
        Path(tempfile.gettempdir(), "brygga-real-cache")
    )
    return Path(root) / "tryton"


def ensure_installed(cache: Path | None = None, *, timeout: float = 300.0) -> Path:
    """Run the setup script (a no-op when the cache is complete); the cache directory."""
    cache = cache or default_cache()
    if not SETUP_SCRIPT.is_file():
        raise TrytonUnavailable(f"{SETUP_SCRIPT} is missing (not a brygga checkout?)")
    if not (
        os.environ.get("BRYGGA_REAL_PYTHON")
        or shutil.which("python3.11")
        or shutil.which("python3")
    ):
        raise TrytonUnavailable("no python3.11 or python3 on PATH (set BRYGGA_REAL_PYTHON)")
    if shutil.which("flock") is None:
        raise TrytonUnavailable("flock (util-linux) is not on PATH")
    try:
        done = subprocess.run(
            ["bash", str(SETUP_SCRIPT), str(cache)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrytonUnavailable(f"trytond setup did not finish: {exc}") from None
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if "is ignored" not in line][-8:]
        raise TrytonUnavailable(
            f"trytond could not be installed (setup.sh exit {done.returncode}): " + " | ".join(tail)
        )
    return cache


# --- the harness's own JSON-RPC codec ---------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime):
        return {
            "__class__": "datetime",
            **{
                k: getattr(value, k)
                for k in ("year", "month", "day", "hour", "minute", "second", "microsecond")
            },
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _hook(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj.get("microsecond", 0),
        )
    return obj


class RpcFault(RuntimeError):
    """A JSON-RPC error answer: ``error`` is Tryton's error array."""

    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method}: {str(error)[:500]}")
        self.error = error


@dataclass
class TrytonAdmin:
    """The admin user at the Tryton client, over JSON-RPC (the harness's own calls)."""

    url: str
    database: str
    login: str
    password: str
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=60.0))
    context: dict[str, Any] = field(default_factory=dict)
    _auth: str = ""
    _ids: int = 0
    #: filled by the set-up: ids of the company, warehouse, locations, taxes by rate, ...
    ids: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def raw(self, path: str, method: str, *params: Any) -> Any:
        self._ids += 1
        body = json.dumps({"id": self._ids, "method": method, "params": _encode(list(params))})
        headers = {"Content-Type": "application/json"}
        if self._auth:
            headers["Authorization"] = self._auth
        response = await self.http.post(f"{self.url}{path}", content=body, headers=headers)
        response.raise_for_status()
        answer = json.loads(response.text, object_hook=_hook)
        if answer.get("error") is not None:
            raise RpcFault(method, answer["error"])
        return answer["result"]

    async def sign_in(self) -> None:
        user, session, *_ = await self.raw(
            f"/{self.database}/rpc/",
            "common.db.login",
            self.login,
            {"password": self.password},
            "en",
        )
        token = base64.b64encode(f"{self.login}:{user}:{session}".encode()).decode()
        self._auth = f"Session {token}"
        self.ids["user"] = user
        await self.refresh_context()

    async def refresh_context(self) -> None:
        self.context = await self.call("res.user.get_preferences", True, {})

    async def call(
        self, method: str, *params: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        """``model.<method>`` with the user's context (and ``context``) as the last parameter."""
        prefix = "" if method.startswith(("wizard.", "model.")) else "model."
        if method == "res.user.get_preferences":
            return await self.raw(f"/{self.database}/rpc/", "model." + method, *params)
        return await self.raw(
            f"/{self.database}/rpc/", prefix + method, *params, {**self.context, **(context or {})}
        )

    async def search_read(
        self, model: str, domain: list[Any], fields: list[str], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call(
            f"{model}.search_read", domain, 0, limit, [["id", "ASC"]], fields
        )
        return result

    async def one(
        self, model: str, domain: list[Any], fields: list[str] | None = None
    ) -> dict[str, Any]:
        rows = await self.search_read(model, domain, fields or ["id"], limit=1)
        if not rows:
            raise LookupError(f"no {model} matching {domain}")
        return rows[0]

    async def create(self, model: str, values: Mapping[str, Any]) -> int:
        ids: list[int] = await self.call(f"{model}.create", [dict(values)])
        return ids[0]

    async def wizard(
        self,
        name: str,
        steps: list[tuple[str, dict[str, Any]]],
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Run wizard ``name`` through ``steps``: (state to execute, data of the views)."""
        sid, _start, _end = await self.call(f"wizard.{name}.create", context=context)
        try:
            for state, data in steps:
                await self.call(f"wizard.{name}.execute", sid, data, state, context=context)
        finally:
            await self.call(f"wizard.{name}.delete", sid, context=context)

    # --- set-up (reference/real-peers.md §A, "Sequence that worked") ------------------------

    async def set_up_company(self, today: date) -> None:
        """Currency SEK, the company, the chart of accounts, the fiscal year, a product
        category with accounts, VAT taxes at 25/12/6 %, the warehouse and its locations."""
        ids = self.ids
        ids["currency"] = await self.create(
            "currency.currency",
            {
                "name": "Swedish krona",
                "code": "SEK",
                "symbol": "kr",
                "rounding": Decimal("0.01"),
                "digits": 2,
            },
        )
        party = await self.create("party.party", {"name": "Brygga Testbolag AB"})
        ids["company"] = await self.create(
            "company.company", {"party": party, "currency": ids["currency"]}
        )
        await self.call(
            "res.user.write",
            [ids["user"]],
            {"companies": [["add", [ids["company"]]]], "company": ids["company"]},
        )
        await self.refresh_context()
        template = await self.one(
            "account.account.template",
            [["name", "=", "Universal Chart of Accounts"], ["parent", "=", None]],
        )
        await self.wizard(
            "account.create_chart",
            [
                ("account", {}),
                (
                    "create_account",
                    {"account": {"company": ids["company"], "account_template": template["id"]}},
                ),
            ],
        )
        receivable = await self.one(
            "account.account",
            [["type.receivable", "=", True], ["party_required", "=", True], ["closed", "!=", True]],
        )
        payable = await self.one(
            "account.account",
            [["type.payable", "=", True], ["party_required", "=", True], ["closed", "!=", True]],
        )
        ids["receivable"], ids["payable"] = receivable["id"], payable["id"]
        await self.wizard(
            "account.create_chart",
            [
                ("account", {}),
                (
                    "create_properties",
                    {
                        "properties": {
                            "company": ids["company"],
                            "account_receivable": receivable["id"],
                            "account_payable": payable["id"],
                        }
                    },
                ),
            ],
        )
        await self._fiscal_year(today)
        revenue = await self.one(
            "account.account", [["type.revenue", "=", True], ["closed", "!=", True]]
        )
        expense = await self.one(
            "account.account", [["type.expense", "=", True], ["closed", "!=", True]]
        )
        ids["revenue"], ids["expense"] = revenue["id"], expense["id"]
        tax_account = await self.one(
            "account.account",
            [
                ["type.statement", "=", "balance"],
                ["closed", "!=", True],
                ["type.payable", "=", False],
                ["type.receivable", "=", False],
                ["party_required", "=", False],
            ],
        )
        ids["cash_account"] = tax_account["id"]
        ids["taxes"] = {}
        for rate in VAT_RATES:
            ids["taxes"][rate] = await self.create(
                "account.tax",
                {
                    "name": f"Moms {rate} %",
                    "description": f"Utgående moms {rate} %",
                    "type": "percentage",
                    "rate": rate / 100,
                    "company": ids["company"],
                    "invoice_account": tax_account["id"],
                    "credit_note_account": tax_account["id"],
                },
            )
        ids["category"] = {}
        for rate, tax in ids["taxes"].items():
            ids["category"][rate] = await self.create(
                "product.category",
                {
                    "name": f"Varor {rate} %",
                    "accounting": True,
                    "account_revenue": revenue["id"],
                    "account_expense": expense["id"],
                    "customer_taxes": [["add", [tax]]],
                },
            )
        # VAT-free articles (rounding rows, exports): a category without customer taxes
        ids["category"][Decimal(0)] = await self.create(
            "product.category",
            {
                "name": "Momsfritt",
                "accounting": True,
                "account_revenue": revenue["id"],
                "account_expense": expense["id"],
            },
        )
        ids["unit"] = (await self.one("product.uom", [["symbol", "=", "u"]]))["id"]
        warehouse = await self.one(
            "stock.location", [["type", "=", "warehouse"]], ["id", "storage_location"]
        )
        ids["warehouse"], ids["storage"] = warehouse["id"], warehouse["storage_location"]
        ids["lost_found"] = (await self.one("stock.location", [["type", "=", "lost_found"]]))["id"]
        ids["customer_location"] = (await self.one("stock.location", [["type", "=", "customer"]]))[
            "id"
        ]

    async def _fiscal_year(self, today: date) -> None:
        ids = self.ids
        move_type = await self.one("ir.sequence.type", [["name", "=", "Account Move"]])
        invoice_type = await self.one("ir.sequence.type", [["name", "=", "Invoice"]])
        move_seq = await self.create(
            "ir.sequence.strict",
            {
                "name": f"Moves {today.year}",
                "sequence_type": move_type["id"],
                "company": ids["company"],
            },
        )
        invoice_seq = await self.create(
            "ir.sequence.strict",
            {
                "name": f"Invoices {today.year}",
                "sequence_type": invoice_type["id"],
                "company": ids["company"],
                "prefix": f"INV{today.year}-",
            },
        )
        year = await self.create(
            "account.fiscalyear",
            {
                "name": str(today.year),
                "start_date": date(today.year, 1, 1),
                "end_date": date(today.year, 12, 31),
                "company": ids["company"],
                "move_sequence": move_seq,
                "invoice_sequences": [
                    [
                        "create",
                        [
                            {
                                "company": ids["company"],
                                "in_invoice_sequence": invoice_seq,
                                "in_credit_note_sequence": invoice_seq,
                                "out_invoice_sequence": invoice_seq,
                                "out_credit_note_sequence": invoice_seq,
                            }
                        ],
                    ]
                ],
            },
        )
        await self.call("account.fiscalyear.create_period", [year])
        ids["fiscalyear"] = year

    # --- what a person does in Tryton -----------------------------------------------------

    async def create_product(
        self,
        sku: str,
        name: str,
        price: Decimal,
        *,
        vat: Decimal = Decimal("25"),
        stock: Decimal = Decimal(0),
        kind: str = "goods",
    ) -> int:
        """A salable product (template + one variant) with code ``sku``, list price ``price``
        (excl. VAT) in the category whose customer tax is ``vat`` %; ``stock`` put in."""
        template = await self.create(
            "product.template",
            {
                "name": name,
                "code": sku,
                "type": kind,
                "default_uom": self.ids["unit"],
                "salable": True,
                "sale_uom": self.ids["unit"],
                "list_price": price,
                "account_category": self.ids["category"][vat],
                "products": [["create", [{}]]],
            },
        )
        product = await self.one("product.product", [["template", "=", template]])
        if stock:
            await self.add_stock(product["id"], stock)
        return int(product["id"])

    async def create_fee_articles(
        self, numbers: tuple[str, ...] = ("fraktavg", "expavg", "rabatt", "avrundning")
    ) -> None:
        """Service products for brygga's default fee article numbers (freight, handling,
        discount at 25 %, rounding VAT-free); those that exist already are left alone."""
        have = {r["code"] for r in await self.search_read("product.product", [], ["code"])}
        for number in numbers:
            if number not in have:
                vat = Decimal(0) if number == "avrundning" else Decimal(25)
                await self.create_product(number, number, Decimal(0), vat=vat, kind="service")

    async def product_id(self, sku: str) -> int:
        """The ``product.product`` id of the variant with code ``sku``."""
        return int((await self.one("product.product", [["code", "=", sku]]))["id"])

    async def add_stock(self, product: int, quantity: Decimal) -> None:
        """An inventory move from lost-and-found into the warehouse's storage, done."""
        move = await self.create(
            "stock.move",
            {
                "product": product,
                "unit": self.ids["unit"],
                "quantity": float(quantity),
                "from_location": self.ids["lost_found"],
                "to_location": self.ids["storage"],
                "company": self.ids["company"],
            },
        )
        await self.call("stock.move.do", [move])

    async def set_list_price(self, product: int, price: Decimal) -> None:
        row = await self.one("product.product", [["id", "=", product]], ["template"])
        await self.call("product.template.write", [row["template"]], {"list_price": price})

    async def sale_by_reference(self, reference: str) -> dict[str, Any]:
        return await self.one(
            "sale.sale",
            [["reference", "=", reference]],
            ["id", "number", "state", "invoices", "shipments", "invoice_state", "shipment_state"],
        )

    async def process(self, reference: str) -> None:
        sale = await self.sale_by_reference(reference)
        if sale["state"] == "draft":
            await self.call("sale.sale.quote", [sale["id"]])
        if sale["state"] in ("draft", "quotation"):
            await self.call("sale.sale.confirm", [sale["id"]])
        await self.call("sale.sale.process", [sale["id"]])

    async def post_invoices(self, reference: str) -> list[str]:
        """Post the sale's draft invoices; their numbers."""
        sale = await self.sale_by_reference(reference)
        if not sale["invoices"]:
            raise LookupError(f"sale {reference} has no invoice (not processed?)")
        await self.call("account.invoice.post", sale["invoices"])
        rows = await self.call("account.invoice.read", sale["invoices"], ["number"])
        return [row["number"] for row in rows]

    async def ship(self, reference: str) -> None:
        """Pick, pack and ship every customer shipment of the sale (stock must be there)."""
        sale = await self.sale_by_reference(reference)
        if not sale["shipments"]:
            raise LookupError(f"sale {reference} has no shipment (not processed?)")
        for step in ("wait", "assign_force", "pick", "pack", "do"):
            await self.call(f"stock.shipment.out.{step}", sale["shipments"])

    async def pay(self, reference: str) -> None:
        """Pay each posted invoice of the sale in full (the account.invoice.pay wizard, with a
        cash payment method made on first use)."""
        if "payment_method" not in self.ids:
            journal = await self.one("account.journal", [["type", "=", "cash"]])
            self.ids["payment_method"] = await self.create(
                "account.invoice.payment.method",
                {
                    "name": "Kassa",
                    "company": self.ids["company"],
                    "journal": journal["id"],
                    "credit_account": self.ids["cash_account"],
                    "debit_account": self.ids["cash_account"],
                },
            )
        sale = await self.sale_by_reference(reference)
        rows = await self.call(
            "account.invoice.read",
            sale["invoices"],
            ["id", "party", "currency", "company", "account", "amount_to_pay", "state"],
        )
        for invoice in rows:
            if invoice["state"] != "posted":
                continue
            context = {
                "active_model": "account.invoice",
                "active_id": invoice["id"],
                "active_ids": [invoice["id"]],
            }
            start = {
                "payee": invoice["party"],
                "amount": invoice["amount_to_pay"],
                "currency": invoice["currency"],
                "company": invoice["company"],
                "invoice_account": invoice["account"],
                "payment_method": self.ids["payment_method"],
                "date": date.today(),
                "description": f"Payment {reference}",
            }
            await self.wizard("account.invoice.pay", [("choice", {"start": start})], context)

    async def cancel(self, reference: str) -> None:
        sale = await self.sale_by_reference(reference)
        await self.call("sale.sale.cancel", [sale["id"]])


@dataclass
class TrytonServer:
    """A running trytond: where it listens, the credentials, and the admin's harness."""

    url: str
    database: str
    login: str
    password: str
    admin: TrytonAdmin
    directory: Path
    log_path: Path

    def adapter_config(self, **extra: Any) -> dict[str, Any]:
        """The ``[connection.erp]`` table for this server (the password given inline)."""
        return {
            "kind": "tryton",
            "base_url": self.url,
            "database": self.database,
            "login": self.login,
            "password": self.password,
            **extra,
        }

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _prepare_directory(cache: Path) -> tuple[Path, int]:
    """A fresh directory with a copy of the template database and a trytond.conf listening on
    a free loopback port. The directory is in memory-backed storage where there is some:
    SQLite's syncs on commit cost more than the work of most calls."""
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="brygga-tryton-", dir=where))
    try:
        shutil.copyfile(cache / "template" / f"{DATABASE}.sqlite", directory / f"{DATABASE}.sqlite")
        port = _free_port()
        (directory / "trytond.conf").write_text(
            f"[database]\nuri = sqlite://\npath = {directory}\n"
            f"[web]\nlisten = 127.0.0.1:{port}\n"
            # the wrong-password test may not lock the admin out for 5 minutes
            "[session]\nmax_attempt = 100\n",
            encoding="utf-8",
        )
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory, port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_tryton(
    cache: Path | None = None,
    *,
    today: date | None = None,
    start_timeout: float = 30.0,
) -> AsyncIterator[TrytonServer]:
    """Install (cached), start and set up a trytond on a fresh copy of the template database;
    stopped and its directory removed on exit. Raises TrytonUnavailable when it cannot."""
    cache = await anyio.to_thread.run_sync(ensure_installed, cache)
    venv_bin = cache / "venv" / "bin"
    directory, port = await anyio.to_thread.run_sync(_prepare_directory, cache)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTON")}
    password = TEMPLATE_PASSWORD
    log_path = directory / "trytond.log"
    url = f"http://127.0.0.1:{port}"
    admin = TrytonAdmin(url=url, database=DATABASE, login=LOGIN, password=password)
    try:
        with log_path.open("wb") as log_file:
            process = await anyio.open_process(
                [str(venv_bin / "trytond"), "-c", str(directory / "trytond.conf"), "-d", DATABASE],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = TrytonServer(
            url=url,
            database=DATABASE,
            login=LOGIN,
            password=password,
            admin=admin,
            directory=directory,
            log_path=log_path,
        )
        try:
            await _wait_ready(admin, process, start_timeout, server)
            await admin.sign_in()
            await admin.set_up_company(today or date.today())
            yield server
        finally:
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(10, shield=True):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    with anyio.CancelScope(shield=True):
                        await process.wait()
            with anyio.CancelScope(shield=True):
                await process.aclose()
    finally:
        with anyio.CancelScope(shield=True):
            await admin.aclose()
        shutil.rmtree(directory, ignore_errors=True)


async def _wait_ready(
    admin: TrytonAdmin, process: anyio.abc.Process, within: float, server: TrytonServer
) -> None:
    deadline = time.monotonic() + within
    while True:
        if process.returncode is not None:
            raise TrytonUnavailable(
                f"trytond exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            await admin.raw("/rpc/", "common.server.version")
            return
        except (httpx.TransportError, httpx.HTTPStatusError):
            if time.monotonic() > deadline:
                raise TrytonUnavailable(
                    f"trytond did not answer within {within:g} s:\n{server.log_tail()}"
                ) from None
            await anyio.sleep(0.1)


#: the demo catalog the simulated shops start with (SKU, name, price excl. VAT, VAT rate), so a
#: person can point a shop at this trytond and watch orders arrive (``python -m ... --catalog``)
DEMO_CATALOG: tuple[tuple[str, str, str, str], ...] = (
    ("KAFFE-500", "Kaffe mellanrost 500 g", "89.00", "25"),
    ("MUGG-VIT", "Mugg vit", "119.20", "25"),
    ("TE-100", "Te Earl Grey 100 g", "45.00", "12"),
    ("CHOKLAD-70", "Choklad 70 %", "32.50", "12"),
    ("BOK-01", "Boken om kaffe", "199.00", "6"),
    ("TIDNING-12", "Kaffetidningen 12 nr", "59.00", "6"),
    ("TROJA-S", "Tröja S", "299.00", "25"),
    ("TROJA-M", "Tröja M", "299.00", "25"),
    ("TROJA-L", "Tröja L", "299.00", "25"),
)


async def _serve(catalog: bool, stock: Decimal) -> None:
    async with running_tryton() as server:
        if catalog:
            await server.admin.create_fee_articles()
            for sku, name, price, vat in DEMO_CATALOG:
                await server.admin.create_product(
                    sku, name, Decimal(price), vat=Decimal(vat), stock=stock
                )
        print(f"trytond {server.url} database {server.database!r}", flush=True)
        print("[connection.erp] for brygga:", flush=True)
        for key, value in server.adapter_config().items():
            print(f"  {key} = {json.dumps(value)}", flush=True)
        print("Ctrl-C stops it (and removes its database).", flush=True)
        await anyio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    """``python -m brygga_tryton.realserver [--catalog] [--stock N]``: a set-up trytond on
    loopback for a person to watch (the demo's real ERP), until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m brygga_tryton.realserver")
    parser.add_argument("--catalog", action="store_true", help="add the demo catalog and fees")
    parser.add_argument("--stock", type=Decimal, default=Decimal(20), help="stock per article")
    options = parser.parse_args(argv)
    try:
        anyio.run(_serve, options.catalog, options.stock)
    except TrytonUnavailable as exc:
        raise SystemExit(f"trytond unavailable: {exc}") from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
