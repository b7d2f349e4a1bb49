"""The export mark as Starweb documents external services: POST creates, PUT only updates.

Starweb Shop API v2 OpenAPI spec (github.com/starweb/shop-api-sdk-php,
``resources/specification/openapi.json``, tag "Order External Services"; SDK operations in
``src/Api/Operation/OrderExternalService/``):

- ``POST /orders/{orderId}/external-services`` (createOrderExternalService,
  CreateOrderExternalService): ``201`` with ``OrderExternalServicesModelItem``, ``400``
  ``BadRequest`` (ErrorModel ``{error, error_description}``), the only refusal it documents.
- ``PUT`` and ``PATCH /orders/{orderId}/external-services/{serviceName}``
  (Replace-/UpdateOrderExternalService): "Updates an order external service", ``200``,
  ``400``, ``404`` ``NotFound``; ``GET`` (Retrieve…) is ``200`` or ``404``.
- ``OrderExternalServiceModel``: ``serviceName`` (at most 40 characters, "this service name
  has to be unique for the order"), ``externalIdValue`` (at most 40), ``readOnly`` ("Some
  external services cannot be updated").

Our notes: /work/shared/reference/shop-apis.md §2.8 (External ids) and §2.9 (creates 201,
updates 200). The old adapter created the mark with ``PUT .../{serviceName}``, which a
server built to the spec answers with 404.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from starweb_support import open_starweb_adapter

from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.models import DocumentRef, DocumentType
from brygga.testing import Fault
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
POST = frozenset({"POST"})


def invoice(number: str = "10001") -> DocumentRef:
    return DocumentRef(document_type=DocumentType.INVOICE, number=number, reference="b-se-1")


def place(sim: StarwebSimulator) -> str:
    return sim.place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")


def mark_requests(sim: StarwebSimulator, order_id: str) -> list[str]:
    """The external-service requests of ``order_id``, as ``METHOD path-tail``."""
    prefix = f"/orders/{order_id}/external-services"
    return [
        f"{method} {path.removeprefix(prefix) or '/'}"
        for method, path in sim.requests
        if path.startswith(prefix)
    ]


async def test_a_fresh_order_is_marked_with_one_post(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    fetched, unread = place(sim), place(sim)
    async with open_adapter() as adapter:
        await adapter.fetch_order(fetched)  # the transfer read it: it has no service
        await adapter.mark_exported(fetched, invoice("1"))
        await adapter.mark_exported(unread, invoice("2"))  # not read first (a restart)
    assert mark_requests(sim, fetched) == ["POST /"]
    assert mark_requests(sim, unread) == ["POST /"]
    assert (sim.exported_document(fetched), sim.exported_document(unread)) == ("1", "2")


async def test_a_post_whose_answer_was_lost_is_not_written_again(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    order_id = place(sim)
    sim.faults.add(Fault("commit_then_fail", methods=POST, path="/external-services", times=1))
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        with pytest.raises(TransientError):
            await adapter.mark_exported(order_id, invoice())
        stamped = sim.order(order_id).modified_at
        clock.advance(30)
        await adapter.mark_exported(order_id, invoice())  # the engine's retry
    # the retry's POST is refused (the service exists); the read shows it done: no write
    assert mark_requests(sim, order_id) == ["POST /", "POST /", "GET /brygga"]
    assert sim.order(order_id).external_services == {"brygga": ("10001", False)}
    assert sim.order(order_id).modified_at == stamped


async def test_a_replay_with_a_new_number_replaces_it(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = place(sim)
    async with open_adapter() as adapter:
        await adapter.mark_exported(order_id, invoice("1"))
        await adapter.mark_exported(order_id, invoice("2"))
    assert mark_requests(sim, order_id) == ["POST /", "POST /", "GET /brygga", "PUT /brygga"]
    assert sim.exported_document(order_id) == "2"


async def test_a_mark_seen_in_the_fetch_is_replaced_or_left_alone(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    other, same = place(sim), place(sim)
    sim.order(other).external_services["brygga"] = ("1", False)
    sim.order(same).external_services["brygga"] = ("2", False)
    async with open_adapter() as adapter:
        await adapter.fetch_order(other)
        await adapter.fetch_order(same)
        await adapter.mark_exported(other, invoice("2"))
        await adapter.mark_exported(same, invoice("2"))
    assert mark_requests(sim, other) == ["PUT /brygga"]
    assert mark_requests(sim, same) == []
    assert sim.exported_document(other) == sim.exported_document(same) == "2"


async def test_a_mark_deleted_since_the_fetch_is_created_again(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = place(sim)
    sim.order(order_id).external_services["brygga"] = ("1", False)
    async with open_adapter() as adapter:
        await adapter.fetch_order(order_id)
        del sim.order(order_id).external_services["brygga"]  # by the merchant
        await adapter.mark_exported(order_id, invoice("2"))
    assert mark_requests(sim, order_id) == ["PUT /brygga", "POST /"]
    assert sim.exported_document(order_id) == "2"


async def test_a_post_refused_for_another_reason_says_why(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = place(sim)
    refusal = Fault("status", status=400, methods=POST, path="/external-services", times=1)
    sim.faults.add(refusal)
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="answered 400"):
            await adapter.mark_exported(order_id, invoice())
    # the fault answered the POST before the shop saw it: only the read reached the log
    assert mark_requests(sim, order_id) == ["GET /brygga"]
    assert sim.exported_document(order_id) is None


@pytest.mark.parametrize("status", [409, 422])
async def test_other_refusals_of_a_duplicate_are_understood(
    sim: StarwebSimulator, clock: FakeClock, status: int
) -> None:
    # the spec documents only 400 for a POST; a server saying 409 or 422 works the same

    async def duplicate_as(scope: Any, receive: Any, send: Any) -> None:
        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                message = {**message, "status": status}
            await send(message)

        refused = scope["type"] == "http" and scope["method"] == "POST"
        await sim.app(scope, receive, rewrite if refused else send)

    order_id = place(sim)
    async with open_starweb_adapter(sim, clock, app=duplicate_as) as adapter:
        await adapter.mark_exported(order_id, invoice("1"))
        await adapter.mark_exported(order_id, invoice("1"))
        await adapter.mark_exported(order_id, invoice("2"))
    assert mark_requests(sim, order_id) == [
        "POST /",
        "POST /",
        "GET /brygga",
        "POST /",
        "GET /brygga",
        "PUT /brygga",
    ]
    assert sim.exported_document(order_id) == "2"


async def test_read_only_marks_are_refused_without_a_write(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    order_id = place(sim)
    sim.order(order_id).external_services["brygga"] = ("999", True)
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="read-only"):
            await adapter.mark_exported(order_id, invoice())
        await adapter.mark_exported(order_id, invoice("999"))  # already holds it: fine
    assert mark_requests(sim, order_id) == ["POST /", "GET /brygga", "POST /", "GET /brygga"]
    assert sim.exported_document(order_id) == "999"
