"""`brygga demo` as a user runs it: a terminal's width, no `brygga` on the PATH, no folder
left behind unless asked, and every order's status back in the shop."""

from __future__ import annotations

import fcntl
import os
import pty
import random
import re
import shlex
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from brygga.cli import main
from brygga.commands import demo
from brygga.commands.common import load
from brygga.models import OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.sync.flows import masters
from brygga.sync.orders import document_reference
from brygga.testing.process import write_config

DEMO = ["demo", "--orders", "2", "--interval", "0.1", "--exit-when-done", "--timeout", "120"]


def _env(tmp_path: Path) -> dict[str, str]:
    """TMPDIR in the test's folder; a PATH without this venv's bin (no `brygga` on it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir)
    env["TMPDIR"] = str(tmp_path)
    return env


def _demo(
    tmp_path: Path, *extra: str, columns: int = 60
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the demo with stderr on a terminal ``columns`` wide; its result and what the
    terminal showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "brygga", *DEMO, *extra],
            stdout=subprocess.PIPE,
            stderr=slave,
            env=_env(tmp_path),
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return result, shown.decode("utf-8", "replace")


def _progress(terminal: str) -> list[str]:
    return [
        part.strip() for part in re.split(r"[\r\n]+", terminal) if part.strip().startswith("in ERP")
    ]


def test_the_demo_leaves_nothing_behind_and_its_line_fits_the_terminal(tmp_path: Path) -> None:
    result, terminal = _demo(tmp_path, columns=60)
    assert result.returncode == 0, (result.stdout, terminal)
    assert not list(tmp_path.glob("brygga-demo-*")), "the temporary folder is removed"
    assert "(removed at the end; --keep keeps it)" in result.stdout
    lines = _progress(terminal)
    assert lines, terminal
    assert all(len(line) < 60 for line in lines), lines
    # the count with a space before its unit, the essentials first: they fit in 60 columns
    assert "in ERP 2/2 orders, placed 2, failed 0, duplicates 0" in lines[-1], lines
    assert not re.search(r"\dorder", terminal)
    # exit 0 means the shop shows both orders completed, each payment captured once
    assert "2 in the ERP exactly once, 0 duplicated, 2 completed in the shop" in result.stdout


def test_with_keep_the_folder_stays_and_the_suggested_command_works(tmp_path: Path) -> None:
    result, terminal = _demo(tmp_path, "--keep", columns=200)
    assert result.returncode == 0, (result.stdout, terminal)
    [folder] = tmp_path.glob("brygga-demo-*")
    assert (folder / "state.db").is_file() and (folder / "brygga-demo.toml").is_file()
    assert f"kept {folder}" in result.stdout
    # a wide terminal: the whole line, the orders the shop shows completed, rate and latency
    assert re.search(
        r"duplicates 0, 2 completed in the shop \[\d\d:\d\d, \d+\.\d orders/s, latency p50 ",
        _progress(terminal)[-1],
    )
    [suggested] = re.findall(r"^  try: (.*)$", result.stdout, re.M)
    assert not suggested.startswith("brygga "), "brygga is not on this PATH"
    status = subprocess.run(
        shlex.split(suggested),
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert status.returncode == 1, status.stderr  # no daemon runs on it any more
    assert status.stdout.startswith("daemon: NOT RUNNING")
    assert "demo: last known: healthy" in status.stdout.splitlines()


def test_without_tqdm_one_line_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed: the daemon does not need it
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert main(DEMO) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "needs tqdm" in err and "a dependency of brygga" in err and "[demo]" not in err
    assert not list(tmp_path.iterdir())


def _demo_in_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    timeout: str,
) -> tuple[int, str]:
    """Run the demo in this process (so a test can take a part of it away); its exit code and
    what it printed."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    code = main([*DEMO[:-1], timeout])
    return code, capsys.readouterr().out


def test_without_the_status_register_the_demo_is_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--exit-when-done waits for the shop statuses, not only for the orders in the ERP."""
    monkeypatch.setattr(demo, "STATUS_ON", {"status": "off"})
    code, out = _demo_in_process(tmp_path, monkeypatch, capsys, timeout="8")
    assert code == 1, out
    assert "only 0 of 2 completed in the shop" in out
    assert "0 completed in the shop (payment captured once)" in out.splitlines()[-1]


def test_without_the_bookkeeper_no_order_is_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "completed" answers the invoice booked in the ERP (the ``invoiced`` rule): the order's
    transfer alone never completes it."""
    monkeypatch.setattr(demo.Bookkeeper, "tick", lambda self, placed, now: [])
    code, out = _demo_in_process(tmp_path, monkeypatch, capsys, timeout="8")
    assert code == 1, out
    assert "only 0 of 2 completed in the shop" in out


