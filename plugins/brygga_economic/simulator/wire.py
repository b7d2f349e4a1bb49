"""The e-conomic simulator's own wire helpers: JSON out, and the self-link codec for string ids.

Written apart from the adapter's ``wire`` module on purpose: a model shared by the adapter and
its simulator would hide a mistake both make. The codec follows the documented table
(reference/erp-apis.md §1.3): ``<``=0 ``>``=1 ``*``=2 ``%``=3 ``:``=4 ``&``=5 ``/``=6
``\\``=7 ``_``=8 space=9 ``?``=10 ``.``=11 ``#``=12 ``+``=13, each written ``_N_``; other
characters are percent-encoded as usual.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote

import msgspec

__all__ = ["decode_id", "encode_id", "to_json"]

_SPECIAL = "<>*%:&/\\_ ?.#+"
_TOKEN = re.compile(r"_(1[0-3]|[0-9])_")
_JSON = msgspec.json.Encoder(decimal_format="number")


def to_json(value: Any) -> bytes:
    """JSON with Decimals written as numbers, as e-conomic answers."""
    return _JSON.encode(value)


@functools.lru_cache(maxsize=4096)
def encode_id(ident: str) -> str:
    """A string id (a product number, a VAT code) as the path segment of its self link
    (remembered: every document line links its product)."""
    out = []
    for char in ident:
        position = _SPECIAL.find(char)
        out.append(f"_{position}_" if position >= 0 else quote(char, safe="-~"))
    return "".join(out)


def decode_id(segment: str) -> str:
    """The string id behind a self-link path segment (already percent-decoded)."""
    return _TOKEN.sub(lambda match: _SPECIAL[int(match.group(1))], segment)
