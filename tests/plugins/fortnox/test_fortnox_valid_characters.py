"""Text brygga sends to Fortnox stays within Fortnox's documented valid characters.

https://www.fortnox.se/developer/guides-and-good-to-know/formats-and-encoding, "Valid
characters": "List including characters that are valid: Match a single character present in
the list below [\\p{L}\\’\\\\ … 0-9 –:\\.`´’,;\\^¤#%§£$€¢¥©™°&\\/\\(\\)=\\+\\-\\*_\\!?²³®½\\@
\\x{00a0}\\n\\r]*"; https://www.fortnox.se/developer/guides-and-good-to-know/errors: "2000359 |
Värdet innehåller ej tillåtna tecken. ({Value}) | The value contains invalid characters."
The straight quotes, square brackets and emoji of a shop's order are outside that set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brygga.errors import PermanentError
from brygga.models import Address, Customer, DocumentType
from brygga.store import ItemState
from brygga.testing import SimulatedConnection
from brygga.testing.conformance.erp import kit_document
from brygga_fortnox.charset import clean, outside
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio

SHOP_TEXT = 'Kaffe "Extra" [500 g] 😀'


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (SHOP_TEXT, "Kaffe ’Extra’ (500 g)"),
        ("O'Brien", "O’Brien"),
        ("Te {grönt} <ekologiskt>", "Te (grönt) (ekologiskt)"),
        ("A—B ‐ C … D|E\tF", "A-B - C ... D/E F"),
        ("Åsa Öberg, Malmö – 50 % & 2³", "Åsa Öberg, Malmö – 50 % & 2³"),
        ("Cafe\u0301 ☕", "Café"),
    ],
)
def test_clean_maps_close_characters_and_drops_the_rest(given: str, sent: str) -> None:
    assert clean(given) == sent
    assert outside(clean(given)) == ""


async def test_the_simulator_refuses_characters_outside_the_documented_set(
    sim: FortnoxSimulator,
) -> None:
    """2000359 in the documented ``ErrorInformation`` shape (responses page: ``{"ErrorInformation":
    {"error": 1, "message": "…", "code": 2000423}}``)."""
    config = sim.adapter_config("https://x")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="https://x"
    ) as client:
        import base64

        basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode())
        token = await client.post(
            "/oauth-v1/token",
            data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
            headers={"Authorization": f"Basic {basic.decode()}"},
        )
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        refused = await client.post("/3/customers", json={"Customer": {"Name": "O'Brien"}})
        taken = await client.post("/3/customers", json={"Customer": {"Name": "O’Brien"}})
    assert refused.status_code == 400
    info = refused.json()["ErrorInformation"]
    assert info["error"] == 1 and info["code"] == 2000359
    assert info["message"].startswith("Värdet innehåller ej tillåtna tecken.")
    assert taken.status_code == 201


async def test_the_adapter_sends_shop_text_within_the_set(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    billing = Address(name="O'Brien", street="Gatan [1]", city="Malmö", phone="070—1")
    async with open_adapter() as adapter:
        number = await adapter.create_customer(
            Customer(email="obrien@example.se", name="O'Brien", billing=billing), "SEK"
        )
        document = await kit_document(sim, adapter, "V1", DocumentType.INVOICE)
        line = document.lines[0]
        document = _replace(
            document,
            customer_number=number,
            note='Lämna vid dörren "baksidan" 😀',
            shop_order_number="#1001 [web]",
            lines=[_replace(line, description=SHOP_TEXT), *document.lines[1:]],
        )
        ref = await adapter.create_document(document)
    (stored,) = [c for c in sim.customers() if c["CustomerNumber"] == number]
    assert (stored["Name"], stored["Address1"], stored["Phone1"]) == (
        "O’Brien",
        "Gatan (1)",
        "070-1",
    )
    invoice = sim.invoice(ref.number)
    assert invoice is not None
    assert invoice["InvoiceRows"][0]["Description"] == "Kaffe ’Extra’ (500 g)"
    assert invoice["Remarks"] == "Lämna vid dörren ’baksidan’"
    assert invoice["YourOrderNumber"] == "#1001 (web)"
    assert invoice["ExternalInvoiceReference1"] == document.reference


async def test_a_reference_outside_the_set_is_refused_never_altered(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        document = await kit_document(sim, adapter, "V2", DocumentType.INVOICE)
        odd = _replace(document, reference="brygga:main:butik|1:V2")
        start = len(sim.requests)
        with pytest.raises(PermanentError) as info:
            await adapter.create_document(odd)
    assert "Order V2" in str(info.value) and "'|'" in str(info.value)
    assert not [r for r in sim.requests[start:] if r[0] == "POST"]
    assert sim.documents_with_reference("brygga:main:butik|1:V2") == []


def _replace(obj: Any, **changes: Any) -> Any:
    import msgspec

    return msgspec.structs.replace(obj, **changes)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind="fortnox",
        shop_options={"seed": 3},
        erp_options={"rate_limit": None},
        erp_config={"rate_limit": {"requests": 1000, "per_seconds": 0.05}},
    ) as opened:
        yield opened


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_order_with_quotes_brackets_and_emoji_reaches_fortnox_once(
    env: SimulatedConnection,
) -> None:
    """The order of ``O'Brien`` with a row ``Kaffe "Extra" [500 g] 😀`` is one invoice (the
    old adapter sent the text as it was and Fortnox answered 2000359)."""
    flow = env.flow()
    sku = env.shop.catalog_skus()[0]
    order = env.shop.place_order(lines=[(sku, 1)], email="obrien@example.se", name="O'Brien")
    env.shop.order(order).items[0].description = SHOP_TEXT
    assert await flow.poll_once(env.shop_name) == 1
    assert await env.drain(flow) == [ItemState.DONE]
    assert env.copies(order) == 1
    (document,) = env.erp.documents_with_reference(env.reference(order))
    invoice = env.erp.invoice(document.number)
    assert invoice is not None
    assert invoice["InvoiceRows"][0]["Description"] == "Kaffe ’Extra’ (500 g)"
    assert invoice["CustomerName"] == "O’Brien"
