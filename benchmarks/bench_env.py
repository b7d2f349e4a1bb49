"""What every benchmark records beside its figures: the machine and the code measured."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def code_under_test() -> dict[str, str]:
    import brygga

    where = Path(brygga.__file__).resolve().parent
    commit, _ = package_commit(where)
    return {"brygga": str(where), "commit": commit}


def package_commit(where: Path) -> tuple[str, str]:
    """The checkout's commit at ``where`` (``+dirty`` when the package there has uncommitted
    changes) and the last commit that changed that package; ``unknown`` outside git."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", ".")
        changed = git("log", "-1", "--format=%h", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        return "unknown", "unknown"
    return commit + ("+dirty" if dirty else ""), changed


def describe(document: dict[str, Any]) -> str:
    """One line naming the code measured and the machine, from a benchmark's JSON document."""
    code, box = document["code"], document["machine"]
    return (
        f"code {code['commit']} ({code['brygga']}); {box['cpus']} CPUs {box['cpu_model']}, "
        f"{box['ram_gib']} GiB, Python {box['python']}, SQLite {box['sqlite']}"
    )


def print_document(document: dict[str, Any], as_json: bool, footer: str = "") -> None:
    """A benchmark's end: the whole document as JSON, or the line saying what was measured
    (``footer`` after it, e.g. the load average)."""
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        print(f"\n{describe(document)}{footer}")
