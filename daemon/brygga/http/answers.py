"""A remote's JSON answers read into typed models; hostile bodies become the project's errors.

The rules (chosen, not any vendor's): a 2xx answer to a *write* that cannot be read is a
TransientError, since the write probably happened and the retry looks it up by reference; a
2xx answer to a read that is not JSON at all (empty, HTML, truncated) is a TransientError too
(a proxy or maintenance page; a retry can help); well-formed JSON of the wrong shape, or JSON
nested deeper than the decoder goes, is a PermanentError naming what was read.

A refusal (any other non-2xx answer that reaches an adapter: a 3xx, since redirects are never
followed, or a 4xx; 429 and 5xx are the HTTP layer's TransientErrors) is a PermanentError made
by :func:`refusal`: a 401 or 403 says what a person must fix, anything else names the record
and what the system said was wrong with it, and a 404 is the adapter's own "not found" error.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import msgspec

from brygga.errors import BryggaError, PermanentError, TransientError

__all__ = ["DECODE_FAILURES", "MAX_DETAILS", "Answers", "body_kind", "refusal", "shorten"]

T = TypeVar("T")

#: what decoding hostile bytes can raise besides msgspec's own errors
DECODE_FAILURES = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)
#: how much of a decoder's complaint, and of what an error body said, a message quotes
_PROBLEM_LENGTH = 300
_SAID_LENGTH = 200
#: how many problems of an error body a refusal names before "and more"
MAX_DETAILS = 10


def shorten(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with "..." when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def body_kind(content: bytes) -> str:
    """What a body that is not JSON looks like, for messages."""
    head = content.lstrip()[:1]
    if not head:
        return "an empty answer"
    if head == b"<":
        return "an HTML or XML page"
    return "an answer that is not JSON"


@dataclass(frozen=True)
class Answers:
    """How one adapter reads its system's answers.

    ``system`` names the vendor in messages ("Fortnox"); ``scrub`` removes the adapter's
    secrets from any text an answer may echo; ``fail`` turns a non-2xx answer into the
    system's error (from its own error body); ``said``, when the system has one, reads the
    message of an error body that came with an unexpected 2xx (empty when there is none)."""

    system: str
    scrub: Callable[[str], str]
    fail: Callable[[httpx.Response, str], BryggaError]
    said: Callable[[bytes], str] | None = None

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer decoded as ``type_``; ``write`` says the request changed something."""
        if not 200 <= response.status_code < 300:
            raise self.fail(response, what)
        try:
            return msgspec.json.decode(response.content, type=type_)
        except DECODE_FAILURES as exc:
            raise self.unreadable(response, what, exc, write=write) from None

    def unreadable(
        self, response: httpx.Response, what: str, exc: Exception, *, write: bool
    ) -> BryggaError:
        """The error for a 2xx answer to ``what`` that ``exc`` says cannot be read."""
        status, system = response.status_code, self.system
        # (a ValidationError is a DecodeError too: well-formed JSON of the wrong shape)
        not_json = not isinstance(exc, msgspec.ValidationError) and isinstance(
            exc, msgspec.DecodeError | UnicodeDecodeError
        )
        if isinstance(exc, RecursionError):
            problem = "JSON nested too deeply"
        elif not_json:
            problem = body_kind(response.content)
        else:
            problem = shorten(str(exc), _PROBLEM_LENGTH)
        if write:
            return TransientError(
                self.scrub(
                    f"{system} accepted {what} (HTTP {status}) but its answer could not be "
                    f"read ({problem}); the next attempt looks the result up before sending again"
                )
            )
        if not_json:
            return TransientError(
                f"{system} sent {problem} for {what} (HTTP {status}), not JSON; usually a "
                "proxy or maintenance page, so brygga retries (check base_url if it persists)"
            )
        # scrubbed before it is cut, so no cut can leave part of a secret behind
        said = self.said(response.content) if self.said is not None else ""
        said = shorten(self.scrub(said), _SAID_LENGTH)
        return PermanentError(
            self.scrub(
                f"{system} sent an unexpected answer for {what}: {problem}"
                + (f" (it said: {said})" if said else "")
            )
        )


def refusal(
    response: httpx.Response,
    what: str,
    details: Iterable[str],
    *,
    system: str,
    scrub: Callable[[str], str],
    credentials: str,
    unauthorized: str,
    forbidden: str,
    not_found: type[PermanentError] = PermanentError,
    detail_length: int | None = _PROBLEM_LENGTH,
    length: int = 2000,
) -> PermanentError:
    """The error for a refusal (a 3xx or 4xx answer) to ``what``, e.g. "the invoice for order 12".

    The system's own wording comes as parameters: a 401 reads "``system`` refused
    ``credentials`` (HTTP 401) while working on ``what``: ``unauthorized``" and a 403
    "``system`` denied access (HTTP 403) while working on ``what``: ``forbidden``" (both say
    what to fix). Any other status reads "``system`` rejected ``what`` (HTTP n): " and the
    ``details`` read from the error body (blank ones dropped, each scrubbed and then cut to
    ``detail_length``, at most :data:`MAX_DETAILS` and "and more"; "no details given" when
    none), the whole scrubbed and then cut to ``length``; a 404 is a ``not_found``. Every
    text is scrubbed before it is cut, so no cut can leave part of a secret behind.
    """
    status = response.status_code
    if status == 401:
        return PermanentError(
            scrub(
                f"{system} refused {credentials} (HTTP 401) while working on {what}: "
                + unauthorized
            )
        )
    if status == 403:
        return PermanentError(
            scrub(f"{system} denied access (HTTP 403) while working on {what}: {forbidden}")
        )
    said = [scrub(d) for d in itertools.islice((d for d in details if d.strip()), MAX_DETAILS + 1)]
    if detail_length is not None:
        said = [shorten(detail, detail_length) for detail in said]
    if len(said) > MAX_DETAILS:
        said = [*said[:MAX_DETAILS], "and more"]
    message = f"{system} rejected {what} (HTTP {status}): {'; '.join(said) or 'no details given'}"
    return (not_found if status == 404 else PermanentError)(shorten(scrub(message), length))
