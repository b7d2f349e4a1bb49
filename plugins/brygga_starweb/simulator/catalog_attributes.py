"""Variant attribute and attribute value routes of the Starweb simulator.

Spec 2.12.0 (starweb/shop-api-sdk-php): ``GET|POST /product-attributes`` (the POST answers
201 with the attribute), ``GET /product-attributes/{attributeId}`` and
``GET|POST /product-attributes/{attributeId}/values`` (the POST answers 200 with the
attribute's values, ``ProductVariantAttributeValueModelCollection``). Bodies carry
``languages: [{langCode, name}]``; the attribute's languages are an included child.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_starweb.simulator.catalog import CatalogState, SimAttribute
from brygga_starweb.simulator.http import body_json, includes, json_response, page_of
from brygga_starweb.simulator.records import ApiError
from brygga_starweb.simulator.state import Knobs

__all__ = ["attribute_routes"]

INCLUDES = frozenset({"languages"})


def _name(body: dict[str, Any]) -> str:
    """The first language's name of a ``…ModelUpdatable`` body (the simulator keeps one)."""
    languages = body.get("languages")
    if not isinstance(languages, list) or not languages:
        raise ApiError(400, "invalid_request", "languages must be a list of {langCode, name}")
    first = languages[0]
    name = first.get("name") if isinstance(first, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "invalid_request", "languages[].name is required")
    return name


class AttributeApi:
    def __init__(self, catalog: CatalogState, knobs: Knobs) -> None:
        self.catalog = catalog
        self.knobs = knobs

    def _attribute(self, request: Request) -> SimAttribute:
        found = self.catalog.attributes.get(int(request.path_params["attribute_id"]))
        if found is None:
            raise ApiError(404, "not_found", "The attribute was not found")
        return found

    async def list_attributes(self, request: Request) -> Response:
        wanted = includes(request, INCLUDES)
        rows = sorted(self.catalog.attributes.values(), key=lambda a: a.attribute_id)
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        return json_response({"data": [a.wire(wanted) for a in chunk], "meta": meta})

    async def create_attribute(self, request: Request) -> Response:
        attribute = self.catalog.add_attribute(_name(await body_json(request)))
        return json_response({"data": attribute.wire(INCLUDES)}, 201)

    async def attribute(self, request: Request) -> Response:
        wanted = includes(request, INCLUDES)
        return json_response({"data": self._attribute(request).wire(wanted)})

    async def list_values(self, request: Request) -> Response:
        attribute = self._attribute(request)
        chunk, meta = page_of(list(attribute.values), request, self.knobs.page_size)
        return json_response({"data": [attribute.value_wire(v) for v in chunk], "meta": meta})

    async def create_value(self, request: Request) -> Response:
        attribute = self._attribute(request)
        self.catalog.add_attribute_value(attribute, _name(await body_json(request)))
        return json_response({"data": [attribute.value_wire(v) for v in attribute.values]})


def attribute_routes(catalog: CatalogState, knobs: Knobs) -> list[Route]:
    api = AttributeApi(catalog, knobs)
    one = "/product-attributes/{attribute_id:int}"
    return [
        Route("/product-attributes", api.list_attributes, methods=["GET"]),
        Route("/product-attributes", api.create_attribute, methods=["POST"]),
        Route(one, api.attribute, methods=["GET"]),
        Route(f"{one}/values", api.list_values, methods=["GET"]),
        Route(f"{one}/values", api.create_value, methods=["POST"]),
    ]
