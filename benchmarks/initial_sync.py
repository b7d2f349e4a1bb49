"""Initial product sync at scale: `brygga sync products` over a big catalog, killed and resumed.

For each direction and each catalog size N (default 50,000 products; ``--products 1000 10000
50000`` for growth) the script fills the source simulator, serves both simulators on loopback
from this process, and runs the command as a user does, as a subprocess with this process's
environment (``PYTHONPATH`` selects the code measured)::

    python -m brygga sync products -c CONFIG --connection bench --from erp|shop

The catalog: product ``i`` (0 ≤ i < N) has SKU ``P{i:06d}``; every 5th product (``i % 5 ==
0``) has three variants instead, ``P{i:06d}-S``, ``-M`` and ``-L`` (variant names ``S``, ``M``,
``L``), so N products are ``1.4 × N`` articles (SKUs): 70,000 at 50,000 products. Prices
``100.00`` + i mod 900 SEK excl. VAT, 25 % VAT.

Directions:

- ``erp`` (e-conomic → Starweb, ``--from erp``, connection mode ``erp``): e-conomic has **no
  variant structure** (DESIGN §1; the adapter reads every product as an article with no
  ``product_sku``), so the variants are e-conomic products of their own (``P000000-S`` …)
  and each becomes a Starweb product of its own: this direction cannot carry variants.
- ``shop`` (Starweb → e-conomic, ``--from shop``, connection mode ``ecom``): the Starweb
  products have real variants (one product, three variants with attribute values); each
  variant becomes an e-conomic product (no variant structure there).

Both sides start otherwise empty (``seed_catalog=False``); the adapters' rate limits are lifted
(``rate_limit = { requests = 1000000, per_seconds = 0.001 }``) and the simulators enforce none,
so the figures are the code's and the simulators', not a limiter's.

The minimum number of requests, from the documented APIs (reference/shop-apis.md §2.3–2.4,
reference/erp-apis.md §1.3):

- e-conomic as source: ``ceil(articles / 1000)`` pages of ``GET /products`` (``pagesize``
  at most 1000); Starweb as source: ``ceil(products / 100)`` pages of ``GET /products`` (the
  page size is the server's, 100) plus one ``GET /products/{id}/variants`` per product with
  several variants (list calls return only the primary variant);
- one write per article the target needs: e-conomic ``POST /products`` per SKU; Starweb
  ``POST /products`` per article (each e-conomic article is a product of its own there; one
  POST carries the product, its variant and its price).

So minimum = source pages (+ variant reads) + articles. Reference data read once per run (a
token, price lists, product groups and VAT accounts: a handful, independent of N) is not in the
minimum but is in the count. The ratio printed is all requests / minimum.

Figures per run: wall time from spawn to exit, articles/s, peak RSS of the sync process
(``VmHWM`` from ``/proc/<pid>/status``, sampled every 0.1 s until it exits, with ``VmRSS``
samples over time): brygga's process alone, since the simulators are served from this
benchmark's process (seeded here, never in the command's), whose own largest ``VmRSS`` while
the command runs is printed beside it as the simulators' figure; every request the
simulators served by endpoint (method, path with ids and SKUs as ``{id}`` / ``{sku}``, and the
names of the query parameters that select: ``filterSku``, ``updatedSince`` …).

Resumability: the same catalog in fresh simulators; the command is killed (SIGKILL) once the
target holds half the articles, then run again to its end. Printed: requests of both runs
together against the clean run's, writes (POST/PUT/PATCH) of both against the clean run's,
duplicates in the target (Starweb: variants sharing an SKU; e-conomic keys products by number,
so a second create of one SKU is refused there and shows as an extra write), SKUs missing from
the target, and the second run's time.

``--trace-memory DIR`` runs the command under ``tracemalloc`` (a ``sitecustomize`` put first
on its ``PYTHONPATH``) and writes, each time the traced memory has grown by a tenth, the
largest allocations still held by file and line to ``DIR/<direction>-<products>-<run>.txt``:
what grows with the catalog, and by how much per article (tracing slows the run about 3-6 ×
and adds its own memory, so the run's other figures are not comparable then).

``--timeout`` (default 3600 s) bounds each run; a run that does not finish is killed and
reported with how far it got (its ratio then against the minimum for the articles it wrote).

::

    .venv/bin/python benchmarks/initial_sync.py --products 1000
    .venv/bin/python benchmarks/initial_sync.py --products 1000 10000 50000 --json > r.json
    .venv/bin/python benchmarks/initial_sync.py --products 10000 --directions shop --no-resume

Brygga API used: ``brygga.plugins.PluginHost().adapters[kind].simulator``, the simulators'
state (``catalog`` / ``state.products``), ``brygga.testing.process`` (``serve_asgi``,
``write_config``), the config format and ``python -m brygga sync products``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_env beside this script
from bench_env import code_under_test, machine, print_document

from brygga.plugins import PluginHost
from brygga.testing.process import serve_asgi, write_config

UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}
#: new e-conomic products need a group per VAT rate (reference/erp-apis.md §1.6)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
ECONOMIC_PAGE = 1000
STARWEB_PAGE = 100
VARIANTS = ("S", "M", "L")
#: query parameters that only page, sort or include (left out of the endpoint's name)
PLAIN = frozenset({"page", "skippages", "pagesize", "include", "sortBy", "sortOrder", "sort"})
_SKU = re.compile(r"^P\d{6}(-[SML])?$")
_ID = re.compile(r"^\d+$")


# -- the catalog ----------------------------------------------------------------------------


def has_variants(i: int) -> bool:
    return i % 5 == 0


def skus_of(i: int) -> list[str]:
    base = f"P{i:06d}"
    return [f"{base}-{v}" for v in VARIANTS] if has_variants(i) else [base]


def articles_of(products: int) -> int:
    return products + 2 * len(range(0, products, 5))


def price_of(i: int) -> Decimal:
    return Decimal(100 + i % 900).quantize(Decimal("0.01"))


def minimum(direction: str, products: int) -> dict[str, int]:
    """The fewest requests the documented APIs allow (see the module docstring)."""
    articles = articles_of(products)
    if direction == "erp":
        pages, variant_reads = math.ceil(articles / ECONOMIC_PAGE), 0
    else:
        pages, variant_reads = math.ceil(products / STARWEB_PAGE), len(range(0, products, 5))
    return {
        "source_pages": pages,
        "variant_reads": variant_reads,
        "writes": articles,
        "total": pages + variant_reads + articles,
    }


def simulators(direction: str, products: int) -> tuple[Any, Any]:
    """(Starweb, e-conomic), the source filled with the catalog, the target empty."""
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    if shop_spec.simulator is None or erp_spec.simulator is None:
        raise SystemExit("the starweb or economic plugin ships no simulator")
    shop: Any = shop_spec.simulator(seed_catalog=False)
    erp: Any = erp_spec.simulator(seed_catalog=False)
    if direction == "erp":
        for i in range(products):
            for sku in skus_of(i):
                erp.add_article(sku, f"Produkt {i} {sku[8:]}".strip(), price_of(i), Decimal(25))
    else:
        catalog, now = shop.catalog, shop.state.now()
        for i in range(products):
            product = catalog.add_product(f"Produkt {i}", Decimal(25), now)
            if has_variants(i):
                product.external_id = f"P{i:06d}"
            for sku in skus_of(i):
                name = sku[8:] if has_variants(i) else ""
                variant = catalog.add_variant(product, sku, name=name)
                variant.prices[1] = (price_of(i), None)  # the master price list
    return shop, erp


def target_entries(direction: str, shop: Any, erp: Any) -> int:
    """Articles the target holds (cheap: polled while the command runs)."""
    if direction == "erp":
        return len(shop.catalog.products)  # every article a product of its own there
    return len(erp.state.products)


def target_skus(direction: str, shop: Any, erp: Any) -> Counter[str]:
    if direction == "erp":
        return Counter(v.sku for p in shop.catalog.products.values() for v in p.variants)
    return Counter(str(sku) for sku in erp.state.products)


# -- counting requests ----------------------------------------------------------------------


def endpoint(scope: MutableMapping[str, Any]) -> str:
    path: str = scope["path"]
    if path.startswith("/api/v2"):
        path = path[len("/api/v2") :] or "/"
    parts = ["{sku}" if _SKU.match(p) else "{id}" if _ID.match(p) else p for p in path.split("/")]
    query = scope.get("query_string", b"").decode("latin-1")
    keys = sorted({k for k, _ in parse_qsl(query, keep_blank_values=True)} - PLAIN)
    return f"{scope['method']} {'/'.join(parts)}" + (f" ?{','.join(keys)}" if keys else "")


@dataclass
class Tap:
    """Counts every request to one simulator into ``counts`` (swapped per run)."""

    system: str
    app: Any
    counts: Counter[str] = field(default_factory=Counter)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.counts[f"{self.system} {endpoint(scope)}"] += 1
        await self.app(scope, receive, send)


# -- one run of the command -----------------------------------------------------------------

#: the command's ``sitecustomize`` with ``--trace-memory``: file/line statistics of what is held
TRACE_HOOK = """
import os, sys, threading, time, tracemalloc
OUT = os.environ.get("BRYGGA_BENCH_TRACE")
if OUT and "sync" in sys.orig_argv:
    tracemalloc.start()
    def dump(tag):
        snap = tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__),))
        now, peak = tracemalloc.get_traced_memory()
        lines = [f"# {tag}: traced {now / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB)"]
        for stat in snap.statistics("lineno")[:40]:
            where = stat.traceback[0]
            lines.append(f"{stat.size / 1e6:8.2f} MB {stat.count:9d} blocks  "
                         f"{where.filename}:{where.lineno}")
        with open(OUT + ".tmp", "w") as out:
            out.write("\\n".join(lines) + "\\n")
        os.replace(OUT + ".tmp", OUT)
    def watch():
        best = 0
        while True:
            time.sleep(5)
            now, _ = tracemalloc.get_traced_memory()
            if now > best * 1.1:
                best = now
                dump("high")
    threading.Thread(target=watch, daemon=True).start()
