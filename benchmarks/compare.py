"""Side by side: orders_throughput.py on two checkouts in turn (A B A B …), ratios pair by pair.

::

    git worktree add /tmp/before 4088ab4
    .venv/bin/python benchmarks/compare.py --a . --b /tmp/before --pairs 5

Each run is a fresh process (``orders_throughput.py --json --profile-workers 0``) with
``PYTHONPATH=<checkout>/daemon:<checkout>/plugins``, so both checkouts are measured by this
checkout's instrument. Alternating the two and taking the ratio of each pair keeps the ratio
meaningful when the machine's speed drifts (other processes, thermal limits); the median ratio
is the figure to quote, min and max show the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run(checkout: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{checkout / 'daemon'}{os.pathsep}{checkout / 'plugins'}"
    command = [
        sys.executable,
        str(HERE / "orders_throughput.py"),
        "--json",
        "--profile-workers",
        "0",
        "--orders",
        str(args.orders),
        "--workers",
        *[str(w) for w in args.workers],
        "--simulators",
        args.simulators,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise SystemExit(f"orders_throughput.py failed on {checkout}: {tail}")
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def rates(document: dict[str, Any]) -> dict[int, dict[str, float]]:
    return {
        int(r["workers"]): {
            "orders_per_s": float(r["orders_per_s"]),
            "tx_per_order": float(r["tx_per_order"]),
            "requests_per_order": float(r["requests_per_order"]),
        }
        for r in document["runs"]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--a", type=Path, required=True, help="checkout A (e.g. .)")
    parser.add_argument("--b", type=Path, required=True, help="checkout B, the baseline")
    parser.add_argument("--pairs", type=int, default=3, help="A-B pairs (default 3)")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--simulators",
        choices=["in-process", "loopback"],
        default="in-process",
        help="where the simulators run (orders_throughput.py --simulators)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    pairs: list[tuple[dict[int, dict[str, float]], dict[int, dict[str, float]]]] = []
    codes: dict[str, Any] = {}
    for _ in range(args.pairs):
        a, b = run(args.a.resolve(), args), run(args.b.resolve(), args)
        codes = {"a": a["code"], "b": b["code"]}
        pairs.append((rates(a), rates(b)))
    summary: dict[str, Any] = {
        "benchmark": "compare",
        "code": codes,
        "parameters": {"orders": args.orders, "pairs": args.pairs, "simulators": args.simulators},
        "workers": {},
    }
    for workers in args.workers:
        ratios = [a[workers]["orders_per_s"] / b[workers]["orders_per_s"] for a, b in pairs]
        summary["workers"][str(workers)] = {
            "ratio_median": round(statistics.median(ratios), 2),
            "ratio_min": round(min(ratios), 2),
            "ratio_max": round(max(ratios), 2),
            "a_orders_per_s": [a[workers]["orders_per_s"] for a, _ in pairs],
            "b_orders_per_s": [b[workers]["orders_per_s"] for _, b in pairs],
            "a_tx_per_order": pairs[-1][0][workers]["tx_per_order"],
            "b_tx_per_order": pairs[-1][1][workers]["tx_per_order"],
            "a_requests_per_order": pairs[-1][0][workers]["requests_per_order"],
            "b_requests_per_order": pairs[-1][1][workers]["requests_per_order"],
        }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"A = {codes['a']['commit']} ({args.a}), B = {codes['b']['commit']} ({args.b}); "
        f"{args.orders} orders per run, simulators {args.simulators}"
    )
    for workers, row in summary["workers"].items():
        a_med = statistics.median(row["a_orders_per_s"])
        b_med = statistics.median(row["b_orders_per_s"])
        print(
            f"{workers} worker(s): A/B orders/s {row['ratio_median']:.2f} "
            f"(min {row['ratio_min']:.2f}, max {row['ratio_max']:.2f}, {args.pairs} pairs); "
            f"A {a_med:.1f} vs B {b_med:.1f} orders/s; "
            f"tx/order {row['a_tx_per_order']:.2f} vs {row['b_tx_per_order']:.2f}; "
            f"requests/order {row['a_requests_per_order']:.2f} vs {row['b_requests_per_order']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
