"""The subset of OData v4 ``$filter`` the simulated Query API understands.

Grammar: ``expr := term ('or' term)*``, ``term := factor ('and' factor)*``, ``factor := '('
expr ')' | Field op literal`` with ``op`` one of eq, ne, gt, ge, lt, le. Literals: integers,
decimals, ``null``, ``true``/``false``, ``'quoted strings'`` (``''`` escapes a quote) and
unquoted ISO-8601 date-times with an offset (OData v4 ``DateTimeOffset``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FilterError", "parse_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<str>'(?:[^']|'')*')"
    r"|(?P<word>[A-Za-z0-9_:.+\-]+))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class FilterError(ValueError):
    """A ``$filter`` the simulator cannot parse (the Query API answers 400)."""


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterError(f"unexpected text at {text[pos : pos + 20]!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return tokens


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    if token == "null":
        return None
    if token in ("true", "false"):
        return token == "true"
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if "T" in token:
        try:
            when = datetime.fromisoformat(token.replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(f"{token!r} is no DateTimeOffset") from None
        if when.tzinfo is None:
            raise FilterError(f"{token!r} needs an offset")
        return when
    try:
        return Decimal(token)
    except InvalidOperation:
        raise FilterError(f"{token!r} is no literal") from None


def _compare(value: Any, op: str, literal: Any) -> bool:
    if op in ("eq", "ne"):
        return bool(value == literal) == (op == "eq")
    if value is None or literal is None:
        return False
    try:
        if op == "gt":
            return bool(value > literal)
        if op == "ge":
            return bool(value >= literal)
        if op == "lt":
            return bool(value < literal)
        return bool(value <= literal)
    except TypeError:
        raise FilterError(f"cannot compare {value!r} with {literal!r}") from None


class _Parser:
    def __init__(self, tokens: list[str], fields: frozenset[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FilterError("the filter ends too early")
        self.pos += 1
        return token

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek() == "or":
            self.take()
            parts.append(self.term())
        return lambda row: any(p(row) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek() == "and":
            self.take()
            parts.append(self.factor())
        return lambda row: all(p(row) for p in parts)

    def factor(self) -> Predicate:
        if self.peek() == "(":
            self.take()
            inner = self.expr()
            if self.take() != ")":
                raise FilterError("missing ')'")
            return inner
        name, op, raw = self.take(), self.take(), self.take()
        if name not in self.fields:
            raise FilterError(f"Could not find a property named '{name}'")
        if op not in _OPS:
            raise FilterError(f"unknown operator {op!r}")
        literal = _literal(raw)
        return lambda row: _compare(row.get(name), op, literal)


def parse_filter(text: str, fields: frozenset[str]) -> Predicate:
    """A predicate over rows (field name → value) for ``text``; FilterError when bad."""
    parser = _Parser(_tokens(text), fields)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek()!r}")
    return predicate
