"""Log lines: timestamped on a terminal or in a file; under journald (stderr is the stream
$JOURNAL_STREAM names) no timestamp of ours, and a priority prefix journald reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging
from brygga.commands.common import setup_logging
setup_logging("info")
logging.getLogger("brygga.test").warning("polling failed")
logging.getLogger("brygga.test").info("polling works again")
"""

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def _log_lines(tmp_path: Path, journal: str | None) -> list[str]:
    """Run the daemon's logging setup in a process whose stderr is a file; ``journal``: what
    $JOURNAL_STREAM says ("match": that file's device:inode, as systemd sets it)."""
    log = tmp_path / "stderr.log"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with log.open("wb") as stderr:
        if journal == "match":
            st = os.fstat(stderr.fileno())
            journal = f"{st.st_dev}:{st.st_ino}"
        if journal is not None:
            env["JOURNAL_STREAM"] = journal
        subprocess.run(
            [sys.executable, "-c", SCRIPT], stderr=stderr, env=env, check=True, timeout=60
        )
    return log.read_text(encoding="utf-8").splitlines()


def test_under_journald_no_timestamp_and_a_priority_prefix(tmp_path: Path) -> None:
    assert _log_lines(tmp_path, "match") == [
        "<4>WARNING brygga.test: polling failed",
        "<6>INFO brygga.test: polling works again",
    ]


def test_elsewhere_lines_carry_a_timestamp(tmp_path: Path) -> None:
    for journal in (None, "1:1"):  # not set, or naming another stream (stderr redirected)
        lines = _log_lines(tmp_path, journal)
        assert len(lines) == 2
        assert all(STAMP.match(line) for line in lines), lines
        assert lines[0].endswith("WARNING brygga.test: polling failed")
