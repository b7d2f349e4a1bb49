"""A real Vendure server for tests: installed once per lock file, seeded once, started fresh.

Reference: ``reference/real-peers.md`` §B (Vendure 3.7.3 on sql.js: commands, config, the
populate step, gotchas). The Node project lives in ``contrib/real/vendure`` (package.json,
the committed package-lock.json, vendure-config.js, seed.js, server.js, initial-data.js,
products.csv).

Reusable pieces (the end-to-end tests import them):

- :func:`vendure_server` — the same as an async context manager (start in a worker thread).
- :func:`running_vendure` — a context manager that yields a :class:`VendureServer` (admin and
  shop API URLs, superadmin credentials, currency) for a server on a free 127.0.0.1 port with
  a fresh copy of the seeded sql.js database; the server is stopped on exit. Raises
  :class:`VendureUnavailable` when Node/npm or the npm packages cannot be had (tests turn that
  into a skip with the reason).
- :func:`place_checkout` — places an order through the Shop API the way a storefront does
  (add items, customer, address, shipping method, ArrangingPayment, payment) and returns the
  order's ``id``, ``code`` and ``state`` (``PaymentAuthorized``: the seeded payment method
  authorizes without settling).
- :func:`variant` / :func:`order` — a variant (by SKU: stock, prices) and an order (state,
  payments, fulfilments, notes) as the Admin API shows them, for assertions.
- :func:`admin_login` / :func:`admin_gql` — a logged-in Admin API client for other checks.

Where things go (nothing is written into the checkout):

- ``npm ci`` installs into ``$BRYGGA_REAL_CACHE/vendure-<hash of package-lock.json>/``
  (default ``~/.cache/brygga/real``); the NODE_PATH of the seed and server processes points
  there. A file lock makes parallel runs share one install. Cold: about 45 s; warm: 0 s.
- the seeded database template sits beside it (``seed-<hash>.sqlite``; seeding takes ~10 s
  once), and each server gets a copy in a temporary directory (start ~3-5 s).

Catalog seeded (products.csv; prices in SEK excluding VAT, channel pricesIncludeTax=false
unless asked otherwise; Swedish VAT 25 % "standard", 12 % "reduced"; shipping 49.00):

==========  =======  ==========  =====
SKU          price    tax         stock
==========  =======  ==========  =====
WIDGET-1     125.00   standard    100
GADGET-S     200.00   standard    50
GADGET-M     210.00   standard    0
COFFEE-500    89.00   reduced     400
==========  =======  ==========  =====
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx

__all__ = [
    "CATALOG",
    "PROJECT",
    "VendureServer",
    "VendureUnavailable",
    "admin_gql",
    "admin_login",
    "cache_dir",
    "order",
    "place_checkout",
    "running_vendure",
    "variant",
    "vendure_server",
]

#: the Node project (committed): package.json, package-lock.json and the scripts
PROJECT = Path(__file__).resolve().parents[3] / "contrib" / "real" / "vendure"
#: what products.csv seeds: SKU -> (price excl. VAT in minor units, VAT %, stock on hand)
CATALOG: dict[str, tuple[int, int, int]] = {
    "WIDGET-1": (12500, 25, 100),
    "GADGET-S": (20000, 25, 50),
    "GADGET-M": (21000, 25, 0),
    "COFFEE-500": (8900, 12, 400),
}
_SCRIPTS = ("vendure-config.js", "seed.js", "server.js", "initial-data.js", "products.csv")
_START_TIMEOUT = 90.0


class VendureUnavailable(Exception):
    """Node, npm or the npm packages cannot be had here: the tests skip with this reason."""


@dataclass(frozen=True)
class VendureServer:
    """A running Vendure: where its APIs are and how to log in to the Admin API."""

    base_url: str
    admin_url: str
    shop_url: str
    superadmin: str
    password: str
    currency: str
    prices_include_tax: bool
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def cache_dir() -> Path:
    """Where the npm install and the seeded database template are kept (outside the checkout):
    ``$BRYGGA_REAL_CACHE`` or ``~/.cache/brygga/real``."""
    root = os.environ.get("BRYGGA_REAL_CACHE") or str(Path.home() / ".cache" / "brygga" / "real")
    return Path(root)


def _digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _node_env(modules: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VENDURE_", "NODE_"))}
    env.update(NODE_PATH=str(modules), VENDURE_DISABLE_TELEMETRY="true", **extra)
    return env


def install() -> Path:
    """``npm ci`` of the committed lock into the cache (once per lock file); the
    ``node_modules`` directory. Raises VendureUnavailable when it cannot be done here."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise VendureUnavailable(f"{tool} is not on PATH (Vendure needs Node.js >= 20)")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    major = version.stdout.strip().lstrip("v").split(".", 1)[0]
    if not major.isdigit() or int(major) < 20:
        raise VendureUnavailable(f"Node.js {version.stdout.strip()} is too old (need >= 20)")
    lock = PROJECT / "package-lock.json"
    target = cache_dir() / f"vendure-{_digest(PROJECT / 'package.json', lock)}"
    modules = target / "node_modules"
    with _locked(cache_dir() / "vendure.lock"):
        if (target / ".installed").exists():
            return modules
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy2(PROJECT / "package.json", target / "package.json")
        shutil.copy2(lock, target / "package-lock.json")
        # --ignore-scripts: nothing on the sql.js path needs an install script (bcrypt ships
        # prebuilt binaries), and npm 11 would not run unapproved ones anyway (§B gotchas)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise VendureUnavailable(f"npm ci of contrib/real/vendure failed: {tail}")
        (target / ".installed").write_text(version.stdout)
    return modules


