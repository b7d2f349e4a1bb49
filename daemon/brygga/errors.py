"""Typed failures: transient (retry), permanent (a person must act), nothing-to-do (record it)."""

from __future__ import annotations

__all__ = [
    "BryggaError",
    "ConfigError",
    "NothingToDo",
    "PermanentError",
    "PluginError",
    "SchemaTooNewError",
    "TransientError",
]


class BryggaError(Exception):
    """Base of every error brygga raises on purpose. ``str()`` is safe to show and log:
    it never contains a secret."""

    #: raised before the handler's write was sent (``brygga.sync.engine.before_send``): the
    #: intent its claim recorded is withdrawn
    before_send: bool = False


class ConfigError(BryggaError):
    """The configuration file is wrong; the message names the file, the key path and the fix."""


class PluginError(BryggaError):
    """A plugin failed to load or registered something inconsistent."""


class SchemaTooNewError(BryggaError):
    """The state file was written by a newer brygga than this one."""


class TransientError(BryggaError):
    """Worth retrying later: network errors, timeouts, 5xx, 429.

    ``retry_after`` (seconds) is the remote's own hint, honoured by the retry policy.
    ``in_doubt``: a write that may still land (it timed out, or the connection dropped after
    the request went out): it must not be repeated until a lookup can see it.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, in_doubt: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class PermanentError(BryggaError):
    """Will fail again until a person changes something (data, config, the remote system).

    The message is a sentence a merchant can act on: which record, what is wrong, the fix.
    """


class NothingToDo(BryggaError):
    """The record needs no transfer (e.g. cancelled before it was ready); recorded as skipped."""
