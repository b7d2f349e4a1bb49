"""Collections of the e-conomic simulator: filterable properties, paging and JSON responses."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, overload
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from brygga_economic.simulator.filter import (
    FilterError,
    parse_filter,
    resolve_path,
    sole_lookup,
)
from brygga_economic.simulator.wire import to_json

__all__ = [
    "FILTERABLE",
    "SORTABLE",
    "Lookup",
    "SortedRows",
    "json_response",
    "paginate",
    "render",
    "sort_items",
]

#: an index's candidates for ``prop$eq:value`` (in the collection's order), or None when no
#: index covers the property
Lookup = Callable[[str, str, str], Sequence[Mapping[str, Any]] | None]

_LINK_KEYS = frozenset({"self", "download", "products", "salesAccounts"})
#: a link key and the opening of its relative value, in encoded JSON (``"self":"/``)
_LINK_VALUE = re.compile(rb'"(' + "|".join(sorted(_LINK_KEYS)).encode() + rb')":"/')

_DOCUMENT_FILTERS = frozenset(
    {
        "references.other",
        "customer.customerNumber",
        "date",
        "currency",
        "recipient.name",
        "notes.heading",
        "netAmount",
        "grossAmount",
        "dueDate",
    }
)
FILTERABLE: dict[str, frozenset[str]] = {
    "customers": frozenset(
        {
            "address",
            "balance",
            "barred",
            "city",
            "corporateIdentificationNumber",
            "country",
            "creditLimit",
            "currency",
            "customerNumber",
            "ean",
            "email",
            "lastUpdated",
            "name",
            "publicEntryNumber",
            "telephoneAndFaxNumber",
            "vatNumber",
            "website",
            "zip",
        }
    ),
    "products": frozenset(
        {
            "productNumber",
            "name",
            "description",
            "barCode",
            "barred",
            "salesPrice",
            "costPrice",
            "recommendedPrice",
            "lastUpdated",
            "productGroup.productGroupNumber",
        }
    ),
    "invoices/drafts": _DOCUMENT_FILTERS | {"draftInvoiceNumber"},
    "invoices/booked": _DOCUMENT_FILTERS | {"bookedInvoiceNumber", "remainder"},
    "invoices/paid": _DOCUMENT_FILTERS | {"bookedInvoiceNumber", "remainder"},
    "invoices/unpaid": _DOCUMENT_FILTERS | {"bookedInvoiceNumber", "remainder"},
    "orders/drafts": _DOCUMENT_FILTERS | {"orderNumber"},
    "orders/sent": _DOCUMENT_FILTERS | {"orderNumber"},
    "orders/archived": _DOCUMENT_FILTERS | {"orderNumber"},
}


#: properties ``sort=`` accepts per collection (the schemas' ``"sortable": true``); a
#: collection not listed here ignores ``sort`` (it was never asked of them)
SORTABLE: dict[str, frozenset[str]] = {
    # every filterable property of a product but the nested product group number
    "products": FILTERABLE["products"] - {"productGroup.productGroupNumber"},
}


def _sort_key(value: Any, alphabetical: bool) -> tuple[int, Any]:
    """Numbers before text, text case-insensitively ("Sorting on strings is case insensitive");
    ``~`` sorts numbers as text too. Missing values come first."""
    if value is None:
        return (0, "")
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and not alphabetical:
        return (1, Decimal(value))
    return (2, str(value).casefold())


def sort_items(
    items: Sequence[Mapping[str, Any]],
    text: str,
    sortable: Collection[str],
    fail: Callable[..., Exception],
) -> list[Mapping[str, Any]]:
    """``items`` ordered by ``sort=`` (comma list; ``-`` descending, ``~`` alphabetical);
    a property that is not sortable is a 400, as documented."""
    ordered = list(items)
    for part in reversed([p.strip() for p in text.split(",") if p.strip()]):
        descending = part.startswith("-")
        prop = part.lstrip("-")
        alphabetical = prop.startswith("~")
        prop = prop.lstrip("~")
        if prop not in sortable:
            raise fail(400, f"Property '{prop}' is not sortable on this collection.")
        ordered.sort(
            key=lambda item: _sort_key(resolve_path(item, prop), alphabetical),
            reverse=descending,
        )
    return ordered


class SortedRows(Sequence[Mapping[str, Any]]):
    """A collection's resources in id order, sorted only when read: a lookup answered by an
    index (and the count of the unfiltered collection) never sorts the whole collection."""

    def __init__(self, table: Mapping[Any, Mapping[str, Any]]) -> None:
        self._table = table
        self._rows: list[Mapping[str, Any]] | None = None

    def _all(self) -> list[Mapping[str, Any]]:
        if self._rows is None:
            self._rows = [self._table[key] for key in sorted(self._table)]
        return self._rows

    def __len__(self) -> int:
        return len(self._table)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | Sequence[Mapping[str, Any]]:
        return self._all()[index]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._all())


def render(value: Any, base: str) -> bytes:
    """A resource as JSON with its relative links made absolute.

    The links are rewritten in the encoded text: a key of ``_LINK_KEYS`` followed by a string
    that starts with ``/``. Inside a JSON string a quote is always escaped, so the pattern can
    only match a key and its value, never text within a value."""
    prefix = b'":"' + base.encode() + b"/"
    return _LINK_VALUE.sub(lambda found: b'"' + found[1] + prefix, to_json(value))


def json_response(
    obj: Any, request: Request, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    base = str(request.base_url).rstrip("/")
    return Response(
        render(obj, base),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def paginate(
    request: Request,
    items: Sequence[Mapping[str, Any]],
    filterable: Collection[str],
    *,
    page_size_max: int,
    fail: Callable[..., Exception],
    lookup: Lookup | None = None,
    sortable: Collection[str] | None = None,
) -> dict[str, Any]:
    """One page of ``items`` after ``filter=``, with the ``pagination`` object of full URLs.

    A filter that is one ``prop$eq:value`` or one ``prop$like:value`` without ``*`` tests
    only the candidates ``lookup`` gives for it (when an index covers ``prop``) instead of
    every item; the answer is the same."""
    query = request.query_params
    try:
        skip = int(query.get("skippages", "0"))
        size = int(query.get("pagesize", "20"))
    except ValueError:
        raise fail(400, "skippages and pagesize must be integers.") from None
    if skip < 0 or size < 1:
        raise fail(400, "skippages must be 0 or more and pagesize 1 or more.")
    if size > page_size_max:
        raise fail(
            400,
            f"pagesize cannot be larger than {page_size_max}.",
            "See pagination.maxPageSizeAllowed.",
        )
    total = len(items)
    text = query.get("filter")
    if text is not None:
        try:
            predicate = parse_filter(text, filterable)
        except FilterError as exc:
            raise fail(400, str(exc), "See the filtering section of the docs.") from None
        indexed = sole_lookup(predicate) if lookup is not None else None
        candidates = lookup(*indexed) if lookup is not None and indexed is not None else None
        scanned = items if candidates is None else candidates
        items = [item for item in scanned if predicate(item)]
    order = query.get("sort")
    if order is not None and sortable is not None:
        items = sort_items(items, order, sortable, fail)
    base = str(request.base_url).rstrip("/") + request.url.path

    def link(page: int) -> str:
        params: dict[str, Any] = {"skippages": page, "pagesize": size}
        if text is not None:
            params["filter"] = text
        if order is not None:
            params["sort"] = order
        return f"{base}?{urlencode(params)}"

    last = max(0, math.ceil(len(items) / size) - 1)
    pagination: dict[str, Any] = {
        "skipPages": skip,
        "pageSize": size,
        "maxPageSizeAllowed": page_size_max,
        "results": len(items),
        "resultsWithoutFilter": total,
        "firstPage": link(0),
    }
    if skip < last:
        pagination["nextPage"] = link(skip + 1)
    pagination["lastPage"] = link(last)
    return {
        "collection": items[skip * size : (skip + 1) * size],
        "pagination": pagination,
        "self": str(request.url),
    }
