"""Norce refusing the client credentials is a CredentialsRejected naming shop and keys.

Norce's identity endpoint answers wrong client credentials with ``invalid_client`` (the
OAuth2 client-credentials grant, RFC 6749 §5.2; the integration user is set up in Norce Admin:
Settings → Users → OAUTH, reference/shop-apis.md, Norce section). The sync engine holds the
connection's work on a CredentialsRejected (tests/sync/test_credentials_rejected.py) instead
of failing the record; the message names the keys and their sources, never a value.
"""

from __future__ import annotations

import pytest
from norce_support import START, open_adapter

from brygga.clock import FakeClock
from brygga.errors import CredentialsRejected
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio


async def test_a_wrong_secret_is_credentials_rejected_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_NORCE_SECRET", "kit-wrong-secret-42")
    sim = NorceSimulator(clock=FakeClock(START))
    secret = {"env": "BRYGGA_TEST_NORCE_SECRET"}
    async with open_adapter(sim, FakeClock(START), client_secret=secret) as adapter:
        with pytest.raises(CredentialsRejected) as info:
            await adapter.fetch_order("1")
    message = str(info.value)
    assert "rejected the credentials (invalid_client)" in message
    assert "client_secret (env:BRYGGA_TEST_NORCE_SECRET)" in message and "reload" in message
    assert "kit-wrong-secret-42" not in message and sim.client_secret not in message
