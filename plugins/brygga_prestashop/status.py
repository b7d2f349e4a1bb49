"""The export mark (a private order message) and order states back to the shop
(``order_histories``, §3.6/§3.7 [PS6]); see the adapter's module notes.

Lists are asked for with ``sort=[id_ASC]``: without it PrestaShop promises no order (§3.4,
devdocs "List options"), so "the latest message" and "the carrier's row" are chosen by id
and by field here, never by position."""

from __future__ import annotations

import logging

from brygga.errors import PermanentError
from brygga.models import DocumentRef
from brygga_prestashop.calls import PrestashopCalls
from brygga_prestashop.states import StateTable
from brygga_prestashop.wire import Record, decode_detail, get_id, get_text, xml_body

__all__ = ["PrestashopStatus", "order_id_of"]

log = logging.getLogger(__name__)


def order_id_of(shop_order_id: str) -> int:
    """The numeric order id, or a PermanentError."""
    if not shop_order_id.isdigit():
        raise PermanentError(
            f"PrestaShop order id {shop_order_id!r} is not a number; PrestaShop order ids are "
            "integers"
        )
    return int(shop_order_id)


class PrestashopStatus(PrestashopCalls):
    """ExportMark and StatusSink for the adapter; it sets these attributes."""

    states: StateTable
    export_mark: str
    mark_prefix: str

    # -- ExportMark -----------------------------------------------------------------------

    async def _marks(self, order_id: int) -> list[str]:
        rows = await self._list(
            "messages",
            f"PrestaShop order {order_id}: messages",
            {"display": "full", "filter[id_order]": f"[{order_id}]", "sort": "[id_ASC]"},
        )
        rows.sort(key=lambda r: get_id(r, "id", f"PrestaShop order {order_id}: message"))
        prefix = self.mark_prefix
        texts = [get_text(r, "message", f"PrestaShop order {order_id}: message") for r in rows]
        return [t[len(prefix) :] for t in texts if t.startswith(prefix.strip())]

    async def _mark_of(self, order_id: int) -> str:
        """The document number of the order's latest mark (highest message id)."""
        if self.export_mark == "none":
            return ""
        marks = await self._marks(order_id)
        return marks[-1].strip() if marks else ""

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """A private order message ``<mark_prefix><number>``, once (read first)."""
        if self.export_mark == "none":
            return
        order_id = order_id_of(shop_order_id)
        what = f"PrestaShop order {order_id}: export mark"
        if not 0 < len(document.number) <= 100:
            raise PermanentError(
                f"{what}: document number {document.number!r} is not 1-100 characters"
            )
        if document.number in [m.strip() for m in await self._marks(order_id)]:
            return
        body = xml_body(
            "message",
            {
                "id_order": str(order_id),
                "message": f"{self.mark_prefix}{document.number}",
                "private": "1",
            },
        )
        await self._call("POST", "messages", what, body=body, ok=(200, 201))

    # -- StatusSink -----------------------------------------------------------------------

    async def order_statuses(self) -> list[str]:
        """The shop's order states (``GET /order_states``), as brygga's codes."""
        return list((await self.states.load()).values())

    async def set_status(
        self,
        shop_order_id: str,
        status_id_code: str,
        *,
        email: bool,
        capture: bool,
        tracking_number: str = "",
        carrier: str = "",
    ) -> bool:
        """The order gets the state by ``POST /order_histories`` (``sendemail=1`` only with
        ``email``) and the tracking number on its carrier's ``order_carriers`` row; read first,
        nothing written when it has both. ``capture``: not possible through the Webservice."""
        order_id = order_id_of(shop_order_id)
        what = f"PrestaShop order {order_id}: status {status_id_code!r}"
        if len(tracking_number) > 64:
            raise PermanentError(f"{what}: tracking number longer than PrestaShop's 64 characters")
        target = await self.states.id_of(status_id_code, what)
        response = await self._call("GET", f"orders/{order_id}", what)
        order = decode_detail(response.content, "order", what)
        wrote = False
        if tracking_number:
            wrote = await self._set_tracking(order, order_id, tracking_number, what)
        if str(order.get("current_state")) != str(target):
            body = xml_body(
                "order_history", {"id_order": str(order_id), "id_order_state": str(target)}
            )
            params = {"sendemail": "1"} if email else None
            await self._call(
                "POST", "order_histories", what, params=params, body=body, ok=(200, 201)
            )
            wrote = True
        if not wrote:
            log.debug("prestashop order %s already has state %s", order_id, status_id_code)
        return wrote

    async def _set_tracking(self, order: Record, order_id: int, tracking: str, what: str) -> bool:
        """The tracking number on the ``order_carriers`` row of the order's carrier
        (``id_carrier``): PUT whole, read just before; False when it has it already. The only
        row when none is the order's carrier's; several rows for its carrier are refused."""
        rows = await self._list(
            "order_carriers",
            what,
            {"display": "full", "filter[id_order]": f"[{order_id}]", "sort": "[id_ASC]"},
        )
        if not rows:
            raise PermanentError(
                f"{what}: the order has no carrier row (order_carriers) to hold the tracking "
                "number; choose a carrier on the order in PrestaShop, then retry"
            )
        rows.sort(key=lambda r: get_id(r, "id", what))
        carrier = get_id(order, "id_carrier", what)
        own = [r for r in rows if str(r.get("id_carrier")) == str(carrier)]
        if len(own) > 1 or (not own and len(rows) > 1):
            ids = ", ".join(str(get_id(r, "id", what)) for r in (own or rows)[:5])
            which = f"for its carrier {carrier}" if own else f"and none for its carrier {carrier}"
            raise PermanentError(
                f"{what}: the order has {len(own or rows)} carrier rows (order_carriers {ids}) "
                f"{which}, so brygga cannot tell which one takes the tracking number; leave "
                "one carrier row for the order's carrier in PrestaShop, then retry"
            )
        row = own[0] if own else rows[0]
        if get_text(row, "tracking_number", what) == tracking:
            return False
        fields = {k: "" if v is None else str(v) for k, v in row.items() if k != "associations"}
        fields["tracking_number"] = tracking
        await self._call(
            "PUT", f"order_carriers/{fields['id']}", what, body=xml_body("order_carrier", fields)
        )
        return True
