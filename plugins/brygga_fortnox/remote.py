"""`brygga check --remote` for Fortnox: credentials and the helper articles, reads only."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from brygga.adapters import RemoteFinding, RemoteNeeds
from brygga.errors import BryggaError
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi

__all__ = ["verify"]


async def verify(api: FortnoxApi, needs: RemoteNeeds) -> list[RemoteFinding]:
    """One finding for the credentials and one per helper article (exists, active, and its
    VAT rate among the rates its rows may have)."""
    findings: list[RemoteFinding] = []
    try:
        response = await api.request("GET", "articles", params={"limit": "1", "page": "1"})
        api.decode(response, wire.ArticlePage, "the article list")
    except BryggaError as exc:
        return [RemoteFinding("credentials", False, str(exc))]
    findings.append(RemoteFinding("credentials", True, "Fortnox answered with these credentials"))
    for helper in needs.helper_articles:
        check = f"{helper.kind.value} article {helper.number}"
        try:
            response = await api.request("GET", f"articles/{quote(helper.number, safe='')}")
            if response.status_code == 404:
                findings.append(RemoteFinding(check, False, (
                    f"article {helper.number} does not exist in Fortnox; create it (Description "
                    f"'{helper.kind.value}') or set [connection.orders] fee_articles"
                )))  # fmt: skip
                continue
            article = api.decode(response, wire.ArticleWrap, check).Article
        except BryggaError as exc:
            findings.append(RemoteFinding(check, False, str(exc)))
            continue
        if article.active is False:
            findings.append(RemoteFinding(check, False, f"article {helper.number} is inactive"))
            continue
        rates = ", ".join(f"{Decimal(r).normalize()} %" for r in helper.rates)
        findings.append(RemoteFinding(check, True, f"found; its rows may carry {rates or 'any'}"))
    return findings
