"""One daemon per state file: an exclusive lock next to it, held while the daemon runs."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from brygga.errors import BryggaError

__all__ = ["DaemonLock", "StateInUse", "daemon_running"]


class StateInUse(BryggaError):
    """Another daemon holds the state file's lock (a second unit or a manual `brygga run` on
    the same file): a setup error, not a failure that a restart could mend."""


def _lock_path(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


class DaemonLock:
    """Held by `brygga run`. Recovery after a restart assumes no other process is mid-send on
    the same state file, so a second daemon on it is refused."""

    def __init__(self, state: Path) -> None:
        self.path = _lock_path(state)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StateInUse(
                f"another brygga daemon{holder} is already running on "
                f"{self.path.with_suffix('')}; stop it first, or give this config its own "
                "[daemon] state (one daemon per state file)"
            ) from None
        os.fchmod(fd, 0o600)  # owner only, whatever the umask of whoever started the daemon
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    """`` (pid N)`` of the process that holds the lock (it writes its pid there), or ""."""
    try:
        written = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {written})" if written.isdigit() else ""


def daemon_running(state: Path) -> bool:
    """True while a daemon holds the lock for this state file (the CLI asks before it acts)."""
    path = _lock_path(state)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