@dataclass
class _Change:
    payment_action: str


@dataclass
class _Shop:
    """A shop's order statuses and status changes (the simulator's control surface)."""

    statuses: dict[str, str]
    changes: dict[str, list[_Change]]

    def order_status(self, shop_order_id: str) -> str:
        return self.statuses[shop_order_id]

    def status_changes(self, shop_order_id: str) -> Sequence[_Change]:
        return self.changes[shop_order_id]


def test_completed_means_the_status_and_exactly_one_capture() -> None:
    captured, other = _Change("captured"), _Change("")
    shop = _Shop(
        statuses={"1": "completed", "2": "completed", "3": "completed", "4": "picking"},
        changes={"1": [other, captured], "2": [captured, captured], "3": [other], "4": [other]},
    )
    shown = demo.ShopStatuses.read(shop, ["1", "2", "3", "4"])
    assert (shown.completed, shown.captured_twice) == (1, 1)
    assert shown.missing(4) == (
        "only 1 of 4 completed in the shop (the others: 1 completed without a capture, 1 picking)"
    )


@pytest.mark.parametrize("catalog_mode", [False, True], ids=["orders", "erp"])
def test_both_demos_run_the_status_register_with_its_rules(
    tmp_path: Path, catalog_mode: bool
) -> None:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop, erp = shop_spec.simulator(seed=1), erp_spec.simulator(inventory_module=catalog_mode)
    path = write_config(
        tmp_path / "brygga-demo.toml",
        state=str(tmp_path / "state.db"),
        name=demo.CONNECTION,
        erp=erp.adapter_config("http://127.0.0.1:1"),
        shops=[shop.adapter_config("http://127.0.0.1:2/api/v2", name=demo.SHOP)],
        connection=demo.demo_connection(catalog_mode),
        sections=demo.demo_sections(catalog_mode),
    )
    loaded, _ = load(path, host)
    [conn] = loaded.connections
    running = masters(conn)
    assert running[Register.STATUS] == "erp" and running[Register.ORDERS] == "shop"
    assert (running[Register.STOCK] == "erp") is catalog_mode
    assert float(conn.config.poll.status) == 1.0
    rules = conn.config.status.rules()
    assert rules[OrderEvent.TRANSFERRED].shop_status == "picking"
    invoiced = rules[OrderEvent.INVOICED]
    assert (invoiced.shop_status, invoiced.email, invoiced.capture) == ("completed", True, True)


@dataclass
class _Erp:
    """The ERP's documents by reference, and the invoices a person booked."""

    documents: dict[str, list[str]]
    booked: list[str]
    refuse: bool = False

    def documents_with_reference(self, reference: str) -> list[str]:
        return self.documents.get(reference, [])

    def order_event(self, reference: str, event: OrderEvent) -> None:
        if self.refuse:
            raise ValueError("the invoice is booked already")
        assert event is OrderEvent.INVOICED
        self.booked.append(reference)


def test_the_bookkeeper_books_each_invoice_once_a_while_after_it_is_in_the_erp() -> None:
    erp = _Erp(documents={}, booked=[])
    bookkeeper = demo.Bookkeeper(cast(Any, erp), random.Random(1))
    reference = document_reference(demo.CONNECTION, demo.SHOP, "7")
    assert bookkeeper.tick(["7"], now=0.0) == []  # placed, not in the ERP yet
    erp.documents[reference] = ["draft 1"]
    assert bookkeeper.tick(["7"], now=10.0) == [] and erp.booked == []
    due = bookkeeper.waiting["7"]
    assert due is not None and 10.5 <= due <= 12.0
    bookkeeper.tick(["7"], now=due - 0.01)
    assert erp.booked == []  # not yet: a person takes a moment
    bookkeeper.tick(["7"], now=due)
    bookkeeper.tick(["7", "8"], now=due + 5)
    assert erp.booked == [reference]  # once

    erp.refuse = True
    erp.documents[document_reference(demo.CONNECTION, demo.SHOP, "8")] = ["draft 2"]
    bookkeeper.tick(["7", "8"], now=20.0)
    [line] = bookkeeper.tick(["7", "8"], now=30.0)
    assert line == "ERP:  order 8: could not book its invoice: the invoice is booked already"
    assert bookkeeper.tick(["7", "8"], now=40.0) == []