"""


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Run:
    what: str
    exit_code: int | None
    wall_s: float
    finished: bool
    #: SIGKILLed by the benchmark (at half way, or at the timeout)
    killed: bool
    articles_in_target: int
    articles_per_s: float
    peak_rss_mb: float
    #: the largest ``VmRSS`` of this benchmark's own process while the command ran: the
    #: simulators' state (both catalogs), their servers and the request taps (not brygga)
    simulators_rss_mb: float
    #: (seconds since spawn, VmRSS MB, articles in the target), about one a second
    rss_samples: list[tuple[float, float, int]]
    requests: int
    writes: int
    requests_by_endpoint: dict[str, int]
    summary: list[str]


def tail(log: Path) -> list[str]:
    """The command's last lines, without its progress lines."""
    text = log.read_text(errors="replace").splitlines()
    return [line for line in text if not line.startswith(("economic:", "se:"))][-12:]


async def run_command(
    command: list[str],
    *,
    what: str,
    taps: tuple[Tap, Tap],
    present: Callable[[], int],
    kill_at: int | None,
    limit_s: float,
    log: Path,
    trace: Path | None = None,
) -> Run:
    for tap in taps:
        tap.counts = Counter()
    before = present()
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env["PYTHONUNBUFFERED"] = "1"
    if trace is not None:
        hook = log.parent / "trace-hook"
        hook.mkdir(exist_ok=True)
        (hook / "sitecustomize.py").write_text(TRACE_HOOK)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
        env["BRYGGA_BENCH_TRACE"] = str(trace)
    with log.open("wb") as out:
        started = time.monotonic()
        process = await anyio.open_process(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
        )
    pid, hwm, killed, samples, last_sample = process.pid, 0, False, [], -1.0
    own = 0  # this process's VmRSS: the simulators
    while process.returncode is None:
        hwm = max(hwm, status_kb(pid, "VmHWM"))
        own = max(own, status_kb(os.getpid(), "VmRSS"))
        now = time.monotonic() - started
        if now - last_sample >= 1.0:
            samples.append((round(now, 1), round(status_kb(pid, "VmRSS") / 1024, 1), present()))
            last_sample = now
        if (kill_at is not None and present() >= kill_at) or now > limit_s:
            process.send_signal(signal.SIGKILL)
            killed = True
            break
        with anyio.move_on_after(0.1):
            await process.wait()
    code = await process.wait()
    wall = time.monotonic() - started
    counts: Counter[str] = Counter()
    for tap in taps:
        counts.update(tap.counts)
    writes = sum(
        n
        for k, n in counts.items()
        if k.split()[1] in ("POST", "PUT", "PATCH") and "/token" not in k
    )
    done = present() - before
    summary = tail(log)
    return Run(
        what=what,
        exit_code=code,
        wall_s=round(wall, 2),
        finished=not killed,
        killed=killed,
        articles_in_target=present(),
        articles_per_s=round(done / wall, 1) if wall > 0 else 0.0,
        peak_rss_mb=round(hwm / 1024, 1),
        simulators_rss_mb=round(own / 1024, 1),
        rss_samples=samples,
        requests=sum(counts.values()),
        writes=writes,
        requests_by_endpoint=dict(counts.most_common()),
        summary=summary,
    )


