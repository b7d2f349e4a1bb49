"""`brygga check --remote` for e-conomic: tokens, reference data, helper articles, inventory.

Reads only. The helper articles are checked with the same code that places document rows
(:meth:`brygga_economic.articles.ArticleCatalog.article_for`), so a helper article passes
here exactly when an order row with it would.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import httpx
import msgspec

from brygga.adapters import RemoteFinding, RemoteNeeds
from brygga.documents import DocumentLine
from brygga.errors import BryggaError
from brygga.models import LineKind, Register
from brygga_economic import wire
from brygga_economic.api import NotFoundError
from brygga_economic.articles import DOMESTIC_ZONE, rate_text

if TYPE_CHECKING:
    from brygga_economic.adapter import EconomicAdapter

__all__ = ["verify"]

#: (config key, collection path, number property, what people call it)
_REFERENCE_DATA = (
    ("layout", "layouts", "layoutNumber", "layout"),
    ("payment_terms", "payment-terms", "paymentTermsNumber", "payment terms"),
    ("vat_zone", "vat-zones", "vatZoneNumber", "VAT zone"),
    ("customer_group", "customer-groups", "customerGroupNumber", "customer group"),
)

#: helper articles named as in ``[connection.orders] fee_articles``
_ROLES = {LineKind.FEE: "handling"}


async def verify(adapter: EconomicAdapter, needs: RemoteNeeds) -> list[RemoteFinding]:
    """Every finding for one e-conomic agreement; stops after the tokens when they fail."""
    api = adapter.api
    try:
        answer = await api.request("GET", "self")
        if _not_economic(answer):
            return [RemoteFinding("credentials", False, _no_api_here(adapter, answer))]
        api.decode(answer, wire.Named, "the agreement (/self)")
    except BryggaError as exc:
        return [RemoteFinding("credentials", False, str(exc))]
    findings = [RemoteFinding("credentials", True, "e-conomic accepted the tokens")]
    for key, path, id_key, label in _REFERENCE_DATA:
        number = getattr(adapter.config, key)
        check = f"{label} {number}"
        findings.append(await _reference(adapter, key, (path, id_key), check, number))
    for shop, group in needs.customer_groups:
        findings.append(await _shop_customer_group(adapter, shop, group))
    if Register.STOCK in needs.reads:
        findings.append(await _inventory_module(adapter))
    zone = adapter.config.vat_zone
    for helper in needs.helper_articles:
        # outside the domestic zone every row is VAT-free (see the adapter's notes)
        rates = helper.rates if zone == DOMESTIC_ZONE else (Decimal(0),)
        for rate in dict.fromkeys(rates):
            role = _ROLES.get(helper.kind, helper.kind.value)
            check = f"{role} article {helper.number} at {rate_text(rate)} % VAT"
            line = DocumentLine(
                kind=helper.kind,
                article_number=helper.number,
                description="",
                quantity=Decimal(1),
                unit_price=Decimal(0),
                vat_rate=rate,
            )
            try:
                product = await adapter.articles.article_for(check, line)
            except BryggaError as exc:
                findings.append(RemoteFinding(check, False, _without_prefix(str(exc), check)))
            else:
                findings.append(RemoteFinding(check, True, f"uses {product.product_number}"))
    return findings


async def _inventory_module(adapter: EconomicAdapter) -> RemoteFinding:
    """Stock read from e-conomic needs the agreement's inventory module: the same test the
    stock feed makes before each read (an inventory-enabled product group)."""
    check = "inventory module (stock is read from e-conomic)"
    try:
        groups = await adapter._require_inventory_module()
    except BryggaError as exc:
        return RemoteFinding(check, False, str(exc))
    enabled = sum(1 for on in groups.values() if on)
    return RemoteFinding(check, True, f"{enabled} inventory-enabled product group(s)")


async def _shop_customer_group(adapter: EconomicAdapter, shop: str, group: str) -> RemoteFinding:
    """A shop's own customer group (``[connection.orders.shops.<shop>] customer_group``)."""
    check = f"customer group {group} (shop {shop})"
    key = f"[connection.orders.shops.{shop}] customer_group"
    if not group.isdigit():
        return RemoteFinding(check, False, f"is no customerGroupNumber; set {key} to one")
    api = adapter.api
    try:
        found = api.decode(await api.request("GET", f"customer-groups/{group}"), wire.Named, check)
    except NotFoundError:
        known = await _known(adapter, "customer-groups", "customerGroupNumber")
        choices = f"; e-conomic has: {known}" if known else ""
        return RemoteFinding(check, False, f"does not exist in e-conomic; set {key}{choices}")
    except BryggaError as exc:
        return RemoteFinding(check, False, str(exc))
    return RemoteFinding(check, True, found.name or "exists")


