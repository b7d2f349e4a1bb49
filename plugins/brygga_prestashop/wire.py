"""PrestaShop Webservice JSON, read defensively: every value checked where it is used.

PrestaShop sends values as strings as stored (decimals with six places, §3.5), ids as numbers
or strings depending on version; language fields as a plain string when one language is
output and as ``[{"id", "value"}]`` otherwise. An empty list may be ``[]`` instead of
``{"orders": []}`` (§3.5, issues #10172/#22760 [PS17]). Each accessor raises PermanentError
naming the record (``what``) and the field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from brygga.errors import PermanentError

__all__ = [
    "Record",
    "decode_detail",
    "decode_list",
    "escape_filter",
    "get_date",
    "get_decimal",
    "get_id",
    "get_int",
    "get_text",
    "xml_body",
]

Record = dict[str, Any]
#: hostile-input bounds (brygga's own): no shop row is bigger than these
MAX_AMOUNT = Decimal(10) ** 12
MAX_TEXT = 100_000
FIRST_YEAR = 1970
_DECODER = msgspec.json.Decoder()
_FILTER_UNSAFE = re.compile(r"[\[\]|,%!<>]")


def _shown(value: object) -> str:
    text = str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _decode(body: bytes, what: str) -> Any:
    try:
        return _DECODER.decode(body)
    except RecursionError:
        raise PermanentError(
            f"{what}: PrestaShop's answer is nested too deeply to be an API answer; check "
            "base_url and any proxy in front of the shop, then retry"
        ) from None
    except msgspec.DecodeError:
        start = body[:60].lstrip()
        hint = (
            " (it looks like XML: check that the shop honours output_format=JSON)"
            if start.startswith(b"<")
            else ""
        )
        raise PermanentError(
            f"{what}: PrestaShop's answer is not valid JSON{hint}; check base_url and the "
            "Webservice, then retry"
        ) from None


def decode_detail(body: bytes, singular: str, what: str) -> Record:
    """``{"order": {...}}`` → the inner object."""
    data = _decode(body, what)
    inner = data.get(singular) if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        raise PermanentError(
            f"{what}: PrestaShop's answer has no '{singular}' object; check that base_url "
            "points at the shop (the adapter adds /api)"
        )
    return inner


def decode_list(body: bytes, plural: str, what: str) -> list[Record]:
    """``{"orders": [...]}`` or the empty-list quirk ``[]`` (also ``{}`` and ``""``)."""
    data = _decode(body, what)
    if data == [] or data == {} or data == "":
        return []
    rows = data.get(plural) if isinstance(data, dict) else None
    if rows == [] or rows == {} or rows == "":
        return []
    if not isinstance(rows, list):
        raise PermanentError(
            f"{what}: PrestaShop's answer has no '{plural}' list; check base_url and the "
            "key's permissions for this resource"
        )
    return [row if isinstance(row, dict) else {"__bad__": row} for row in rows]


def get_text(record: Record, name: str, what: str, *, language: int | None = None) -> str:
    """A text field (a language field: the value of ``language``, else the first)."""
    value = record.get(name, "")
    if isinstance(value, list):  # language list [{"id", "value"}]
        entries = [v for v in value if isinstance(v, dict)]
        chosen = next((v for v in entries if str(v.get("id")) == str(language)), None)
        value = (chosen or (entries[0] if entries else {})).get("value", "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PermanentError(
            f"{what}: {name} is {_shown(value)}, not text; fix it in the PrestaShop back "
            "office, then retry"
        )
    text = str(value)
    if len(text) > MAX_TEXT:
        raise PermanentError(
            f"{what}: {name} is {len(text)} characters long, more than brygga accepts "
            f"({MAX_TEXT}); shorten it in the PrestaShop back office, then retry"
        )
    if not text.isprintable():
        text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    return text.strip()


def get_decimal(record: Record, name: str, what: str, *, required: bool = True) -> Decimal:
    raw = record.get(name)
    if (raw is None or raw == "") and not required:
        return Decimal(0)
    try:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise PermanentError(
            f"{what}: {name} is {_shown(raw) if raw is not None else 'missing'}, not a "
            "number; fix it in the PrestaShop back office, then retry"
        ) from None
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        raise PermanentError(
            f"{what}: {name} is {_shown(raw)}, outside what brygga accepts (a finite "
            f"number of at most {MAX_AMOUNT:,}); fix it in PrestaShop, then retry"
        )
    return value


def get_int(record: Record, name: str, what: str) -> int:
    value = get_decimal(record, name, what)
    if value != value.to_integral_value():
        raise PermanentError(
            f"{what}: {name} is {_shown(record.get(name))}, not a whole number; fix it in "
            "PrestaShop, then retry"
        )
    return int(value)


def get_id(record: Record, name: str, what: str) -> int:
    value = get_int(record, name, what)
    if value < 0:
        raise PermanentError(f"{what}: {name} is {value}, not an id; fix it in PrestaShop")
    return value


def get_date(record: Record, name: str, what: str, zone: ZoneInfo) -> datetime:
    """A shop-local ``YYYY-MM-DD HH:MM:SS`` (no offset, §3.7) as aware UTC."""
    raw = record.get(name)
    try:
        if not isinstance(raw, str):
            raise ValueError
        local = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
        if local.year < FIRST_YEAR:
            raise ValueError
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        raise PermanentError(
            f"{what}: {name} is {_shown(raw) if raw is not None else 'missing'}, not a "
            "plausible 'YYYY-MM-DD HH:MM:SS' time; fix it in PrestaShop, then retry"
        ) from None


def escape_filter(value: str, what: str) -> str:
    """A value for ``filter[x]=[value]``; the grammar has no escape for its own
    characters (§3.4), so a value containing them cannot be looked up."""
    if not value or _FILTER_UNSAFE.search(value):
        raise PermanentError(
            f"{what}: {value!r} contains characters the Webservice filter grammar cannot "
            "express ([ ] | , % ! < >); change the reference in PrestaShop"
        )
    return value


def _xml_text(value: str) -> str:
    safe = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20)
    return safe.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_body(singular: str, fields: Mapping[str, str | dict[int, str]]) -> bytes:
    """A write body ``<prestashop><singular>…</singular></prestashop>`` (input is XML only,
    §3.2); language fields as ``<language id="N">``."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, dict):
            inner = "".join(
                f'<language id="{lang}">{_xml_text(text)}</language>'
                for lang, text in value.items()
            )
        else:
            inner = _xml_text(value)
        parts.append(f"<{name}>{inner}</{name}>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<prestashop><{singular}>{"".join(parts)}'
        f"</{singular}></prestashop>"
    ).encode()
