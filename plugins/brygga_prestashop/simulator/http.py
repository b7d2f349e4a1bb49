"""The Webservice as an ASGI app: key check, formats, list grammar, reads and writes.

Behaviour from reference/shop-apis.md §3: Basic auth with the key as user and an empty
password, 401 with ``WWW-Authenticate`` and codes 16/17/18, 20 and 21 for a key that is
unknown or not active (PrestaShop 1.7/8 ``WebserviceRequest::authenticate`` answers both), 26
for a resource the key is not granted (``checkResource``) (§3.1 [PS1]); JSON output by
``output_format``/``io_format`` or the ``Output-Format``/``Io-Format`` headers, XML otherwise;
XML-only input (§3.2); PUT a full replace that resets omitted fields, 400 code 41 for a
missing required one, 90 without ``<id>``, 91 for an id on POST, 93 for read-only fields
(§3.3); PATCH from 8.x only; 405 code 101 for a method a resource refuses; ``id_shop`` (§3.1).
"""

from __future__ import annotations

import base64
import copy
import random
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from brygga_prestashop.simulator.query import WsError, parse_list_query
from brygga_prestashop.simulator.render import error_body, render_detail, render_list
from brygga_prestashop.simulator.schema import RESOURCES, Resource
from brygga_prestashop.simulator.state import Knobs, Row, ShopState
from brygga_prestashop.simulator.xmlbody import Node, UnsafeXml, parse, to_xml

__all__ = ["Webservice"]

REALM = (
    'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key as '
    'the login. No password required."'
)
VERSIONS = {"8": "8.1.7", "1.7": "1.7.8.11"}


def wants_json(request: Request) -> bool:
    params = request.query_params
    return "JSON" in (
        params.get("output_format", "").upper(),
        params.get("io_format", "").upper(),
        request.headers.get("output-format", "").upper(),
        request.headers.get("io-format", "").upper(),
    )


