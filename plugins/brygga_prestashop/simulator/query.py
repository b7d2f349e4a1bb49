"""The list grammar: ``display``, ``filter[field]``, ``date=1``, ``sort`` and ``limit``.

As reference/shop-apis.md §3.4 describes it ([PS1] WebserviceRequest, [PS2] SQLUtils,
[PS11] devdocs "additional list parameters"): ``[a|b]`` OR, ``[x,y]`` BETWEEN (sorted first,
inclusive), ``[v]`` equals, ``[v]%``/``%[v]``/``%[v]%`` LIKE, ``>[v]``/``<[v]`` strict,
``![a|b]`` not equal. Date fields are filterable only with ``date=1``; a bare date compares
as midnight (issue #10822 [PS16]).

Text compares as MySQL compares a ``_ci`` column (PrestaShop's tables use
``utf8mb4_unicode_ci`` / ``utf8mb4_general_ci``): a literal ``[John]`` is "not case sensitive"
(devdocs, webservice cheat sheet: list options), and a PAD SPACE collation ignores trailing
spaces, so ``filter[reference]=[ab-1]`` finds ``AB-1`` and ``AB-1 `` too. Without ``sort``
the rows come in no promised order (§3.4 "whatever the database returns"): the webservice
shuffles them (:meth:`ListQuery.apply`'s ``rng``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from brygga_prestashop.simulator.schema import DATE_FIELDS, Resource

__all__ = ["ListQuery", "WsError", "parse_list_query"]

Row = dict[str, Any]


class WsError(Exception):
    """A webservice error: HTTP status, PrestaShop's internal code and message."""

    def __init__(self, status: int, code: int, message: str, *also: tuple[int, str]) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: further (code, message) errors of the same answer, in order
        self.also = also


_FILTER = re.compile(r"^filter\[([a-z_0-9]+)\]$")
_BRACKETS = re.compile(r"^(!|>|<)?(%?)\[(.*)\](%?)$", re.S)
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _value(row: Row, name: str) -> str:
    value = row.get(name, "")
    if isinstance(value, dict):
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _key(text: str, is_date: bool) -> tuple[int, Any]:
    if is_date and _BARE_DATE.match(text):
        text += " 00:00:00"
    if not is_date:
        try:
            return (0, Decimal(text))
        except InvalidOperation:
            pass
    return (1, _collate(text))


def _collate(text: str) -> str:
    """The text as a ``_ci`` PAD SPACE collation compares it: case folded, trailing spaces
    dropped."""
    return text.rstrip(" ").casefold()


def _like(pattern: str, text: str, left: bool, right: bool) -> bool:
    low, value = text.lower(), pattern.lower()
    if left and right:
        return value in low
    if left:
        return low.endswith(value)
    return low.startswith(value)


def _matcher(name: str, raw: str) -> Callable[[Row], bool]:
    """A predicate for one ``filter[name]=raw``."""
    is_date = name in DATE_FIELDS
    found = _BRACKETS.match(raw)
    if not found:  # a bare value compares as equal
        return lambda row: _collate(_value(row, name)) == _collate(raw)
    op, left, inner, right = found.groups()
    if left or right:
        return lambda row: _like(inner, _value(row, name), bool(left), bool(right))
    if op in (">", "<"):
        bound = _key(inner, is_date)
        if op == ">":
            return lambda row: _key(_value(row, name), is_date) > bound
        return lambda row: _key(_value(row, name), is_date) < bound
    if "," in inner and op is None:
        low, high = sorted(_key(p, is_date) for p in inner.split(",", 1))
        return lambda row: low <= _key(_value(row, name), is_date) <= high
    options = {_key(p, is_date) for p in inner.split("|")}
    if op == "!":
        return lambda row: _key(_value(row, name), is_date) not in options
    return lambda row: _key(_value(row, name), is_date) in options


@dataclass
class ListQuery:
    """A parsed list request."""

    display: tuple[str, ...] | None  # None: ids only; () : full
    filters: list[Callable[[Row], bool]]
    sort: list[tuple[str, bool]]
    offset: int
    count: int | None

    def apply(self, rows: list[Row], rng: random.Random | None = None) -> list[Row]:
        """The filtered, sorted page; without ``sort`` the rows keep the order they came in,
        shuffled first with ``rng`` when given (no order is promised)."""
        chosen = [row for row in rows if all(f(row) for f in self.filters)]
        if not self.sort and rng is not None:
            rng.shuffle(chosen)
        for name, descending in reversed(self.sort):
            chosen.sort(
                key=lambda r: _key(_value(r, name), name in DATE_FIELDS), reverse=descending
            )
        end = None if self.count is None else self.offset + self.count
        return chosen[self.offset : end]


def parse_list_query(params: Mapping[str, str], resource: Resource) -> ListQuery:
    """The list query of ``params``; WsError for what PrestaShop refuses."""
    dates = params.get("date") == "1"
    filterable = set(resource.fields) - (set() if dates else DATE_FIELDS)
    filters = []
    for key, raw in params.items():
        found = _FILTER.match(key)
        if not found:
            continue
        name = found.group(1)
        if name in resource.dynamic:
            raise WsError(400, 34, f"Filtering on the computed field '{name}' is not supported")
        if name not in filterable:
            hint = " (add date=1 to filter on a date field)" if name in DATE_FIELDS else ""
            raise WsError(400, 32, f"This filter does not exist: {name}{hint}")
        filters.append(_matcher(name, raw))
    return ListQuery(
        display=_display(params.get("display"), resource),
        filters=filters,
        sort=_sort(params.get("sort"), filterable),
        offset=_limit(params.get("limit"))[0],
        count=_limit(params.get("limit"))[1],
    )


def _display(raw: str | None, resource: Resource) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if raw == "full":
        return ()
    if not (raw.startswith("[") and raw.endswith("]")):
        raise WsError(400, 35, "display must be 'full' or a list like [id,date_upd]")
    names = tuple(p.strip() for p in raw[1:-1].split(",") if p.strip())
    unknown = [n for n in names if n not in resource.fields]
    if unknown:
        raise WsError(400, 35, f"Unable to display this field '{unknown[0]}'")
    return names


def _sort(raw: str | None, filterable: set[str]) -> list[tuple[str, bool]]:
    if not raw:
        return []
    if not (raw.startswith("[") and raw.endswith("]")):
        raise WsError(400, 37, "sort must be like [field_ASC,field2_DESC]")
    out = []
    for part in raw[1:-1].split(","):
        name, _, way = part.strip().rpartition("_")
        if way not in ("ASC", "DESC") or not name:
            raise WsError(400, 37, f"Invalid sort '{part}': use field_ASC or field_DESC")
        if name not in filterable:
            raise WsError(400, 38, f"Unable to sort by the field '{name}'")
        out.append((name, way == "DESC"))
    return out


def _limit(raw: str | None) -> tuple[int, int | None]:
    if not raw:
        return 0, None
    parts = raw.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise WsError(400, 33, "limit must be N or offset,N") from None
    if len(numbers) > 2 or any(n < 0 for n in numbers):
        raise WsError(400, 33, "limit must be N or offset,N")
    return (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
