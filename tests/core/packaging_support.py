"""Build a wheel of this checkout with the one command a plugin author runs, from a copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: what a build never needs: VCS data, virtualenvs, caches, earlier builds, state files
_IGNORE = shutil.ignore_patterns(
    ".*", "__pycache__", "*.egg-info", "build", "dist", "*.db", "*.db-wal", "*.db-shm"
)


def copy_tree(source: Path, dest: Path) -> Path:
    """``source`` copied to ``dest`` without caches and build output. Builds run on a copy:
    setuptools writes ``build/`` and ``*.egg-info`` beside the sources it builds."""
    shutil.copytree(source, dest, ignore=_IGNORE)
    return dest


def run(argv: list[str | Path], cwd: Path | None = None) -> str:
    """Run a command to completion; its output, or an assertion error showing it."""
    result = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {result.returncode}\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def build_wheel(source: Path, dist: Path) -> Path:
    """``pip wheel --no-deps -w <dist> <source>``, the command the plugin template's README
    gives; the one wheel it made."""
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source])
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def brygga_wheel(workdir: Path) -> Path:
    """A wheel of this checkout (built from a copy of it under ``workdir``)."""
    return build_wheel(copy_tree(ROOT, workdir / "brygga"), workdir / "dist")


def wheel_metadata(wheel: Path) -> Message:
    """The wheel's ``*.dist-info/METADATA`` (core metadata, an e-mail style header block)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode("utf-8"))


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
