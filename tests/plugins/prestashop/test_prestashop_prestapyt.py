"""A third-party client, prestapyt 0.11.1, against the simulator over loopback.

real-peers.md §C1: prestapyt appends ``/api/`` itself, authenticates with the key as Basic
user and an empty password, asks for XML (no JSON), parses ``<prestashop><orders><order
id=".." xlink:href=".."/>`` lists, validates option names (filter, display, sort, limit,
date, ...), and writes with PUT and a ``text/xml`` body. So the simulator's XML output, list
grammar and PUT must be what a real client accepts.

prestapyt is installed into its own venv under /tmp (never into brygga's), once per machine
(``BRYGGA_PRESTAPYT_VENV`` names another place); the test skips, saying why, when pip cannot
install it (no package index). The simulator is served by hypercorn (brygga's own dependency)
on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from brygga_prestashop.simulator import PrestashopSimulator

VENV = Path(os.environ.get("BRYGGA_PRESTAPYT_VENV", "/tmp/brygga-prestapyt-0.11.1"))
PYTHON = VENV / "bin" / "python"

CLIENT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from prestapyt import PrestaShopWebServiceDict, PrestaShopAuthenticationError
url, key = sys.argv[1], sys.argv[2]
ps = PrestaShopWebServiceDict(url, key)
out = {}
window = "[2000-01-01 00:00:00,2100-01-01 00:00:00]"
options = {"filter[date_upd]": window, "date": "1", "limit": "0,50", "sort": "[id_ASC]"}
out["order_ids"] = ps.search("orders", options=options)
order = ps.get("orders", out["order_ids"][0])["order"]
rows = order["associations"]["order_rows"]["order_row"]
rows = rows if isinstance(rows, list) else [rows]
skus = [r["product_reference"] for r in rows]
out["order"] = {"id": order["id"], "total": order["total_paid_tax_incl"], "skus": skus}
products = ps.get(
    "products", options={"display": "full", "limit": "50", "sort": "[id_ASC]"}
)["products"]["product"]
out["products"] = [p["reference"] for p in products]
out["product_name"] = ps.get("products", 1)["product"]["name"]["language"]["value"]
where = {"filter[id_product]": "[1]", "filter[id_product_attribute]": "[0]"}
stock_id = ps.search("stock_availables", options=where)[0]
stock = ps.get("stock_availables", stock_id)
stock["stock_available"]["quantity"] = "17"
ps.edit("stock_availables/%s" % stock_id, stock)
out["stock_after"] = ps.get("stock_availables", stock_id)["stock_available"]["quantity"]
try:
    PrestaShopWebServiceDict(url, "X" * 32).search("orders")
    out["bad_key"] = "accepted"
except PrestaShopAuthenticationError:
    out["bad_key"] = "refused"
print(json.dumps(out))
"""


def _prestapyt() -> Path:
    """The venv's python with prestapyt, installed on first use; skip when it cannot be."""
    probe = [str(PYTHON), "-c", "import prestapyt"]
    if PYTHON.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return PYTHON
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "-q", "prestapyt==0.11.1"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(
            f"prestapyt 0.11.1 could not be installed into {VENV} (pip needs the PyPI index): "
            f"{exc}; {detail.decode(errors='replace')[-300:]}"
        )
    return PYTHON


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[PrestashopSimulator, str]]:
    """The simulator on 127.0.0.1 (hypercorn in a thread), stopped after the test."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sim = PrestashopSimulator(seed=4)
    sim.faults.in_process = False
    port = _free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        await serve(sim.app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        threading.Event().wait(0.05)
    try:
        yield sim, f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


def test_prestapyt_lists_reads_and_writes_stock(served: tuple[PrestashopSimulator, str]) -> None:
    python = _prestapyt()
    sim, url = served
    order_id = sim.place_order(lines=[("KAFFE-500", 2), ("TROJA-M", 1)], email="a@example.se")
    done = subprocess.run(
        [str(python), "-c", CLIENT, url, sim.key],
        capture_output=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "NO_PROXY": "*"},
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = json.loads(done.stdout)
    assert out["order_ids"] == [int(order_id)]
    total = str(sim.order_total(order_id)[0])
    assert out["order"] == {
        "id": order_id,
        "total": total + "0000",
        "skus": ["KAFFE-500", "TROJA-M"],
    }
    assert out["products"][:2] == ["KAFFE-500", "MUGG-VIT"] and "TROJA" in out["products"]
    assert out["product_name"] == "Kaffe mellanrost 500 g"
    assert out["stock_after"] == "17" and sim.stock("KAFFE-500") == 17
    assert out["bad_key"] == "refused"
    # what went over the wire: Basic auth, XML (no output_format), PUT of the whole row
    assert ("PUT", "/stock_availables/1") in sim.requests
    assert all("output_format" not in query for _, _, query in sim.ws.log)
