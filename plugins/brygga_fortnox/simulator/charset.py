"""The simulator's check of Fortnox's valid characters in every text value it is sent.

Documented (https://www.fortnox.se/developer/guides-and-good-to-know/formats-and-encoding,
"Valid characters"): ``[\\p{L}\\’\\\\\\x{0308}\\x{030a}a-zåäöéáœæøüA-ZÅÄÖÉÁÜŒÆØ0-9
–:\\.`´’,;\\^¤#%§£$€¢¥©™°&\\/\\(\\)=\\+\\-\\*_\\!?²³®½\\@\\x{00a0}\\n\\r]*``; a value with any
other character is refused with 2000359 "Värdet innehåller ej tillåtna tecken. ({Value})"
(…/guides-and-good-to-know/errors), in the documented ``ErrorInformation`` shape. Modelled:
the answer is HTTP 400 (the responses page: "400 | Bad Request"), every string of the body is
checked (nested rows too), and the first offending value is named.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from brygga_fortnox.simulator.errors import ApiError

__all__ = ["check_text"]

#: the listed characters besides ``\p{L}`` (any letter)
_LISTED = frozenset("’\\\u0308\u030a0123456789 –:.`´,;^¤#%§£$€¢¥©™°&/()=+-*_!?²³®½@\u00a0\n\r")


def _valid(text: str) -> bool:
    return all(c in _LISTED or unicodedata.category(c).startswith("L") for c in text)


def check_text(value: Any) -> None:
    """Raise 2000359 for the first string in ``value`` (a decoded JSON body) outside the set."""
    if isinstance(value, str):
        if not _valid(value):
            raise ApiError(400, 2000359, f"Värdet innehåller ej tillåtna tecken. ({value:.60})")
    elif isinstance(value, dict):
        for item in value.values():
            check_text(item)
    elif isinstance(value, list):
        for item in value:
            check_text(item)
