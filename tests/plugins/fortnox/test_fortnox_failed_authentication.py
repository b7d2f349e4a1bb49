"""A 403 "failed authentication" is the credentials, a 403 with a licence code is the licence.

https://www.fortnox.se/developer/guides-and-good-to-know/responses: "403 | Forbidden | Failed
authentication"; https://www.fortnox.se/developer/guides-and-good-to-know/errors: "2000310 |
Ogiltig inloggning | The Client-Secret or the Access-Token is either missing or is incorrect",
"2000311 | Kan inte logga in, access-token eller client-secret saknas(2).", "2001101 | Det finns
ingen aktiv licens för önskat scope", "2001103 | Api-licens saknas.". So a 401 or 403 with an
authentication code drops the access token and refreshes once; refused again it is
CredentialsRejected (the engine holds the connection instead of failing records); a 403 with a
licence or scope code stays the request's refusal.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fortnox_support import config_for

from brygga.errors import CredentialsRejected, PermanentError
from brygga.models import DocumentType
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


async def _lookup(adapter: Any) -> None:
    assert await adapter.find_document("nothing", DocumentType.INVOICE) is None


async def test_the_simulator_answers_failed_authentication_with_403(
    sim: FortnoxSimulator,
) -> None:
    config = sim.adapter_config("https://x")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="https://x"
    ) as client:
        missing = await client.get("/3/invoices")
        wrong = await client.get("/3/invoices", headers={"Authorization": "Bearer at-nope"})
        basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode())
        token = await client.post(
            "/oauth-v1/token",
            data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
            headers={"Authorization": f"Basic {basic.decode()}"},
        )
        sim.gate.forbidden["/3/invoices"] = 2001101
        licence = await client.get(
            "/3/invoices", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
    assert (missing.status_code, missing.json()["ErrorInformation"]["code"]) == (403, 2000311)
    assert (wrong.status_code, wrong.json()["ErrorInformation"]["code"]) == (403, 2000310)
    assert (licence.status_code, licence.json()["ErrorInformation"]["code"]) == (403, 2001101)


async def test_a_revoked_access_token_gets_one_new_token(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        await _lookup(adapter)
        sim.oauth.revoke_access()
        await _lookup(adapter)
    assert sim.oauth.issued == {"refresh_token": 2}


async def test_failed_authentication_after_a_new_token_is_credentials_rejected(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    config = config_for(sim)
    async with open_adapter(config=config) as adapter:
        await _lookup(adapter)
        sim.gate.reject_tokens = True
        with pytest.raises(CredentialsRejected) as info:
            await _lookup(adapter)
        tokens = adapter.tokens.secrets()
    # one refresh for the refused token, then no more for this request
    assert sim.oauth.issued == {"refresh_token": 2}
    message = str(info.value)
    assert message.startswith("Fortnox rejected the credentials")
    assert "2000310" in message
    assert "[connection.erp]" in message and "refresh_token" in message
    for secret in (*tokens, config.refresh_token.reveal(), config.client_secret.reveal()):
        assert secret not in message


@pytest.mark.parametrize("code", [2001101, 2001103])
async def test_a_licence_or_scope_refusal_stays_the_requests_refusal(
    sim: FortnoxSimulator, open_adapter: Any, code: int
) -> None:
    sim.gate.forbidden["/3/invoices"] = code
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as info:
            await _lookup(adapter)
    assert not isinstance(info.value, CredentialsRejected)
    assert "licence or scope" in str(info.value) and str(code) in str(info.value)
    assert sim.oauth.issued == {"refresh_token": 1}
