"""The Tryton adapter without a server: JSON-RPC encoding, error arrays, session and doubt
handling over a fake transport, and the plugin's registration.

Encoding per reference erp-apis.md §5.3 and trytond 8.2 ``trytond/protocols/jsonrpc.py``
(``JSONEncoder.register`` for datetime, date, time, timedelta, bytes, Decimal); errors per
§5.1 and ``JSONProtocol.response`` (``error`` = the exception's args, ``[text, traceback]``
for an unexpected one).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from brygga.adapters import AdapterContext, Role
from brygga.errors import PermanentError, TransientError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimit
from brygga.models import DocumentType, OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.secrets import Secret
from brygga_tryton import wire
from brygga_tryton.adapter import TrytonAdapter, TrytonConfig

URL = "http://tryton.test"


def test_typed_values_are_sent_as_trytons_class_objects() -> None:
    sent = json.loads(
        wire.encode_body(
            7,
            "model.x.create",
            [
                {
                    "price": Decimal("12.50"),
                    "day": date(2026, 1, 2),
                    "at": datetime(2026, 1, 2, 1, 30, tzinfo=timezone(timedelta(hours=1))),
                    "gap": timedelta(seconds=90),
                    "blob": b"hi",
                    "ids": (1, 2),
                }
            ],
        )
    )
    assert sent["id"] == 7 and sent["method"] == "model.x.create"
    [values] = sent["params"]
    assert values["price"] == {"__class__": "Decimal", "decimal": "12.50"}
    assert values["day"] == {"__class__": "date", "year": 2026, "month": 1, "day": 2}
    # an aware datetime goes as the naive UTC Tryton stores
    assert values["at"] == {
        "__class__": "datetime",
        "year": 2026,
        "month": 1,
        "day": 2,
        "hour": 0,
        "minute": 30,
        "second": 0,
        "microsecond": 0,
    }
    assert values["gap"] == {"__class__": "timedelta", "seconds": 90.0}
    assert values["blob"] == {"__class__": "bytes", "base64": base64.b64encode(b"hi").decode()}
    assert values["ids"] == [1, 2]
    with pytest.raises(TypeError):
        wire.to_wire(object())


def test_typed_values_in_answers_are_decoded_and_datetimes_are_utc() -> None:
    body = json.dumps(
        {
            "id": 1,
            "result": [
                {
                    "list_price": {"__class__": "Decimal", "decimal": "49.90"},
                    "write_date": {
                        "__class__": "datetime",
                        "year": 2026,
                        "month": 3,
                        "day": 4,
                        "hour": 5,
                        "minute": 6,
                        "second": 7,
                        "microsecond": 8,
                    },
                    "sale_date": {"__class__": "date", "year": 2026, "month": 3, "day": 4},
                }
            ],
        }
    ).encode()
    [row] = wire.decode_body(body).result
    assert row["list_price"] == Decimal("49.90") and isinstance(row["list_price"], Decimal)
    assert row["write_date"] == datetime(2026, 3, 4, 5, 6, 7, 8, tzinfo=UTC)
    assert row["sale_date"] == date(2026, 3, 4)
    with pytest.raises(ValueError, match="malformed Decimal"):
        wire.decode_body(b'{"id": 1, "result": {"__class__": "Decimal", "decimal": "x"}}')
    with pytest.raises(ValueError, match="unknown typed value"):
        wire.decode_body(b'{"id": 1, "result": {"__class__": "Money"}}')
    with pytest.raises(ValueError):
        wire.decode_body(b"<html>")


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (
            ["UserError", ["The sale is invalid.", "Add a line.", ""]],
            "UserError",
            "The sale is invalid. Add a line.",
        ),
        (["UserWarning", ["stock.1", "Not enough stock.", ""]], "UserWarning", "Not enough stock."),
        (
            ["ConcurrencyException", ["Records were modified."]],
            "ConcurrencyException",
            "Records were modified.",
        ),
        (
            ["'res.user'\nmore", "Traceback (most recent call last): ..."],
            "ServerError",
            "'res.user'",
        ),
        ({"odd": 1}, "ServerError", "an error answer Tryton does not send"),
    ],
)
def test_error_arrays_are_parsed(error: Any, kind: str, text: str) -> None:
    fault = wire.Fault.parse(error)
    assert (fault.kind, fault.text()) == (kind, text)
    assert "Traceback" not in fault.text()


# --- the API over a fake transport -------------------------------------------------------------


class FakeTryton:
    """Answers login and model calls; counts sessions; scripted failures per method."""

    def __init__(self) -> None:
        self.sessions = 0
        self.calls: list[str] = []
        self.expire_next = False
        self.fail: dict[str, Any] = {}
        self.always: dict[str, int] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/db/rpc/"
        assert request.headers["content-type"] == "application/json"
        body = json.loads(request.content)
        method = body["method"]
        self.calls.append(method)
        if method == "common.db.login":
            _login, params, _lang = body["params"]
            if params != {"password": "sesam-123"}:
                return httpx.Response(401)
            self.sessions += 1
            return httpx.Response(
                200, json={"id": body["id"], "result": [1, f"s{self.sessions}", None]}
            )
        expected = base64.b64encode(f"admin:1:s{self.sessions}".encode()).decode()
        if request.headers.get("authorization") != f"Session {expected}" or self.expire_next:
            self.expire_next = False
            return httpx.Response(401)
        assert isinstance(body["params"][-1], dict), "the context is the last parameter"
        if method in self.always:
            return httpx.Response(self.always[method])
        if method in self.fail:
            failure = self.fail.pop(method)
            if isinstance(failure, int):
                return httpx.Response(failure)
            return httpx.Response(200, json={"id": body["id"], "error": failure})
        if method == "model.res.user.get_preferences":
            return httpx.Response(200, json={"id": body["id"], "result": {"company": 1}})
        if method == "model.sale.sale.search_read":
            return httpx.Response(200, json={"id": body["id"], "result": []})
        if method == "model.sale.sale.create":
            return httpx.Response(200, json={"id": body["id"], "result": [5]})
        return httpx.Response(200, json={"id": body["id"], "result": None})


def adapter_on(fake: FakeTryton, password: str = "sesam-123") -> TrytonAdapter:
    config = TrytonConfig(
        base_url=URL,
        database="db",
        login="admin",
        password=Secret(password),
        rate_limit=RateLimit(1000, 0.01),
    )
    http = HttpContext(transport=httpx.MockTransport(fake.handler))
    return TrytonAdapter(config, AdapterContext(connection="c", instance="tryton", http=http))


@pytest.mark.anyio
async def test_an_expired_session_logs_in_again_once() -> None:
    fake = FakeTryton()
    adapter = adapter_on(fake)
    try:
        assert await adapter.find_document("r", DocumentType.ORDER) is None
        fake.expire_next = True
        assert await adapter.find_document("r", DocumentType.ORDER) is None
    finally:
        await adapter.aclose()
    assert fake.sessions == 2
    assert fake.calls.count("model.sale.sale.search_read") == 3  # one refused, repeated


@pytest.mark.anyio
async def test_a_wrong_password_is_permanent_and_never_shown() -> None:
    fake = FakeTryton()
    adapter = adapter_on(fake, password="wrong-pass-987")
    try:
        with pytest.raises(PermanentError) as refused:
            await adapter.find_document("r", DocumentType.ORDER)
    finally:
        await adapter.aclose()
    assert "wrong-pass-987" not in str(refused.value)
    assert fake.calls == ["common.db.login"]


@pytest.mark.anyio
async def test_answers_map_to_typed_errors_and_only_unanswered_writes_are_in_doubt() -> None:
    fake = FakeTryton()
    adapter = adapter_on(fake)
    api = adapter.api
    try:
        fake.fail["model.sale.sale.create"] = 502
        with pytest.raises(TransientError) as bad_gateway:
            await api.create("sale.sale", {})
        assert bad_gateway.value.in_doubt  # a write answered 5xx may have run
        fake.fail["model.sale.sale.search_read"] = 503
        with pytest.raises(TransientError) as read_5xx:
            await adapter.find_document("r", DocumentType.ORDER)
        assert not read_5xx.value.in_doubt  # a read is never in doubt
        fake.fail["model.sale.sale.create"] = [
            "UserError",
            ["The field Party is required.", "", ""],
        ]
        with pytest.raises(PermanentError, match="Party is required"):
            await api.create("sale.sale", {})
        fake.fail["model.sale.sale.create"] = ["ConcurrencyException", ["Records were modified."]]
        with pytest.raises(TransientError) as concurrent:
            await api.create("sale.sale", {})
        assert not concurrent.value.in_doubt  # an error answer rolled the call back
        fake.fail["model.sale.sale.create"] = ["OperationalError: database is locked", "tb"]
        with pytest.raises(TransientError):
            await api.create("sale.sale", {})
        assert await api.create("sale.sale", {}) == 5
        # last: the shared limiter then holds the account back. The 429 goes on (the client
        # may send a refused request again in place before it gives up)
        fake.always["model.sale.sale.create"] = 429
        with pytest.raises(TransientError) as limited:
            await api.create("sale.sale", {})
        assert not limited.value.in_doubt  # refused, nothing ran
    finally:
        await adapter.aclose()


def test_the_plugin_registers_kind_tryton_with_what_it_reads_and_writes() -> None:
    host = PluginHost()  # through the entry point, as the daemon loads it
    assert host.plugins["tryton"].source.endswith("(brygga_tryton.plugin)")
    spec = host.adapters["tryton"]
    assert spec.role == Role.ERP
    assert spec.config_type is TrytonConfig
    assert spec.registers.writes == {Register.ORDERS}
    assert spec.registers.reads == {
        Register.STATUS,
        Register.STOCK,
        Register.PRODUCTS,
        Register.PRICES,
    }
    caps = spec.capabilities
    assert caps.lookup_by_reference and not caps.price_lists and not caps.webhooks
    assert caps.document_types == {DocumentType.ORDER, DocumentType.INVOICE}
    assert OrderEvent.DELIVERED in caps.status_events
    assert OrderEvent.TRANSFERRED not in caps.status_events
    described = spec.describe()
    assert (
        "DocumentBooker" in described["protocols"] and "DocumentCanceller" in described["protocols"]
    )
