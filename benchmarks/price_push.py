"""Price push: what N changed SKUs' prices cost in Starweb requests (the price and price-list
registers into one Starweb shop).

Drives the Starweb adapter directly (its ``PriceSink.put_price`` and
``PriceListSink.put_list_price``, as the daemon's price workers call them) against the Starweb
simulator in this process (``httpx.ASGITransport``, no network, no injected latency; the
adapter's rate limit lifted), and counts every request the simulator served, by endpoint
(method and path with ids as ``{n}``, plus the query parameters that select: ``filterSku``,
``updatedSince``).

The shop: ``--skus`` SKUs (default 1,000 and 10,000) in products like ``initial_sync.py``'s:
of every 5 products the first has three variants (``-S``, ``-M``, ``-L``), the others one, so
N SKUs are about N / 1.4 products; every SKU has a price in the master price list. Phases, in
one adapter (as one daemon keeps its adapter between pushes):

- ``prices first``: every SKU's price changed at the source, pushed after the adapter started
  (nothing read yet);
- ``prices changed``: every price changed again (what the adapter learnt is still there);
- ``list first`` / ``list changed``: ``--list-skus`` SKUs (default 1,000) into the customer
  price list ``Återförsäljare`` (id 2), which holds no price for them yet, then changed.

``--paced R`` runs the shop and the adapter on a simulated clock that moves ``1/R`` s with each
request, as if the shop took R requests a second (Starweb publishes no limit; brygga's default
is 10/s): the SKU index is then read again (``updatedSince``) every 60 s of that time while
prices are written, as in a long push, and those reads (the pushed products themselves, their
``modifiedAt`` moved by the writes) are in the count. Without it the run takes a few seconds of
real time and the index is never stale.

The documented minimum (reference/shop-apis.md §2.3–2.4, §2.9): one write per SKU
(``PUT|PATCH …/variants/{vid}/prices/{pricelistId}``, or ``POST …/prices`` for a price list the
variant has no price in), plus, to learn where each SKU is (Starweb has no write by SKU), the
product list once: ``ceil(products / 100)`` pages of ``GET /products`` (the server's page size
is 100) and one ``GET /products/{id}/variants`` per product with several variants (list calls
return only the primary variant). The ``first`` phases are measured against writes + that
read; the ``changed`` phases against the writes alone (the list was read). Reference data (a
token, the price lists) is in the count, not in the minimum.

::

    .venv/bin/python benchmarks/price_push.py                        # 1,000 and 10,000 SKUs
    .venv/bin/python benchmarks/price_push.py --skus 1000 --json
    .venv/bin/python benchmarks/price_push.py --paced 10        # as at 10 requests/s
    PYTHONPATH=/tmp/before/daemon:/tmp/before/plugins .venv/bin/python benchmarks/price_push.py

Brygga API used: ``StarwebAdapter`` / ``StarwebConfig`` (``brygga_starweb.adapter``),
``AdapterContext``, ``HttpContext``, ``ListPrice``, and the simulator's ``add_product``,
``adapter_config``, ``requests`` and ``price``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env beside this script
from bench_env import code_under_test, machine, package_commit, print_document

from brygga.adapters import AdapterContext
from brygga.catalog import ListPrice
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.secrets import Secret, resolve_secret
from brygga_starweb.adapter import StarwebAdapter, StarwebConfig
from brygga_starweb.simulator import StarwebSimulator

BASE_URL = "https://butiken.starwebserver.se/api/v2"
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}
PAGE_SIZE = 100
#: the simulator's customer price list
CUSTOMER_LIST = 2
ID = re.compile(r"/\d+")
SELECTING = ("filterSku", "updatedSince")


def skus_of(n: int) -> list[tuple[str, str, str]]:
    """``n`` SKUs as (sku, product group, variant name); every 5th product has 3 variants."""
    out: list[tuple[str, str, str]] = []
    i = 0
    while len(out) < n:
        if i % 5 == 0:
            out += [(f"P{i:06d}-{v}", f"P{i:06d}", v) for v in ("S", "M", "L")]
        else:
            out.append((f"P{i:06d}", "", ""))
        i += 1
    return out[:n]


class Log:
    """The ASGI app with every request's method, path and selecting parameters noted (and
    ``clock`` moved ``step`` seconds at each)."""

    def __init__(self, app: Any, clock: FakeClock | None = None, step: float = 0.0) -> None:
        self.app = app
        self.requests: list[str] = []
        self.clock, self.step = clock, step

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if self.clock is not None:
                self.clock.advance(self.step)
            path = ID.sub("/{n}", scope["path"].removeprefix("/api/v2"))
            query = scope.get("query_string", b"").decode()
            names = [p for p in SELECTING if f"{p}=" in query]
            self.requests.append(
                f"{scope['method']} {path}" + (f"?{','.join(names)}" if names else "")
            )
        await self.app(scope, receive, send)


def _dec_hook(type_: type, value: Any) -> Any:
    if type_ is Secret:
        return resolve_secret(value)
    raise NotImplementedError(type_)


def by_endpoint(requests: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in requests:
        counts[r] = counts.get(r, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def phase(
    name: str, log: Log, since: int, seconds: float, n: int, minimum: int, results: dict[str, int]
) -> dict[str, Any]:
    requests = log.requests[since:]
    counts = by_endpoint(requests)
    writes = sum(v for k, v in counts.items() if not k.startswith("GET") and k != "POST /token")
    return {
        "phase": name,
        "skus": n,
        "seconds": round(seconds, 2),
        "skus_per_s": round(n / seconds, 1) if seconds else None,
        "requests": len(requests),
        "requests_per_sku": round(len(requests) / n, 3),
        "writes": writes,
        "minimum": minimum,
        "ratio_to_minimum": round(len(requests) / minimum, 3),
        "results": results,
        "by_endpoint": counts,
    }


async def run_once(n: int, list_skus: int, paced: float | None) -> dict[str, Any]:
    clock = FakeClock() if paced else None
    sim = StarwebSimulator(clock=clock, seed_catalog=False, page_size=PAGE_SIZE)
    made = time.perf_counter()
    catalog = skus_of(n)
    for sku, group, variant in catalog:
        sim.add_product(
            sku,
            f"Artikel {sku}",
            price=Decimal(100),
            product=group,
            variant=variant,
            stock=Decimal(1),
        )
    products = len(sim.catalog.products)
    several = sum(1 for p in sim.catalog.products.values() if len(p.variants) > 1)
    print(
        f"{n} SKUs: shop filled ({products} products) in {time.perf_counter() - made:.1f} s",
        file=sys.stderr,
    )
    read_list = math.ceil(products / PAGE_SIZE) + several
    log = Log(sim.app, clock, 1 / paced if paced else 0.0)
    raw = sim.adapter_config(BASE_URL, name="se") | {"rate_limit": UNLIMITED}
    config = msgspec.convert(raw, StarwebConfig, dec_hook=_dec_hook)
    context = AdapterContext(
        connection="bench",
        instance="se",
        http=HttpContext(
            transport=httpx.ASGITransport(app=log), **({"clock": clock} if clock else {})
        ),
    )
    adapter = StarwebAdapter(config, context)
    phases: list[dict[str, Any]] = []
    try:
        for name, price in (
            ("prices first", Decimal("110.50")),
            ("prices changed", Decimal("121")),
        ):
            since, started, results = len(log.requests), time.perf_counter(), {}
            for sku, _, _ in catalog:
                written = await adapter.put_price(sku, "SEK", price, None)
                results[written] = results.get(written, 0) + 1
            seconds = time.perf_counter() - started
            minimum = n + (read_list if name.endswith("first") else 0)
            phases.append(phase(name, log, since, seconds, n, minimum, results))
            assert all(sim.price(sku) == (price, None) for sku, _, _ in catalog), name
            print(f"  {name}: {phases[-1]['requests']} requests", file=sys.stderr)
        listed = catalog[:list_skus]
        for name, price in (("list first", Decimal("90")), ("list changed", Decimal("85.25"))):
            since, started, results = len(log.requests), time.perf_counter(), {}
            for sku, _, _ in listed:
                row = ListPrice(sku=sku, price_list="ÅF", currency="SEK", price=price)
                written = await adapter.put_list_price(str(CUSTOMER_LIST), row)
                results[written] = results.get(written, 0) + 1
            seconds = time.perf_counter() - started
            phases.append(phase(name, log, since, seconds, len(listed), len(listed), results))
            assert all(
                sim.price(sku, pricelist_id=CUSTOMER_LIST) == (price, None) for sku, _, _ in listed
            ), name
            print(f"  {name}: {phases[-1]['requests']} requests", file=sys.stderr)
    finally:
        await adapter.aclose()
    return {
        "skus": n,
        "simulated_seconds": round(clock.monotonic(), 1) if clock else None,
        "products": products,
        "products_with_variants": several,
        "list_read_minimum": read_list,
        "phases": phases,
    }


def adapter_code() -> dict[str, str]:
    """The commit of the Starweb adapter measured and the last commit that changed it
    (``code`` names the core's; an uncommitted core change marks that one dirty, not this)."""
    import brygga_starweb

    where = Path(brygga_starweb.__file__).resolve().parent
    commit, changed = package_commit(where)
    return {"brygga_starweb": str(where), "commit": commit, "last_changed_in": changed}


def _line(run: dict[str, Any], p: dict[str, Any]) -> str:
    top = ", ".join(f"{k} {v}" for k, v in list(p["by_endpoint"].items())[:4])
    return (
        f"{run['skus']:>6} SKUs  {p['phase']:<15} {p['requests']:>6} requests "
        f"({p['requests_per_sku']:.3f}/SKU, {p['ratio_to_minimum']:.3f} x minimum {p['minimum']}) "
        f"{p['seconds']:>6.1f} s  [{top}]"
    )


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for n in args.skus:
        run = await run_once(n, min(args.list_skus, n), args.paced)
        runs.append(run)
        if not args.json:
            for p in run["phases"]:
                print(_line(run, p))
    return {
        "benchmark": "price_push",
        "code": code_under_test(),
        "adapter": adapter_code(),
        "machine": machine(),
        "page_size": PAGE_SIZE,
        "paced_requests_per_s": args.paced,
        "runs": runs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skus", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--list-skus", type=int, default=1000, help="SKUs into the price list")
    parser.add_argument(
        "--paced", type=float, default=None, help="simulated requests/s (index refreshes)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args)
    print_document(document, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