def _not_economic(answer: httpx.Response) -> bool:
    """``GET /self`` found nothing (404), or answered 2xx with something that is not JSON:
    whatever listens at ``base_url``, it is not e-conomic's REST API (which answers JSON,
    401/403 for tokens it refuses)."""
    if answer.status_code == 404:
        return True
    media = answer.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return answer.is_success and not (media == "application/json" or media.endswith("+json"))


def _no_api_here(adapter: EconomicAdapter, answer: httpx.Response) -> str:
    said = "404" if answer.status_code == 404 else f"{answer.status_code}, not JSON"
    return (
        f"no e-conomic REST API at base_url {adapter.config.base_url} (GET /self answered "
        f"{said}); set base_url to {_default_base_url(adapter)} (the default) or to the "
        "proxy in front of it"
    )


def _default_base_url(adapter: EconomicAdapter) -> str:
    """The config's own default ``base_url`` (e-conomic's REST API)."""
    fields = {f.name: f.default for f in msgspec.structs.fields(type(adapter.config))}
    return str(fields.get("base_url", ""))


async def _reference(
    adapter: EconomicAdapter, key: str, where: tuple[str, str], check: str, number: int
) -> RemoteFinding:
    api = adapter.api
    path = where[0]
    try:
        found = api.decode(await api.request("GET", f"{path}/{number}"), wire.Named, check)
    except NotFoundError:
        known = await _known(adapter, *where)
        choices = f"; e-conomic has: {known}" if known else ""
        return RemoteFinding(
            check, False, f"does not exist in e-conomic; set {key} in [connection.erp]{choices}"
        )
    except BryggaError as exc:
        return RemoteFinding(check, False, str(exc))
    if key == "payment_terms" and found.payment_terms_type == "dueDate":
        # such terms need a dueDate on every document ("only for paymentTermsType=dueDate",
        # reference/erp-apis.md §1.6), which brygga cannot know: every order would fail
        known = await _known(adapter, *where)
        choices = f"; e-conomic has: {known}" if known else ""
        return RemoteFinding(
            check,
            False,
            f"{found.name or 'these terms'} are of type dueDate, which needs a due date on "
            "every invoice and brygga sets none; set payment_terms in [connection.erp] to "
            f"terms of another type (net, invoiceMonth, …){choices}",
        )
    return RemoteFinding(check, True, found.name or "exists")


async def _known(adapter: EconomicAdapter, path: str, id_key: str) -> str:
    """The numbers and names that do exist (at most 20), for the fix; empty when unreadable."""
    api = adapter.api
    try:
        response = await api.request("GET", path, params={"pagesize": 20})
        rows = api.decode_any(response, path).get("collection", [])
    except (BryggaError, AttributeError):
        return ""
    names = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        number = row.get(id_key)
        if isinstance(number, int) and not isinstance(number, bool):
            name = str(row.get("name", ""))[:40]
            names.append(f"{number} ({name})" if name else str(number))
    return ", ".join(names)


def _without_prefix(message: str, check: str) -> str:
    """The refusal without the leading "<check>: " the catalog puts in front."""
    head = f"{check}: "
    return message[len(head) :] if message.startswith(head) else message
