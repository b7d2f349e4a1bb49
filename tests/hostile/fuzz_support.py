"""Hypothesis strategies for decoder fuzzing: JSON-like values, nasty values, mutations."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["FUZZ", "bodies", "encode", "json_values", "mutated", "nasty", "numbers"]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENCODER = msgspec.json.Encoder(decimal_format="number")

# --- strategies ------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
#: values that have broken decoders before: specials as strings, extremes, odd times
nasty = st.sampled_from(
    [
        "NaN",
        "sNaN",
        "inf",
        "-Infinity",
        "1e400",
        "-1e-400",
        "",
        "\x00",
        "\ud800",
        "25%",
        0,
        -1,
        10**30,
        -(10**30),
        1e308,
        5e-324,
        True,
        [],
        {},
        {"data": None},
        "2026-13-45T99:00:00+01:00",
        "2026-02-02T10:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1970-01-01T00:00:00Z",
    ]
)
json_values = st.recursive(
    scalars | nasty,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


#: what a vendor may put where a number belongs: every Decimal (NaN, sNaN, Infinity, huge
#: exponents) as a string, plus JSON numbers and the nasty values
numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with one to four nodes replaced, deleted or given a sibling."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(doc)))
        value = copy.deepcopy(draw(nasty | json_values))  # never share sampled objects
        if not path:
            return value
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[last] = value
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = value
        else:
            parent.insert(last, value)
    return doc


def encode(doc: Any) -> bytes:
    try:
        return ENCODER.encode(doc)
    except (TypeError, UnicodeEncodeError, OverflowError):
        return repr(doc).encode("utf-8", "replace")  # not JSON: must fail as garbage


@st.composite
def spliced(draw: st.DrawFn, base: Any) -> bytes:
    """The valid payload's bytes with a few bytes inserted (invalid UTF-8, cut strings...)."""
    body = ENCODER.encode(base)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(body)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b'"', b"\\u", b"{"]))
        body = body[:at] + junk + body[at:]
    return body


def deep(depth: int) -> bytes:
    """Valid JSON nested far deeper than any decoder's recursion guard."""
    return b'{"data": ' + b"[" * depth + b"]" * depth + b', "collection": []}'


def bodies(base: Any) -> st.SearchStrategy[bytes]:
    """Raw bytes, arbitrary JSON, deep nesting, spliced bytes, and (mostly) mutations of a
    valid payload."""
    return st.one_of(
        st.binary(max_size=200),
        json_values.map(encode),
        st.integers(10, 20_000).map(deep),
        spliced(base),
        mutated(base).map(encode),
        mutated(base).map(encode),
        mutated(base).map(encode),
    )