class Webservice:
    """Request handling over one :class:`ShopState`; ``key`` is the valid webservice key."""

    def __init__(
        self,
        state: ShopState,
        knobs: Knobs,
        key: str,
        shops: tuple[int, ...],
        rng: random.Random | None = None,
    ) -> None:
        self.state = state
        #: shuffles a list asked for without ``sort`` (None: id order)
        self.rng = rng
        self.knobs = knobs
        self.key = key
        self.shops = shops
        #: every request that reached the app: (method, path, query)
        self.log: list[tuple[str, str, str]] = []

    # -- entry --------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        as_json = wants_json(request)
        method = request.query_params.get("ps_method", request.method).upper()
        try:
            self._authenticate(request)
            response = await self._route(request, method, as_json)
        except WsError as exc:
            response = self._error(exc, as_json)
        response.headers["X-Powered-By"] = "PrestaShop Webservice"
        response.headers["Execution-Time"] = "0.004"
        if response.status_code != 401:
            response.headers["PSWS-Version"] = VERSIONS.get(self.knobs.version, "8.1.7")
        return response

    def _error(self, exc: WsError, as_json: bool) -> Response:
        response = Response(
            error_body(exc.code, exc.message, as_json, *exc.also),
            exc.status,
            media_type="application/json" if as_json else "text/xml;charset=utf-8",
        )
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = REALM
        return response

    def _authenticate(self, request: Request) -> None:
        """§3.1 [PS1]: the key as Basic user (password empty), or ``ws_key``."""
        header = request.headers.get("authorization", "")
        key: str | None = request.query_params.get("ws_key")
        if header.lower().startswith("basic "):
            try:
                user, _, _ = base64.b64decode(header[6:]).decode("latin-1").partition(":")
            except ValueError:
                user = ""
            key = user
        if key is None:
            raise WsError(
                401, 16, "Please enter the authentication key as the login. No password required"
            )
        key = key.strip()
        if not key:
            raise WsError(401, 17, "Authentication key is empty")
        if len(key) != 32:
            raise WsError(401, 18, "Invalid authentication key format")
        if key != self.key or not self.knobs.key_active:
            # an unknown key is "not active" too: isKeyActive() is false for both [PS1]
            raise WsError(
                401,
                20,
                "Authentification key is not active",
                (21, "No permission for this authentication key"),
            )

    async def _route(self, request: Request, method: str, as_json: bool) -> Response:
        parts = [p for p in request.path_params.get("path", "").split("/") if p]
        if not parts:
            names = sorted(RESOURCES)
            body = {"resources": names} if as_json else None
            return _ok(body, as_json, "<api>" + "".join(f"<{n}/>" for n in names) + "</api>")
        resource = RESOURCES.get(parts[0])
        if resource is None or len(parts) > 2:
            raise WsError(400, 19, f'Resource of type "{parts[0]}" does not exists')
        if resource.name in self.knobs.denied_resources:
            raise WsError(
                401,
                26,
                f'Resource of type "{resource.name}" is not allowed with this authentication key',
            )
        shop = self._shop(request)
        if method not in resource.methods or (method == "PATCH" and self.knobs.version != "8"):
            raise WsError(405, 101, f"Method {method} is not valid for resource {resource.name}")
        row_id = _id(parts[1]) if len(parts) == 2 else None
        if method in ("GET", "HEAD"):
            if row_id is None:
                return self._list(request, resource, shop, as_json)
            return self._detail(request, resource, row_id, as_json)
        payload = await request.body()
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            payload = parse_qs(payload.decode("utf-8", "replace")).get("xml", [""])[0].encode()
        if method == "POST":
            if row_id is not None:
                raise WsError(405, 101, "POST goes to the resource, not to an id")
            return self._post(request, resource, payload, as_json)
        if row_id is None:
            raise WsError(400, 90, f"{method} needs an id in the URL")
        if method == "DELETE":
            self.state.get(resource.name, row_id)
            del self.state.table(resource.name)[row_id]
            return Response(b"", 200)
        return self._replace(request, resource, row_id, payload, as_json, partial=method == "PATCH")

    def _shop(self, request: Request) -> int | None:
        raw = request.query_params.get("id_shop")
        if raw is None or raw == "all":
            return None
        if not raw.isdigit() or int(raw) not in self.shops:
            raise WsError(404, 135, f"The shop id {raw} does not exist")
        return int(raw)

    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/api"

    def _mangler(self, resource: Resource) -> Callable[[Row], Row]:
        def mangle(row: Row) -> Row:
            fn = self.knobs.manglers.get((resource.name, int(row.get("id", 0) or 0)))
            if fn is not None:
                fn(row)
            return row

        return mangle

    # -- reads --------------------------------------------------------------------------

    def _rows(self, resource: Resource) -> list[Row]:
        rows = list(self.state.table(resource.name).values())
        if resource.name == "orders":
            rows = [self._order_view(r) for r in rows]
        elif resource.name == "products":
            rows = [self._product_view(r) for r in rows]
        return rows

    def _order_view(self, order: Row) -> Row:
        """An order with its ``order_rows`` and the carrier's tracking number (§3.6 [PS4])."""
        view = dict(order)
        oid = order["id"]
        rows = [
            {f: d.get(f, "") for f in RESOURCES["orders"].associations[0][2] if f != "id"}
            | {"id": d["id"]}
            for d in self.state.table("order_details").values()
            if d["id_order"] == oid
        ]
        view["associations"] = {"order_rows": rows}
        carrier = next(
            (c for c in self.state.table("order_carriers").values() if c["id_order"] == oid), None
        )
        view["shipping_number"] = carrier["tracking_number"] if carrier else ""
        return view

    def _product_view(self, product: Row) -> Row:
        view = dict(product)
        stock = [
            {"id": s["id"], "id_product_attribute": s["id_product_attribute"]}
            for s in self.state.table("stock_availables").values()
            if s["id_product"] == product["id"]
        ]
        assoc = dict(product.get("associations", {}))
        assoc["stock_availables"] = stock
        view["associations"] = assoc
        return view

    def _list(
        self, request: Request, resource: Resource, shop: int | None, as_json: bool
    ) -> Response:
        schema = request.query_params.get("schema")
        if schema in ("blank", "synopsis"):
            return self._schema(resource, schema == "synopsis")
        query = parse_list_query(request.query_params, resource)
        rows = self._rows(resource)
        if shop is not None and "id_shop" in resource.fields:
            rows = [r for r in rows if r.get("id_shop") in (str(shop), "0", "")]
        rows = query.apply(sorted(rows, key=lambda r: int(r["id"])), self.rng)
        rows = [copy.deepcopy(r) for r in rows]
        body = render_list(
            rows,
            resource,
            query.display,
            as_json,
            self.state.languages,
            self._base(request),
            self.knobs.empty_list_quirk,
            self._mangler(resource),
        )
        return _raw(body, as_json)

    def _schema(self, resource: Resource, synopsis: bool) -> Response:
        """``?schema=blank`` (an empty XML tree) or ``synopsis`` (with ``required`` and
        ``read_only`` flags), XML whatever the output format (§3.2 [PS1][PS13])."""
        parts = []
        for name in resource.fields:
            attrs = ""
            if synopsis and name in resource.required:
                attrs += ' required="true"'
            if synopsis and name in resource.read_only:
                attrs += ' read_only="true"'
            if name in resource.languages:
                inner = "".join(
                    f'<language id="{lang}"></language>' for lang in self.state.languages
                )
                parts.append(f"<{name}{attrs}>{inner}</{name}>")
            else:
                parts.append(f"<{name}{attrs}></{name}>")
        inner = f"<{resource.singular}>{''.join(parts)}</{resource.singular}>"
        return _raw(to_xml(resource.singular, inner), False)

    def _detail(self, request: Request, resource: Resource, row_id: int, as_json: bool) -> Response:
        row = self.state.get(resource.name, row_id)
        if resource.name == "orders":
            row = self._order_view(row)
        elif resource.name == "products":
            row = self._product_view(row)
        body = render_detail(
            copy.deepcopy(row),
            resource,
            as_json,
            self.state.languages,
            self._base(request),
            self._mangler(resource),
        )
        return _raw(body, as_json)

    # -- writes -------------------------------------------------------------------------

    def _fields_of(self, resource: Resource, body: bytes) -> dict[str, Any]:
        """The resource's fields in an XML body ``<prestashop><singular>…``; JSON is refused
        (input is XML only, §3.2, issue #11099 [PS18])."""
        try:
            root = parse(body)
        except UnsafeXml as exc:
            raise WsError(400, 127, f"XML error: {exc}") from None
        entity = root.child(resource.singular) if root.tag == "prestashop" else None
        if entity is None:
            raise WsError(400, 127, f"XML error: expected <prestashop><{resource.singular}>")
        fields: dict[str, Any] = {}
        seen: set[str] = set()
        for child in entity.children:
            if child.tag == "associations":
                continue
            if child.tag in seen:
                raise WsError(400, 89, f"The field {child.tag} is given twice")
            seen.add(child.tag)
            if child.tag not in resource.fields:
                continue  # PrestaShop ignores unknown nodes
            fields[child.tag] = _node_value(child, resource, self.state.languages)
        bad = sorted(set(fields) & resource.read_only)
        if bad:
            raise WsError(
                400,
                93,
                f'parameter "{bad[0]}" not writable. Please remove this attribute of this XML',
            )
        return fields

    def _post(self, request: Request, resource: Resource, body: bytes, as_json: bool) -> Response:
        fields = self._fields_of(resource, body)
        if fields.get("id"):
            raise WsError(400, 91, "id is forbidden when adding a new resource")
        fields.pop("id", None)
        missing = sorted(f for f in resource.required if not _filled(fields.get(f)))
        if missing:
            raise WsError(400, 41, f'parameter "{missing[0]}" required')
        now = self.state.now()
        for stamp in ("date_add", "date_upd"):
            if stamp in resource.fields:
                fields[stamp] = now
        if resource.name == "order_histories":
            oid, sid = _id(str(fields["id_order"])), _id(str(fields["id_order_state"]))
            self.state.get("orders", oid)
            fields.update(
                self.state.change_state(
                    oid, sid, sendemail=request.query_params.get("sendemail") == "1"
                )
            )
        if resource.name == "messages":
            fields.setdefault("private", "1")
            if fields.get("id_order"):
                self.state.get("orders", _id(str(fields["id_order"])))
        for name in resource.fields:
            fields.setdefault(name, self.state.lang("") if name in resource.languages else "")
        new_id = self.state.insert(resource.name, {k: v for k, v in fields.items() if k != "id"})
        self.state.created(resource.name, new_id)
        row = self.state.get(resource.name, new_id)
        body_out = render_detail(
            copy.deepcopy(row),
            resource,
            as_json,
            self.state.languages,
            self._base(request),
            lambda r: r,
        )
        return _raw(body_out, as_json, 201)

    def _replace(
        self,
        request: Request,
        resource: Resource,
        row_id: int,
        body: bytes,
        as_json: bool,
        *,
        partial: bool,
    ) -> Response:
        """PUT: the whole object, omitted fields reset (§3.3 [PS1]); PATCH: the sent ones."""
        fields = self._fields_of(resource, body)
        if not fields.get("id"):
            raise WsError(400, 90, "id is required when modifying a resource")
        if _id(str(fields["id"])) != row_id:
            raise WsError(400, 90, "the id in the body is not the id in the URL")
        row = self.state.get(resource.name, row_id)
        if not partial:
            missing = sorted(f for f in resource.required if not _filled(fields.get(f)))
            if missing:
                raise WsError(400, 41, f'parameter "{missing[0]}" required')
            for name in resource.fields:
                if name not in fields and name not in ("date_add", "date_upd", "id"):
                    fields[name] = self.state.lang("") if name in resource.languages else ""
        if resource.name == "stock_availables" and "quantity" in fields:
            try:
                int(str(fields["quantity"]))
            except ValueError:
                raise WsError(400, 85, 'Validation error: "quantity" is not an integer') from None
        if resource.name == "orders" and str(fields.get("current_state", "")) not in (
            "",
            row["current_state"],
        ):
            # the setter calls setCurrentState: a history row, mailed as the state says
            # (§3.7 [PS4]); no sendemail switch here
            self.state.change_state(row_id, _id(str(fields["current_state"])), sendemail=True)
            fields.pop("current_state")
        if resource.name == "order_carriers" and "tracking_number" in fields:
            self.state.touch("orders", _id(str(row["id_order"])))
        row.update({k: v for k, v in fields.items() if k != "id"})
        if "date_upd" in resource.fields:
            row["date_upd"] = self.state.now()
        if resource.name == "stock_availables" and row["id_product_attribute"] != "0":
            self.state.recompute_product_stock(int(row["id_product"]))
        body_out = render_detail(
            copy.deepcopy(row),
            resource,
            as_json,
            self.state.languages,
            self._base(request),
            lambda r: r,
        )
        return _raw(body_out, as_json)


def _node_value(node: Node, resource: Resource, languages: tuple[int, ...]) -> Any:
    if node.tag in resource.languages:
        values = {int(c.attrs.get("id", "0") or 0): c.text.strip() for c in node.children}
        if not values and node.text.strip():
            # a language field is sent per language (<language id="N">); 400 code 84 [PS1]
            raise WsError(400, 84, f'Validation error: "{node.tag}" needs <language> values')
        return values or dict.fromkeys(languages, "")
    return node.text.strip()


def _filled(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v for v in value.values())
    return value is not None and value != ""


def _id(raw: str) -> int:
    if not raw.isdigit():
        raise WsError(400, 87, f"Id(s) not exists: {raw}")
    return int(raw)


def _raw(body: bytes, as_json: bool, status: int = 200) -> Response:
    media = "application/json" if as_json else "text/xml;charset=utf-8"
    return Response(body, status, media_type=media)


def _ok(body: Any, as_json: bool, xml_inner: str) -> Response:
    import json

    if as_json:
        return _raw(json.dumps(body).encode(), True)
    return _raw(to_xml("api", xml_inner), False)
