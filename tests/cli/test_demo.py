"""`brygga demo` as a user runs it: a terminal's width, no `brygga` on the PATH, and no
folder left behind unless asked."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from pathlib import Path

import pytest

from brygga.cli import main

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


def test_with_keep_the_folder_stays_and_the_suggested_command_works(tmp_path: Path) -> None:
    result, terminal = _demo(tmp_path, "--keep", columns=200)
    assert result.returncode == 0, (result.stdout, terminal)
    [folder] = tmp_path.glob("brygga-demo-*")
    assert (folder / "state.db").is_file() and (folder / "brygga-demo.toml").is_file()
    assert f"kept {folder}" in result.stdout
    # a wide terminal: the whole line, rate and latency included
    assert re.search(r"\[\d\d:\d\d, \d+\.\d orders/s, latency p50 ", _progress(terminal)[-1])
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
    assert "demo: healthy" in status.stdout.splitlines()


def test_without_the_demo_extra_one_line_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed: the daemon does not need it
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert main(DEMO) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "needs tqdm" in err and "pip install 'brygga[demo]'" in err
    assert not list(tmp_path.iterdir())
