"""The one secret scrubber both adapters use on text a server sent back."""

from __future__ import annotations

import pytest

from brygga.http.client import HttpContext, RemoteClient
from brygga.secrets import Secret, scrub
from brygga_economic.api import EconomicApi
from brygga_starweb.auth import TokenSource

pytestmark = pytest.mark.anyio


def test_every_occurrence_of_every_secret_is_masked() -> None:
    text = "token abc123 refused; client s3cret-id / abc123 again"
    assert scrub(text, "abc123", Secret("s3cret-id")) == "token *** refused; client *** / *** again"


def test_empty_and_missing_secrets_change_nothing() -> None:
    assert scrub("nothing to hide", "", None, Secret("")) == "nothing to hide"
    assert scrub("") == ""


def test_a_secret_containing_another_is_masked_whole() -> None:
    # the shorter one first would leave "-tail" of the longer one behind
    assert scrub("x long-secret-tail y", "long-secret", "long-secret-tail") == "x *** y"
    assert scrub("x long-secret-tail y", "long-secret-tail", "long-secret") == "x *** y"


async def test_both_adapters_scrub_with_it() -> None:
    http = HttpContext()
    client = RemoteClient(system="s", base_url="http://x", context=http, account="a")
    try:
        api = EconomicApi(client, ("app-token", "app-token-and-grant", ""))
        assert api.scrub("got app-token-and-grant and app-token") == "got *** and ***"
        source = TokenSource(
            client,
            client_id=Secret("client-id"),
            client_secret=Secret("client-id-secret"),
            clock=http.clock,
            shop="se",
            cache=http.tokens,
            account="a",
        )
        scrubbed = source.scrub("client-id-secret, client-id, bearer-1", "bearer-1")
        assert scrubbed == "***, ***, ***"
    finally:
        await client.aclose()
