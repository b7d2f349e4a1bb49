"""systemd notify protocol (READY, STOPPING, STATUS, WATCHDOG, RELOADING); a no-op elsewhere."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from brygga.clock import Clock

__all__ = ["SystemdNotifier", "run_watchdog"]

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract
    socket). Without the variable every method does nothing, so callers never check.

    Sending is a single non-blocking ``sendto``: a full or vanished socket drops the message
    (logged once) instead of stalling the event loop. ``env`` defaults to ``os.environ`` and is
    read once, at construction.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._address = self._parse_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = env.get("WATCHDOG_USEC", "")
        self._watchdog_pid = env.get("WATCHDOG_PID", "")
        self._sock: socket.socket | None = None
        self._warned = False

    @staticmethod
    def _parse_address(value: str) -> str | None:
        if not value:
            return None
        if value.startswith("@"):
            return "\0" + value[1:]
        if value.startswith("/"):
            return value
        # vsock: addresses (VMs) are not something brygga runs under; say so once.
        log.warning("NOTIFY_SOCKET %r is neither a path nor @abstract; not notifying", value)
        return None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; True if it went out."""
        if self._address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("systemd notify failed (%s); further failures are not logged", exc)
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """Announce a reload; send :meth:`ready` when it is done (systemd waits for it)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def status(self, text: str) -> bool:
        """One free-form line for ``systemctl status`` (newlines would start a new field)."""
        return self.notify("STATUS=" + " ".join(text.split()))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask systemd for more time in the current start/stop phase."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None when systemd runs
        no watchdog for this process (unset, invalid, or ``WATCHDOG_PID`` names another)."""
        if not self._watchdog_usec:
            return None
        if self._watchdog_pid:
            try:
                if int(self._watchdog_pid) != os.getpid():
                    return None
            except ValueError:
                return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            return None
        if usec <= 0:
            return None
        return usec / 2 / 1_000_000

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def run_watchdog(notifier: SystemdNotifier, clock: Clock) -> None:
    """Ping the watchdog every :meth:`SystemdNotifier.watchdog_interval` seconds until
    cancelled; returns at once when no watchdog is configured. The pings come from the event
    loop, so a hung loop stops them and systemd restarts the daemon."""
    interval = notifier.watchdog_interval()
    if interval is None or not notifier.enabled:
        return
    while True:
        notifier.watchdog()
        await clock.sleep(interval)
