"""The e-conomic ``filter=`` language for the simulator: parse once, then test resources."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FilterError", "Predicate", "parse_filter", "resolve_path", "sole_lookup"]

Predicate = Callable[[Mapping[str, Any]], bool]

_OPERATORS = ("eq", "ne", "gte", "gt", "lte", "lt", "like", "in", "nin")
_PROPERTY = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_ESCAPABLE = "$()*,[]"
_MAX_IN = 200


class FilterError(ValueError):
    """The filter cannot be parsed or uses a property that is not filterable (HTTP 400)."""


class _Null:
    """The ``$null:`` literal."""


NULL = _Null()


@dataclass
class _Text:
    """A filter value after unescaping; ``wild`` marks the positions of unescaped ``*``."""

    chars: str
    wild: frozenset[int] = frozenset()


def resolve_path(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted property path, or None when any step is missing."""
    current: Any = resource
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


class _Parser:
    def __init__(self, text: str, filterable: Collection[str]) -> None:
        self.text = text
        self.pos = 0
        self.filterable = filterable

    def fail(self, what: str) -> FilterError:
        return FilterError(f"Invalid filter at position {self.pos}: {what}.")

    def startswith(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def parse(self) -> Predicate:
        if not self.text:
            raise self.fail("the filter is empty")
        predicate = self.parse_or()
        if self.pos != len(self.text):
            raise self.fail("unexpected text (unescaped parenthesis?)")
        return predicate

    # $and: binds tighter than $or: (the docs leave affinity to parentheses)
    def parse_or(self) -> Predicate:
        terms = [self.parse_and()]
        while self.startswith("$or:"):
            self.pos += 4
            terms.append(self.parse_and())
        if len(terms) == 1:
            return terms[0]
        return lambda resource: any(term(resource) for term in terms)

    def parse_and(self) -> Predicate:
        terms = [self.parse_term()]
        while self.startswith("$and:"):
            self.pos += 5
            terms.append(self.parse_term())
        if len(terms) == 1:
            return terms[0]
        return lambda resource: all(term(resource) for term in terms)

    def parse_term(self) -> Predicate:
        if self.startswith("("):
            self.pos += 1
            inner = self.parse_or()
            if not self.startswith(")"):
                raise self.fail("missing closing parenthesis")
            self.pos += 1
            return inner
        return self.parse_predicate()

    def parse_predicate(self) -> Predicate:
        match = _PROPERTY.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a property name")
        prop = match.group(0)
        if prop not in self.filterable:
            raise FilterError(f"Property '{prop}' is not filterable on this collection.")
        self.pos = match.end()
        for op in _OPERATORS:
            if self.startswith(f"${op}:"):
                self.pos += len(op) + 2
                break
        else:
            raise self.fail(f"expected an operator after '{prop}'")
        if op in ("in", "nin"):
            values = self.parse_list()
            return _membership(prop, values, negate=op == "nin")
        value = self.parse_value(allow_wildcards=op == "like")
        return _comparison(prop, op, value)

    def parse_value(self, *, allow_wildcards: bool) -> _Text | _Null:
        if self.startswith("$null:"):
            self.pos += 6
            return NULL
        chars: list[str] = []
        wild: set[int] = set()
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "$":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt and nxt in _ESCAPABLE:
                    chars.append(nxt)
                    self.pos += 2
                    continue
                if self.startswith("$and:") or self.startswith("$or:"):
                    break
                raise self.fail("a '$' in a value must be escaped as '$$'")
            if char == ")":
                break
            if char == "*":
                if not allow_wildcards:
                    raise self.fail("'*' must be escaped as '$*' outside $like:")
                wild.add(len(chars))
            elif char in "(,[]":
                raise self.fail(f"'{char}' must be escaped as '${char}'")
            chars.append(char)
            self.pos += 1
        return _Text("".join(chars), frozenset(wild))

    def parse_list(self) -> list[Decimal | _Null]:
        if not self.startswith("["):
            raise self.fail("$in: and $nin: take a list in brackets")
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.fail("missing ']'")
        items = self.text[self.pos + 1 : end].split(",")
        self.pos = end + 1
        if len(items) > _MAX_IN:
            raise FilterError(f"$in: and $nin: accept at most {_MAX_IN} values.")
        values: list[Decimal | _Null] = []
        for item in items:
            if item == "$null:":
                values.append(NULL)
                continue
            try:
                values.append(Decimal(item))
            except InvalidOperation:
                raise FilterError(
                    "$in: and $nin: are only allowed on numeric properties; "
                    f"'{item}' is not a number."
                ) from None
        return values


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _instant(text: str) -> datetime | None:
    """An ISO-8601 date or date-time as an aware instant (no offset: UTC; a date alone: its
    midnight), or None. e-conomic's ``lastUpdated`` is "formatted according to ISO-8601" and
    clients filter it with dates (``lastUpdated$gt:2019-01-13``) or full instants
    (``...T10:00:00Z``), so such values compare as points in time, not as text."""
    if not _ISO_DATE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _compare(actual: Any, wanted: _Text) -> int | None:
    """-1/0/1 comparing a resource value with a filter value; None when incomparable."""
    if isinstance(actual, str):
        left_at, right_at = _instant(actual), _instant(wanted.chars)
        if left_at is not None and right_at is not None:
            return (left_at > right_at) - (left_at < right_at)
    number = _number(actual)
    if number is not None:
        try:
            other = Decimal(wanted.chars)
        except InvalidOperation:
            return None
        return (number > other) - (number < other)
    if isinstance(actual, bool):
        text = "true" if actual else "false"
    elif isinstance(actual, str):
        text = actual
    else:
        return None
    left, right = text.casefold(), wanted.chars.casefold()
    return (left > right) - (left < right)


def _like(actual: Any, wanted: _Text) -> bool:
    if not isinstance(actual, str | int | Decimal) or isinstance(actual, bool):
        return False
    if not wanted.wild:
        return wanted.chars.casefold() in str(actual).casefold()
    pattern = "".join(
        ".*" if index in wanted.wild else re.escape(char) for index, char in enumerate(wanted.chars)
    )
    return re.fullmatch(pattern, str(actual), flags=re.IGNORECASE | re.DOTALL) is not None


@dataclass(frozen=True)
class _Comparison:
    """One ``prop$op:value`` test (a callable Predicate that says what it compares)."""

    prop: str
    op: str
    wanted: _Text | _Null

    def __call__(self, resource: Mapping[str, Any]) -> bool:
        op, wanted = self.op, self.wanted
        actual = resolve_path(resource, self.prop)
        if isinstance(wanted, _Null):
            if op == "eq":
                return actual is None
            if op == "ne":
                return actual is not None
            return False
        if actual is None:
            return op == "ne"
        if op == "like":
            return _like(actual, wanted)
        order = _compare(actual, wanted)
        if order is None:
            return op == "ne"
        return {
            "eq": order == 0,
            "ne": order != 0,
            "gt": order > 0,
            "gte": order >= 0,
            "lt": order < 0,
            "lte": order <= 0,
        }[op]


def _comparison(prop: str, op: str, wanted: _Text | _Null) -> Predicate:
    return _Comparison(prop, op, wanted)


def sole_lookup(predicate: Predicate) -> tuple[str, str, str] | None:
    """``(property, op, value)`` when the whole filter is one ``prop$eq:value`` with a text
    value (no ``$null:``) or one ``prop$like:value`` without a ``*`` (contains), and no
    ``$and:``/``$or:``, so that an index may answer it; else None."""
    if (
        isinstance(predicate, _Comparison)
        and isinstance(predicate.wanted, _Text)
        and (predicate.op == "eq" or (predicate.op == "like" and not predicate.wanted.wild))
    ):
        return predicate.prop, predicate.op, predicate.wanted.chars
    return None


def _membership(prop: str, values: list[Decimal | _Null], *, negate: bool) -> Predicate:
    numbers = {v for v in values if isinstance(v, Decimal)}
    with_null = any(isinstance(v, _Null) for v in values)

    def test(resource: Mapping[str, Any]) -> bool:
        actual = resolve_path(resource, prop)
        if actual is None:
            found = with_null
        else:
            number = _number(actual)
            found = number is not None and number in numbers
        return found != negate

    return test


def parse_filter(text: str, filterable: Collection[str]) -> Predicate:
    """Compile a filter expression; raise FilterError (→ HTTP 400) when it is invalid or names
    a property outside ``filterable``."""
    return _Parser(text, filterable).parse()
