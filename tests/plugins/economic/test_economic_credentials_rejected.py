"""e-conomic's 401 is a CredentialsRejected naming the config keys, never the tokens.

Every request carries ``X-AppSecretToken`` and ``X-AgreementGrantToken``; the tokens do not
expire, and "a revoked grant shows up as HTTP 401"; a missing role is 403
(reference/erp-apis.md §1.2, https://restdocs.e-conomic.com/#authentication [E1]). A 401
concerns the agreement, not the record, so the sync engine holds the connection's work on it
(tests/sync/test_credentials_rejected.py); a 403 (the app's role lacks one resource) stays
the refusal of that request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from economic_support import customer, document, economic_config

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import DocumentType
from brygga.testing.conformance.common import message_of
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

ALL_KEYS = ["customer_number", "email", "org_number"]


class Refuse:
    """In front of the simulator: requests whose method and path match get ``status`` with
    a body that echoes both tokens the request carried (a hostile answer)."""

    def __init__(self, app: Any, status: int, method: str = "", path: str = "") -> None:
        self.app, self.status, self.method, self.path = app, status, method, path
        self.refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"].startswith(self.method)
            and scope["path"].endswith(self.path)
        ):
            self.refused += 1
            headers = dict(scope["headers"])
            echoed = b" ".join(
                headers.get(name, b"") for name in (b"x-appsecrettoken", b"x-agreementgranttoken")
            ).decode()
            body = {"message": f"refused {echoed}", "developerHint": echoed, "errors": {}}
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def _adapter(
    sim: EconomicSimulator, clock: FakeClock, app: Any, **overrides: Any
) -> AsyncIterator[EconomicAdapter]:
    context = AdapterContext(
        connection="test",
        instance="economic",
        http=HttpContext(
            transport=httpx.ASGITransport(app=app),
            clock=clock,
            limiters=RateLimiterRegistry(clock),
        ),
    )
    adapter = EconomicAdapter(economic_config(sim, **overrides), context)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def _secrets(sim: EconomicSimulator, *more: str) -> list[str]:
    return [sim.app_secret_token, sim.agreement_grant_token, *more]


async def test_a_revoked_grant_is_credentials_rejected_naming_the_keys(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    sim.gate.agreement_grant_token = b"granted-anew-by-the-administrator"
    async with _adapter(sim, clock, sim.app) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_customer(customer(customer_number="1"), ALL_KEYS)
    message = str(caught.value)
    assert message.startswith("e-conomic at restapi.e-conomic.com rejected the credentials")
    assert "HTTP 401" in message and "fix" in message and "reload" in message
    assert "app_secret_token" in message and "agreement_grant_token" in message
    for secret in _secrets(sim, "granted-anew-by-the-administrator"):
        assert secret not in message_of(caught.value)


async def test_a_401_that_echoes_the_tokens_shows_none_of_them(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    wrong = "wrong-app-secret-5c1d9e7f2a4b6c8d"
    refuse = Refuse(sim.app, 401)
    async with _adapter(sim, clock, refuse, app_secret_token=wrong) as adapter:
        with pytest.raises(CredentialsRejected) as caught:
            await adapter.find_document("butiken/se/1001", DocumentType.INVOICE)
        shown = message_of(caught.value) + repr(adapter)
    assert refuse.refused == 1
    for secret in _secrets(sim, wrong):
        assert secret not in shown


async def test_a_401_to_the_document_write_is_credentials_rejected(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    """The grant revoked between the reads and the POST: the write is refused (nothing
    made), and the engine holds the order rather than failing it."""
    number = str(sim.add_customer(name="Anna Andersson", email="anna@example.se"))
    refuse = Refuse(sim.app, 401, "POST", "/invoices/drafts")
    async with _adapter(sim, clock, refuse) as adapter:
        with pytest.raises(CredentialsRejected):
            await adapter.create_document(document(number, reference="butiken/se/1001"))
        refuse.path = "/nothing-matches"  # the grant is back: the next POST goes through
        created = await adapter.create_document(document(number, reference="butiken/se/1001"))
    assert len(sim.documents_with_reference("butiken/se/1001")) == 1
    assert created.reference == "butiken/se/1001"


async def test_a_403_is_a_refusal_of_the_request_not_of_the_credentials(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    refuse = Refuse(sim.app, 403, "GET", "/customers")
    async with _adapter(sim, clock, refuse) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.find_customer(customer(customer_number="1"), ALL_KEYS)
    assert not isinstance(caught.value, CredentialsRejected)
    assert "403" in str(caught.value)
    for secret in _secrets(sim):
        assert secret not in message_of(caught.value)
