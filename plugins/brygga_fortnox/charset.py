"""The characters Fortnox takes in text fields, and free text brought within them.

Documented (https://www.fortnox.se/developer/guides-and-good-to-know/formats-and-encoding,
"Valid characters"): a value must match ``[\\p{L}\\’\\\\\\x{0308}\\x{030a}a-zåäöéáœæøü
A-ZÅÄÖÉÁÜŒÆØ0-9 –:\\.`´’,;\\^¤#%§£$€¢¥©™°&\\/\\(\\)=\\+\\-\\*_\\!?²³®½\\@
\\x{00a0}\\n\\r]*`` (one line there); anything else is refused with 2000359 "Värdet innehåller
ej tillåtna tecken" (…/guides-and-good-to-know/errors). So the straight quotes ``'`` and
``"``, square and curly brackets, ``<``/``>``, ``|``, ``~``, tabs, em dashes, the ellipsis
and every emoji are refused.

:func:`clean` maps a character outside the set to an allowed one where a close one exists
(quotes → ``’``, brackets → parentheses, dashes → ``-``, ``…`` → ``...``, odd spaces → a
space) and drops the rest; :func:`outside` names what a value has outside the set (used to
refuse, never to alter, the exactly-once reference).
"""

from __future__ import annotations

import unicodedata

__all__ = ["ALLOWED", "clean", "is_allowed", "outside"]

#: the documented set, less ``\p{L}`` (any letter, checked by category)
ALLOWED = frozenset("’\\\u0308\u030a0123456789 –:.`´,;^¤#%§£$€¢¥©™°&/()=+-*_!?²³®½@\u00a0\n\r")

_APOSTROPHE = "’"
_MAP: dict[str, str] = {
    **dict.fromkeys("'‘‚‛′\"“”„‟″«»‹›", _APOSTROPHE),
    **dict.fromkeys("[{<⟨〈［｛", "("),
    **dict.fromkeys("]}>⟩〉］｝", ")"),
    **dict.fromkeys("‐‑‒—―−﹣－~", "-"),
    **dict.fromkeys("\t\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a", " "),
    **dict.fromkeys("\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u2028\u2029", "\n"),
    "…": "...",
    "|": "/",
    "•": "-",
    "·": "-",
    "×": "x",
    "÷": "/",
    "¼": "1/4",
    "¾": "3/4",
    "¹": "1",
}


def is_allowed(char: str) -> bool:
    """Whether Fortnox takes ``char`` in a text value."""
    return char in ALLOWED or unicodedata.category(char).startswith("L")


def clean(text: str) -> str:
    """``text`` within Fortnox's valid characters: composed (NFC, so ``e`` + combining acute
    becomes ``é``), mapped to a close allowed character where one exists, the rest dropped,
    stripped."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if is_allowed(char):
            out.append(char)
        else:
            out.append(_MAP.get(char, ""))
    return "".join(out).strip()


def outside(text: str) -> str:
    """The characters of ``text`` Fortnox does not take, each once, in order."""
    return "".join(dict.fromkeys(c for c in text if not is_allowed(c)))
