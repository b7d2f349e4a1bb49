"""Indexes for the simulator's ``prop$eq:value`` and ``prop$like:value`` filters."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from brygga_economic.simulator.filter import resolve_path

__all__ = ["EqualityIndex"]


def _key(value: Any) -> Hashable | None:
    """What ``$eq:`` compares of a stored value: text case-insensitively (a boolean as
    ``true``/``false``), a number by value; None for what ``$eq:`` never matches."""
    if isinstance(value, bool):
        return ("text", "true" if value else "false")
    if isinstance(value, str):
        return ("text", value.casefold())
    if isinstance(value, int | Decimal):
        return ("number", Decimal(value))
    return None


def _text(value: Any) -> str | None:
    """What ``$like:`` searches in a stored value (case-insensitively); None for a value it
    never matches (a boolean, an object, null)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    return str(value).casefold()


def _wanted_keys(chars: str) -> list[Hashable]:
    """The keys a filter value matches: as text, and as a number when it reads as one."""
    keys: list[Hashable] = [("text", chars.casefold())]
    try:
        number = Decimal(chars)
    except InvalidOperation:
        return keys
    if number.is_finite():
        keys.append(("number", number))
    return keys


class EqualityIndex:
    """The resources of one collection (a dict by id) by one property's value: equal values
    by hash, and each value's folded text for ``$like:`` without ``*`` (contains), which is
    still a scan but of short strings instead of filter calls on every resource.

    ``put`` is called whenever the collection stores a resource; resources are replaced, never
    edited in place. A collection whose size changed behind the index's back (a test writing
    into the dict) is indexed again on the next lookup. An answer holds candidates: the caller still
    tests each with the filter, so an index can only narrow the scan, never change the result.
    """

    def __init__(self, prop: str) -> None:
        self.prop = prop
        self._ids: dict[Hashable, set[Hashable]] = {}
        #: every indexed id, with its key (None: a value ``$eq:`` never matches)
        self._key_of: dict[Hashable, Hashable | None] = {}
        #: every indexed id, with the text ``$like:`` searches (None: never matches)
        self._text_of: dict[Hashable, str | None] = {}

    def put(self, ident: Hashable, resource: Mapping[str, Any]) -> None:
        old = self._key_of.pop(ident, None)
        self._text_of.pop(ident, None)
        if old is not None:
            self._ids[old].discard(ident)
        value = resolve_path(resource, self.prop)
        key = _key(value)
        self._key_of[ident] = key
        self._text_of[ident] = _text(value)
        if key is not None:
            self._ids.setdefault(key, set()).add(ident)

    def candidates(
        self, collection: Mapping[Any, Mapping[str, Any]], chars: str, op: str = "eq"
    ) -> list[Mapping[str, Any]] | None:
        """The resources whose value may match ``chars`` under ``$eq:`` or, with ``op="like"``,
        contain it (no ``*``), in id order; None for another operator (scan instead)."""
        if op not in ("eq", "like"):
            return None
        if len(self._key_of) != len(collection):
            self._rebuild(collection)
        found: set[Hashable] = set()
        if op == "like":
            needle = chars.casefold()
            found = {i for i, text in self._text_of.items() if text is not None and needle in text}
        else:
            for key in _wanted_keys(chars):
                found |= self._ids.get(key, set())
        return [collection[ident] for ident in sorted(found)]  # type: ignore[type-var]

    def _rebuild(self, collection: Mapping[Any, Mapping[str, Any]]) -> None:
        self._ids.clear()
        self._key_of.clear()
        self._text_of.clear()
        for ident, resource in collection.items():
            self.put(ident, resource)
