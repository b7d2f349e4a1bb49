"""Whether the state file the daemon has open is still the one at its path (not deleted)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["StateFileWatch"]

log = logging.getLogger(__name__)


class StateFileWatch:
    """Holds the state file open (read-only) from the daemon's start. A file deleted or
    replaced under the running daemon leaves it writing to an unlinked file: everything it
    records is lost at its stop. :meth:`ok` says so once in the log (ERROR) and is false for
    ``/readyz`` from then on. Holding the file keeps its inode from being reused by a new
    file at the same path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._said = False
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None

    def ok(self) -> bool:
        """The file at the path is the one opened, and it is not deleted (two ``stat``s)."""
        same = False
        if self._fd is not None:
            try:
                held, there = os.fstat(self._fd), os.stat(self.path)
                same = held.st_nlink > 0 and (held.st_dev, held.st_ino) == (
                    there.st_dev,
                    there.st_ino,
                )
            except OSError:
                same = False
        if not same and not self._said:
            self._said = True
            log.error(
                "the state file %s is gone or was replaced while the daemon runs: what it "
                "records now is lost at its stop; restore the file from a backup (or keep "
                "the new one) and restart brygga",
                self.path,
            )
        return same

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
