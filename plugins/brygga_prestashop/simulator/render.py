"""Rows to PrestaShop's output: JSON (``output_format=JSON``) or the XML envelope (§3.5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from brygga_prestashop.simulator.schema import Resource
from brygga_prestashop.simulator.xmlbody import element, to_xml

__all__ = ["error_body", "render_detail", "render_list"]

Row = dict[str, Any]


def _lang_json(value: dict[int, str], languages: tuple[int, ...]) -> Any:
    """One language output: a plain string; more: ``[{"id": "1", "value": …}]`` (§3.5)."""
    if len(languages) == 1:
        return value.get(languages[0], "")
    return [{"id": str(lang), "value": value.get(lang, "")} for lang in languages]


def _fields(resource: Resource, display: tuple[str, ...]) -> tuple[str, ...]:
    return display or resource.fields


def json_row(
    row: Row, resource: Resource, display: tuple[str, ...], languages: tuple[int, ...]
) -> Row:
    out: Row = {}
    for name in _fields(resource, display):
        value = row.get(name, "")
        if name == "id":
            out[name] = int(value)
        elif name in resource.languages and isinstance(value, dict):
            out[name] = _lang_json(value, languages)
        else:
            out[name] = "" if value is None else value
    if not display and resource.associations and "associations" in row:
        out["associations"] = row["associations"]
    return out


def _xml_value(
    name: str, value: Any, resource: Resource, languages: tuple[int, ...], base: str
) -> str:
    if name in resource.languages and isinstance(value, dict):
        parts = [
            element(
                "language",
                value.get(lang, ""),
                {"id": str(lang), "xlink:href": f"{base}/languages/{lang}"},
            )
            for lang in languages
        ]
        return element(name, parts)
    return element(name, value)


def xml_row(
    row: Row, resource: Resource, display: tuple[str, ...], languages: tuple[int, ...], base: str
) -> str:
    parts = [
        _xml_value(name, row.get(name, ""), resource, languages, base)
        for name in _fields(resource, display)
    ]
    if not display and resource.associations and "associations" in row:
        assoc = []
        for name, singular, fields in resource.associations:
            entries = row["associations"].get(name, [])
            inner = [
                element(singular, [element(f, e.get(f, "")) for f in fields if f in e])
                for e in entries
            ]
            assoc.append(element(name, inner, {"nodeType": singular, "api": name}))
        parts.append(element("associations", assoc))
    return element(resource.singular, parts)


def render_detail(
    row: Row,
    resource: Resource,
    as_json: bool,
    languages: tuple[int, ...],
    base: str,
    mangle: Callable[[Row], Row],
) -> bytes:
    if as_json:
        out = mangle(json_row(row, resource, (), languages))
        return json.dumps({resource.singular: out}).encode()
    return to_xml(resource.singular, xml_row(row, resource, (), languages, base))


def render_list(
    rows: list[Row],
    resource: Resource,
    display: tuple[str, ...] | None,
    as_json: bool,
    languages: tuple[int, ...],
    base: str,
    empty_quirk: bool,
    mangle: Callable[[Row], Row],
) -> bytes:
    if as_json:
        if not rows and empty_quirk:
            return b"[]"  # older versions' empty list (§3.5, issues #10172/#22760 [PS17])
        if display is None:
            items: list[Any] = [{"id": int(r["id"])} for r in rows]
        else:
            items = [mangle(json_row(r, resource, display, languages)) for r in rows]
        return json.dumps({resource.name: items}).encode()
    if display is None:
        inner = "".join(
            f'<{resource.singular} id="{r["id"]}" xlink:href="{base}/{resource.name}/{r["id"]}"/>'
            for r in rows
        )
    else:
        inner = "".join(xml_row(r, resource, display, languages, base) for r in rows)
    return to_xml(resource.name, f"<{resource.name}>{inner}</{resource.name}>")


def error_body(code: int, message: str, as_json: bool, *also: tuple[int, str]) -> bytes:
    """``{"errors": [{"code", "message"}, …]}`` or the XML ``<errors>`` envelope (§3.5);
    ``also``: further errors of the same answer."""
    errors = [(code, message), *also]
    if as_json:
        return json.dumps({"errors": [{"code": c, "message": m} for c, m in errors]}).encode()
    inner = "".join(
        element("error", [element("code", str(c)), element("message", m)]) for c, m in errors
    )
    return to_xml("errors", element("errors", [inner]))
