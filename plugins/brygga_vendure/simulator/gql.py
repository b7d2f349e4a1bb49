"""A small GraphQL reader for the simulator: one operation, fields, arguments, variables,
inline fragments and aliases (the subset of the GraphQL spec, https://spec.graphql.org/October2021/,
that Vendure clients send). No schema validation: unknown fields are answered with null."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Field", "Fragment", "GqlSyntaxError", "Operation", "parse", "project"]


class GqlSyntaxError(ValueError):
    """The document is not GraphQL this reader understands (Vendure answers 400)."""


@dataclass
class Var:
    name: str


@dataclass
class Enum:
    name: str


@dataclass
class Field:
    name: str
    alias: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field | Fragment] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name

    def arguments(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {k: _value(v, variables) for k, v in self.args.items()}


@dataclass
class Fragment:
    on: str
    selections: list[Field | Fragment] = field(default_factory=list)


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    fields: list[Field]


_TOKEN = re.compile(
    r'\s*(?:(?P<punct>\.\.\.|[{}()\[\]:!$=@,])|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[_A-Za-z][_0-9A-Za-z]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = re.sub(r"#[^\n]*", "", text)
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise GqlSyntaxError(f"Syntax Error: Unexpected character at {pos}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind != "punct" or value != ",":
            out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof" or (value is not None and tok[1] != value):
            raise GqlSyntaxError(f"Syntax Error: Expected {value or 'more'}, found {tok[1]!r}")
        self.i += 1
        return tok

    def operation(self) -> Operation:
        kind = "query"
        if self.peek()[1] in ("query", "mutation"):
            kind = self.take()[1]
            if self.peek()[0] == "name":
                self.take()
            if self.peek()[1] == "(":
                self._skip_variable_definitions()
        fields = [s for s in self.selection_set() if isinstance(s, Field)]
        if self.peek()[0] != "eof":
            raise GqlSyntaxError("Syntax Error: only one operation per document")
        return Operation(kind, fields)

    def _skip_variable_definitions(self) -> None:
        depth = 0
        while True:
            tok = self.take()
            depth += {"(": 1, ")": -1}.get(tok[1], 0)
            if depth == 0:
                return

    def selection_set(self) -> list[Field | Fragment]:
        self.take("{")
        out: list[Field | Fragment] = []
        while self.peek()[1] != "}":
            if self.peek()[1] == "...":
                self.take()
                self.take("on")
                on = self.take()[1]
                out.append(Fragment(on, self.selection_set()))
                continue
            name = self.take()[1]
            alias = ""
            if self.peek()[1] == ":":
                self.take()
                alias, name = name, self.take()[1]
            args: dict[str, Any] = {}
            if self.peek()[1] == "(":
                self.take()
                while self.peek()[1] != ")":
                    key = self.take()[1]
                    self.take(":")
                    args[key] = self.value()
                self.take(")")
            selections = self.selection_set() if self.peek()[1] == "{" else []
            out.append(Field(name, alias, args, selections))
        self.take("}")
        return out

    def value(self) -> Any:
        kind, text = self.take()
        if text == "$":
            return Var(self.take()[1])
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            obj = {}
            while self.peek()[1] != "}":
                key = self.take()[1]
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        return Enum(text)


def parse(text: str) -> Operation:
    return _Parser(text).operation()


def _value(node: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, Var):
        return variables.get(node.name)
    if isinstance(node, Enum):
        return node.name
    if isinstance(node, list):
        return [_value(v, variables) for v in node]
    if isinstance(node, dict):
        return {k: _value(v, variables) for k, v in node.items()}
    return node


def project(value: Any, selections: list[Field | Fragment]) -> Any:
    """``value`` (dicts with a ``__typename``, lists, scalars) cut down to ``selections``."""
    if value is None or not selections:
        return value
    if isinstance(value, list):
        return [project(v, selections) for v in value]
    out: dict[str, Any] = {}
    typename = value.get("__typename", "")
    for selection in selections:
        if isinstance(selection, Fragment):
            if selection.on == typename or selection.on in value.get("__implements", ()):
                out.update(project(value, selection.selections))
            continue
        out[selection.key] = project(value.get(selection.name), selection.selections)
    return out
