"""Fortnox refusing the client credentials or the refresh token is a CredentialsRejected.

Each refresh issues a new refresh token and invalidates the old one; a spent, expired (45
days) or revoked refresh token is refused with ``invalid_grant``, and only a new consent
mends it (reference/erp-apis.md §2.1, §2.10 [doc F2],
https://www.fortnox.se/developer/authorization/get-refresh-token). Both concern the whole
connection, not a record: the sync engine holds the connection's work on a
CredentialsRejected (tests/sync/test_credentials_rejected.py) instead of failing the record.
The message names what to fix and never a secret.
"""

from __future__ import annotations

from typing import Any

import pytest
from fortnox_support import config_for

from brygga.accountstate import MemoryAdapterState
from brygga.errors import CredentialsRejected
from brygga.models import DocumentType
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


async def _lookup(adapter: Any) -> None:
    assert await adapter.find_document("nothing", DocumentType.INVOICE) is None


async def test_a_spent_refresh_token_is_credentials_rejected(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    config = config_for(sim)
    async with open_adapter(config=config, adapter_state=MemoryAdapterState()) as adapter:
        await _lookup(adapter)
    # another install without the state file starts again from the config's (spent) token
    async with open_adapter(config=config, adapter_state=MemoryAdapterState()) as adapter:
        with pytest.raises(CredentialsRejected) as info:
            await _lookup(adapter)
    message = str(info.value)
    assert message.startswith("Fortnox rejected the credentials")
    assert "refresh_token" in message and "reload" in message
    for secret in (config.refresh_token.reveal(), config.client_secret.reveal()):
        assert secret not in message


async def test_wrong_client_credentials_are_credentials_rejected(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    config = config_for(sim, client_secret="wrong-secret-123456")
    async with open_adapter(config=config) as adapter:
        with pytest.raises(CredentialsRejected) as info:
            await _lookup(adapter)
    message = str(info.value)
    assert message.startswith("Fortnox rejected the credentials")
    assert "client_id and client_secret" in message and "[connection.erp]" in message
    assert "wrong-secret-123456" not in message