def seeded_template(modules: Path, *, currency: str, prices_include_tax: bool) -> Path:
    """The seeded sql.js database for these options (made once per scripts + options)."""
    key = _digest(
        *(PROJECT / name for name in _SCRIPTS),
        PROJECT / "package-lock.json",
        extra=f"{currency}/{prices_include_tax}",
    )
    template = cache_dir() / f"seed-{key}.sqlite"
    with _locked(cache_dir() / "vendure.lock"):
        if template.exists():
            return template
        partial = template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        done = subprocess.run(
            ["node", str(PROJECT / "seed.js")],
            cwd=template.parent,
            env=_node_env(
                modules,
                VENDURE_DB=str(partial),
                SEED_PORT=str(_free_port()),
                VENDURE_CURRENCY=currency,
                VENDURE_PRICES_INCLUDE_TAX="true" if prices_include_tax else "false",
            ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or "SEEDED" not in done.stdout:
            tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"seeding Vendure failed (exit {done.returncode}):\n{tail}")
        partial.rename(template)
    return template


@contextlib.asynccontextmanager
async def vendure_server(
    *,
    currency: str = "SEK",
    prices_include_tax: bool = False,
) -> AsyncIterator[VendureServer]:
    """:func:`running_vendure` for async code: install, seed and start run in a worker
    thread, so the event loop keeps running meanwhile."""
    manager = running_vendure(currency=currency, prices_include_tax=prices_include_tax)
    server = await anyio.to_thread.run_sync(manager.__enter__)
    try:
        yield server
    finally:
        await anyio.to_thread.run_sync(manager.__exit__, None, None, None)


@contextlib.contextmanager
def running_vendure(
    *,
    currency: str = "SEK",
    prices_include_tax: bool = False,
    superadmin: str = "superadmin",
    password: str = "superadmin",
) -> Iterator[VendureServer]:
    """A Vendure server on a free 127.0.0.1 port with a fresh copy of the seeded database,
    stopped (SIGTERM, then SIGKILL) on exit. Raises VendureUnavailable (skip) when Node or the
    packages cannot be had, RuntimeError when the server does not come up."""
    modules = install()
    template = seeded_template(modules, currency=currency, prices_include_tax=prices_include_tax)
    with tempfile.TemporaryDirectory(prefix="brygga-vendure-") as scratch:
        work = Path(scratch)
        database = work / "vendure.sqlite"
        shutil.copy2(template, database)
        port = _free_port()
        log_path = work / "server.log"
        base = f"http://127.0.0.1:{port}"
        server = VendureServer(
            base_url=base,
            admin_url=f"{base}/admin-api",
            shop_url=f"{base}/shop-api",
            superadmin=superadmin,
            password=password,
            currency=currency,
            prices_include_tax=prices_include_tax,
            log_path=log_path,
        )
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                ["node", str(PROJECT / "server.js")],
                cwd=work,
                env=_node_env(
                    modules,
                    PORT=str(port),
                    VENDURE_DB=str(database),
                    VENDURE_SUPERADMIN=superadmin,
                    VENDURE_SUPERADMIN_PASSWORD=password,
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(server, process)
            yield server
        finally:
            _stop(process)


def _wait_ready(server: VendureServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Vendure exited with {process.returncode} before it was ready:\n"
                f"{server.log_tail()}"
            )
        if "VENDURE READY" in server.log_path.read_text(errors="replace"):
            try:
                if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f"Vendure was not ready within {_START_TIMEOUT:g} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# GraphQL helpers (plain httpx: they check the server, so they do not use the adapter)


async def _gql(
    client: httpx.AsyncClient, url: str, query: str, variables: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(url, json={"query": query, "variables": dict(variables or {})})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors from {url}: {body['errors']}")
    token = response.headers.get("vendure-auth-token")
    if token:  # the session token comes back in this header (real-peers §B)
        client.headers["Authorization"] = f"Bearer {token}"
    data: dict[str, Any] = body["data"]
    return data


#: one admin session per server (a login costs a bcrypt check on the server)
_ADMIN_TOKENS: dict[str, str] = {}


async def admin_login(server: VendureServer, client: httpx.AsyncClient) -> None:
    """Log ``client`` in to the Admin API as the superadmin (bearer token kept on it; the
    session is shared by every client of this server)."""
    token = _ADMIN_TOKENS.get(server.admin_url)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
        return
    data = await _gql(
        client,
        server.admin_url,
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) {"
        " __typename ... on CurrentUser { id } ... on ErrorResult { message } } }",
        {"u": server.superadmin, "p": server.password},
    )
    if data["login"]["__typename"] != "CurrentUser":
        raise AssertionError(f"admin login refused: {data['login']}")
    _ADMIN_TOKENS[server.admin_url] = client.headers["Authorization"].removeprefix("Bearer ")


async def admin_gql(
    server: VendureServer,
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Admin API call with ``client`` (log it in first with :func:`admin_login`)."""
    return await _gql(client, server.admin_url, query, variables)


async def variant(server: VendureServer, sku: str) -> dict[str, Any]:
    """The variant with ``sku`` as the Admin API shows it: ``id``, ``sku``, ``stockOnHand``,
    ``stockAllocated``, ``price``, ``priceWithTax``, ``prices``, ``enabled``."""
    async with httpx.AsyncClient(timeout=30) as admin:
        await admin_login(server, admin)
        data = await admin_gql(
            server,
            admin,
            "query($sku: String!) { productVariants(options: {filter: {sku: {eq: $sku}}}) {"
            " items { id sku stockOnHand stockAllocated price priceWithTax enabled"
            " prices { currencyCode price } } } }",
            {"sku": sku},
        )
    (found,) = data["productVariants"]["items"]
    return dict(found)


async def order(server: VendureServer, order_id: str) -> dict[str, Any]:
    """The order as the Admin API shows it: ``code``, ``state``, ``updatedAt``,
    ``totalWithTax``, ``payments { state }``, ``fulfillments { state method trackingCode }``
    and its ORDER_NOTE history entries (``history { items { isPublic data } }``)."""
    async with httpx.AsyncClient(timeout=30) as admin:
        await admin_login(server, admin)
        data = await admin_gql(
            server,
            admin,
            "query($id: ID!) { order(id: $id) { code state updatedAt totalWithTax"
            " payments { state } fulfillments { state method trackingCode }"
            ' history(options: {filter: {type: {eq: "ORDER_NOTE"}}}) {'
            " items { isPublic data } } } }",
            {"id": order_id},
        )
    found: dict[str, Any] = data["order"]
    return found


@dataclass(frozen=True)
class PlacedOrder:
    id: str
    code: str
    state: str
    total_with_tax: int


async def place_checkout(
    server: VendureServer,
    items: Sequence[tuple[str, int]],
    *,
    email: str = "anna.andersson@example.se",
    first_name: str = "Anna",
    last_name: str = "Andersson",
    company: str = "",
    street: str = "Storgatan 1",
    postal_code: str = "111 22",
    city: str = "Stockholm",
    country: str = "SE",
    phone: str = "+46 8 123 456",
) -> PlacedOrder:
    """Place an order through the Shop API as a guest storefront does (real-peers §B order of
    calls): ``addItemToOrder`` per ``(sku, quantity)``, ``setCustomerForOrder``,
    ``setOrderShippingAddress``, ``setOrderBillingAddress``, ``eligibleShippingMethods`` +
    ``setOrderShippingMethod``, ``transitionOrderToState(ArrangingPayment)``,
    ``addPaymentToOrder(standard-payment)``. The order ends in ``PaymentAuthorized``."""
    async with httpx.AsyncClient(timeout=30) as shop:
        found = await _gql(
            shop,
            server.shop_url,
            "{ products(options: {take: 100}) { items { variants { id sku } } } }",
        )
        ids = {v["sku"]: v["id"] for p in found["products"]["items"] for v in p["variants"]}
        for sku, quantity in items:
            if sku not in ids:
                raise AssertionError(f"no variant with SKU {sku} in the seeded shop")
            added = await _gql(
                shop,
                server.shop_url,
                "mutation($id: ID!, $q: Int!) { addItemToOrder(productVariantId: $id,"
                " quantity: $q) { __typename ... on ErrorResult { message } } }",
                {"id": ids[sku], "q": quantity},
            )
            if added["addItemToOrder"]["__typename"] != "Order":
                raise AssertionError(f"addItemToOrder {sku}: {added['addItemToOrder']}")
        steps: list[tuple[str, dict[str, Any]]] = [
            (
                "mutation($i: CreateCustomerInput!) { setCustomerForOrder(input: $i) {"
                " __typename ... on ErrorResult { message } } }",
                {
                    "i": {
                        "emailAddress": email,
                        "firstName": first_name,
                        "lastName": last_name,
                        "phoneNumber": phone,
                    }
                },
            ),
        ]
        address = {
            "fullName": f"{first_name} {last_name}",
            "company": company,
            "streetLine1": street,
            "postalCode": postal_code,
            "city": city,
            "countryCode": country,
            "phoneNumber": phone,
        }
        steps.append(
            (
                "mutation($i: CreateAddressInput!) { setOrderShippingAddress(input: $i) {"
                " __typename ... on ErrorResult { message } } }",
                {"i": address},
            )
        )
        steps.append(
            (
                "mutation($i: CreateAddressInput!) { setOrderBillingAddress(input: $i) {"
                " __typename ... on ErrorResult { message } } }",
                {"i": address},
            )
        )
        for query, variables in steps:
            data = await _gql(shop, server.shop_url, query, variables)
            (answer,) = data.values()
            if answer["__typename"] != "Order":
                raise AssertionError(f"shop checkout step failed: {answer}")
        methods = await _gql(shop, server.shop_url, "{ eligibleShippingMethods { id } }")
        method_id = methods["eligibleShippingMethods"][0]["id"]
        for query, variables in (
            (
                "mutation($id: [ID!]!) { setOrderShippingMethod(shippingMethodId: $id) {"
                " __typename ... on ErrorResult { message } } }",
                {"id": [method_id]},
            ),
            (
                'mutation { transitionOrderToState(state: "ArrangingPayment") {'
                " __typename ... on ErrorResult { message } } }",
                {},
            ),
        ):
            data = await _gql(shop, server.shop_url, query, variables)
            (answer,) = data.values()
            if answer["__typename"] != "Order":
                raise AssertionError(f"shop checkout step failed: {answer}")
        paid = await _gql(
            shop,
            server.shop_url,
            'mutation { addPaymentToOrder(input: {method: "standard-payment", metadata: {}})'
            " { __typename ... on Order { id code state totalWithTax }"
            " ... on ErrorResult { message } } }",
        )
        order = paid["addPaymentToOrder"]
        if order["__typename"] != "Order":
            raise AssertionError(f"addPaymentToOrder failed: {order}")
        return PlacedOrder(
            id=str(order["id"]),
            code=order["code"],
            state=order["state"],
            total_with_tax=int(order["totalWithTax"]),
        )