def traced(args: argparse.Namespace, direction: str, products: int, run: str) -> Path | None:
    """Where ``--trace-memory`` writes this run's statistics (None: not traced)."""
    if args.trace_memory is None:
        return None
    folder = Path(args.trace_memory)
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve() / f"{direction}-{products}-{run}.txt"


async def one_case(direction: str, products: int, args: argparse.Namespace) -> dict[str, Any]:
    """A clean run, then (with resume) a run killed at half way and its second run."""
    case: dict[str, Any] = {
        "direction": direction,
        "source": "economic" if direction == "erp" else "starweb",
        "target": "starweb" if direction == "erp" else "economic",
        "products": products,
        "articles": articles_of(products),
        "minimum": minimum(direction, products),
    }
    phases = [("clean", None)]
    if args.resume:
        phases.append(("killed", articles_of(products) // 2))
    for label, kill_at in phases:
        built = time.monotonic()
        shop, erp = simulators(direction, products)
        case.setdefault("fill_s", round(time.monotonic() - built, 1))
        taps = (Tap("starweb", shop.app), Tap("economic", erp.app))
        stop = anyio.Event()
        with tempfile.TemporaryDirectory(prefix="brygga-initial-") as tmp:
            folder = Path(tmp)
            async with anyio.create_task_group() as tg:
                shop_port = await tg.start(serve_asgi, taps[0], stop)
                erp_port = await tg.start(serve_asgi, taps[1], stop)
                config = write_config(
                    folder / "brygga.toml",
                    state=str(folder / "state.db"),
                    name="bench",
                    erp={
                        **erp.adapter_config(f"http://127.0.0.1:{erp_port}"),
                        **GROUPS,
                        "rate_limit": UNLIMITED,
                    },
                    shops=[
                        {
                            **shop.adapter_config(
                                f"http://127.0.0.1:{shop_port}/api/v2", name="se"
                            ),
                            "rate_limit": UNLIMITED,
                        }
                    ],
                    connection={
                        "mode": "erp" if direction == "erp" else "ecom",
                        "registers": {"price_lists": "off"},
                    },
                )
                command = [sys.executable, "-m", "brygga", "sync", "products", "-c", str(config)]
                command += ["--connection", "bench", "--from", direction]
                try:
                    runs = [
                        await run_command(
                            command,
                            what=label,
                            taps=taps,
                            present=partial(target_entries, direction, shop, erp),
                            kill_at=kill_at,
                            limit_s=args.timeout,
                            log=folder / f"{label}.log",
                            trace=traced(args, direction, products, label),
                        )
                    ]
                    if label == "killed":
                        runs.append(
                            await run_command(
                                command,
                                what="resumed",
                                taps=taps,
                                present=partial(target_entries, direction, shop, erp),
                                kill_at=None,
                                limit_s=args.timeout,
                                log=folder / "resumed.log",
                                trace=traced(args, direction, products, "resumed"),
                            )
                        )
                finally:
                    stop.set()
            held = target_skus(direction, shop, erp)
        for run in runs:
            case[run.what] = asdict(run)
            # with --json the JSON document alone goes to stdout: the lines go to stderr
            print(line_of(case, run), file=sys.stderr if args.json else sys.stdout, flush=True)
        wanted = {sku for i in range(products) for sku in skus_of(i)}
        case[f"target_after_{label}"] = {
            "entries": sum(held.values()),
            "distinct_skus": len(held),
            "duplicates": sum(n - 1 for n in held.values() if n > 1),
            "missing": len(wanted - set(held)),
        }
    clean = case["clean"]
    low = case["minimum"]
    if clean["finished"]:
        case["ratio_to_minimum"] = round(clean["requests"] / low["total"], 3)
    else:  # stopped by --timeout: against the minimum for what it wrote (the pages all read)
        so_far = low["source_pages"] + low["variant_reads"] + clean["articles_in_target"]
        case["ratio_to_minimum"] = None
        case["ratio_so_far"] = round(clean["requests"] / so_far, 3)
    if args.resume:
        killed, resumed = case["killed"], case["resumed"]
        case["resume"] = {
            "requests_both_runs": killed["requests"] + resumed["requests"],
            "requests_clean_run": clean["requests"],
            "ratio_to_clean": round(
                (killed["requests"] + resumed["requests"]) / max(1, clean["requests"]), 3
            ),
            "writes_both_runs": killed["writes"] + resumed["writes"],
            "writes_clean_run": clean["writes"],
            "extra_writes": killed["writes"] + resumed["writes"] - clean["writes"],
            "killed_at_articles": killed["articles_in_target"],
            "second_run_s": resumed["wall_s"],
            "duplicates_in_target": case["target_after_killed"]["duplicates"],
            "missing_in_target": case["target_after_killed"]["missing"],
        }
    if not args.json:
        print(case_lines(case), flush=True)
    return case


# -- printing -------------------------------------------------------------------------------


def line_of(case: dict[str, Any], run: Run) -> str:
    state = "finished" if run.finished else "KILLED"
    return (
        f"{case['source']} -> {case['target']} {case['products']:,} products "
        f"({case['articles']:,} articles), {run.what}: {state} exit {run.exit_code} after "
        f"{run.wall_s:.1f} s, {run.articles_in_target:,} in the target, "
        f"{run.articles_per_s:.1f} articles/s, peak RSS {run.peak_rss_mb:.1f} MB (brygga; "
        f"simulators {run.simulators_rss_mb:.1f} MB), "
        f"{run.requests:,} requests ({run.writes:,} writes)"
    )


def case_lines(case: dict[str, Any]) -> str:
    clean, low = case["clean"], case["minimum"]
    lines = [
        f"  minimum {low['total']:,} = {low['source_pages']:,} source pages + "
        f"{low['variant_reads']:,} variant reads + {low['writes']:,} writes; clean run "
        f"{clean['requests']:,} requests = "
        + (
            f"{case['ratio_to_minimum']:.2f} x minimum"
            if case["ratio_to_minimum"] is not None
            else f"{case['ratio_so_far']:.2f} x the minimum for what it wrote (stopped)"
        ),
        "  requests by endpoint (clean run):",
    ]
    lines += [f"    {n:9,d}  {k}" for k, n in clean["requests_by_endpoint"].items()]
    target = case["target_after_clean"]
    lines.append(
        f"  target after the clean run: {target['distinct_skus']:,} SKUs, "
        f"{target['duplicates']} duplicates, {target['missing']} missing"
    )
    if "resume" in case:
        r = case["resume"]
        lines.append(
            f"  killed at {r['killed_at_articles']:,} articles; second run {r['second_run_s']:.1f}"
            f" s; requests of both runs {r['requests_both_runs']:,} vs clean "
            f"{r['requests_clean_run']:,} ({r['ratio_to_clean']:.3f}x); writes "
            f"{r['writes_both_runs']:,} vs {r['writes_clean_run']:,} ({r['extra_writes']:+d}); "
            f"duplicates in the target {r['duplicates_in_target']}, missing "
            f"{r['missing_in_target']}"
        )
    return "\n".join(lines)


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    load_before = loadavg()
    cases = []
    for direction in args.directions:
        for products in args.products:
            cases.append(await one_case(direction, products, args))
    return {
        "benchmark": "initial_sync",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code_under_test(),
        "machine": machine(),
        "load_average": {"before": load_before, "after": loadavg()},
        "parameters": {
            "products": args.products,
            "directions": args.directions,
            "variants": "every 5th product (i % 5 == 0) has 3 variants (S, M, L)",
            "resume": args.resume,
            "kill": "SIGKILL when the target holds half the articles",
            "timeout_s": args.timeout,
            "rate_limit": UNLIMITED,
            "page_sizes": {"economic": ECONOMIC_PAGE, "starweb": STARWEB_PAGE},
            "trace_memory": args.trace_memory is not None,
        },
        "runs": cases,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--products", type=int, nargs="+", default=[50_000])
    parser.add_argument(
        "--directions",
        nargs="+",
        choices=["erp", "shop"],
        default=["erp", "shop"],
        help="erp: e-conomic -> Starweb; shop: Starweb -> e-conomic (default both)",
    )
    parser.add_argument(
        "--no-resume", dest="resume", action="store_false", help="skip the kill-and-resume runs"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds a run may take (default 3600)"
    )
    parser.add_argument(
        "--trace-memory",
        metavar="DIR",
        help="run the command under tracemalloc; what it holds by file and line goes to DIR",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    document = anyio.run(measure, args, backend="asyncio")
    print_document(document, args.json, f"; load average {document['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
