"""Safe XML for the simulator: write bodies parsed with expat, DTDs refused; XML output built.

PrestaShop parses write bodies with SimpleXMLElement (reference/shop-apis.md §3.2). The
simulator refuses any document type declaration (and so every entity definition) before a
single entity can be declared: the same policy as ``defusedxml``'s ``forbid_dtd``, which is
not installed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Node", "UnsafeXml", "parse", "to_xml"]

#: no write body of a shop resource is anywhere near this
MAX_BODY = 2_000_000
XLINK = "http://www.w3.org/1999/xlink"


class UnsafeXml(ValueError):
    """The body declares a DTD or an entity, or is not well-formed XML."""


@dataclass
class Node:
    """One element: tag, attributes, text and children (in order)."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def child(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)


def _refuse(*_: Any) -> int:
    raise UnsafeXml("DTDs and entity declarations are not accepted")


def parse(body: bytes) -> Node:
    """The root element of ``body``; UnsafeXml for DTDs, entities or malformed XML."""
    if len(body) > MAX_BODY:
        raise UnsafeXml("the body is too large")
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, dict(attrs))
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise UnsafeXml(f"the body is not well-formed XML ({exc})") from None
    if len(roots) != 1:
        raise UnsafeXml("the body has no root element")
    return roots[0]


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(root: str, inner: str) -> bytes:
    """The ``<prestashop>`` envelope around ``inner`` (already XML)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (f'{head}<prestashop xmlns:xlink="{XLINK}">{inner}</prestashop>\n').encode()


def element(tag: str, value: Any, attrs: dict[str, str] | None = None) -> str:
    """``<tag attrs><![CDATA[value]]></tag>`` (a list value: its items as children)."""
    extra = "".join(f" {k}={quoteattr(v)}" for k, v in (attrs or {}).items())
    if isinstance(value, list):
        return f"<{tag}{extra}>{''.join(value)}</{tag}>"
    text = "" if value is None else str(value)
    return f"<{tag}{extra}>{_cdata(text) if text else ''}</{tag}>"


def plain(value: str) -> str:
    """Text escaped for XML (no CDATA)."""
    return escape(value)
