"""Typed failures: transient (retry), permanent (a person must act), nothing-to-do (record it)."""

from __future__ import annotations

__all__ = [
    "BryggaError",
    "ConfigError",
    "CredentialsRejected",
    "NothingToDo",
    "PermanentError",
    "PluginError",
    "SchemaTooNewError",
    "TransientError",
    "credentials_rejection",
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


class CredentialsRejected(PermanentError):
    """The remote refused the connection's credentials (a token endpoint's ``invalid_client``,
    an API key or grant answered with 401): nothing is wrong with the record at hand.

    The sync engine treats it as a pause of the whole connection, not as the record's failure:
    the record goes back unharmed (no attempt spent, never in the error queue), the register's
    health shows the sentence, and work resumes by itself with backoff, or at once when a
    reload brings new credentials. The message names the system, the shop or account and the
    config key to fix, never a secret.

    It is a PermanentError so that code which knows only PermanentError (``brygga check``,
    the conformance kit, a third-party plugin) still sees "a person must act". Code that wraps
    a PermanentError in a new one loses the class; :func:`credentials_rejection` looks for it
    along the exception's cause and context too.
    """


def credentials_rejection(error: BaseException) -> CredentialsRejected | None:
    """The :class:`CredentialsRejected` ``error`` is or was raised from: ``error`` itself, or
    one along the ``__cause__``/``__context__`` chain of a PermanentError (a handler that
    re-raises a refusal as its own sentence, ``raise PermanentError(...) from exc`` or
    ``from None``, still refers to it). None for anything else; a TransientError or
    NothingToDo is never read as one (a write in doubt stays in doubt)."""
    if not isinstance(error, PermanentError):
        return None
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CredentialsRejected):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class NothingToDo(BryggaError):
    """The record needs no transfer (e.g. cancelled before it was ready); recorded as skipped."""
