"""Order states read from the shop (``GET /order_states``, never hard-coded: ids differ between
shops, §3.6) and brygga's code for each: the slug of its name."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from brygga.errors import PermanentError
from brygga_prestashop.calls import PrestashopCalls
from brygga_prestashop.wire import get_id, get_text

__all__ = ["StateTable", "slug"]


def slug(name: str) -> str:
    """ "Payment accepted" → ``payment-accepted``; "Levererad" → ``levererad``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


class StateTable:
    """The shop's order states by id: code and paid flag, loaded on first use and again
    when an unknown id or code turns up."""

    def __init__(self, calls: PrestashopCalls, language: int | None) -> None:
        self._calls = calls
        self._language = language
        self._codes: dict[int, str] = {}
        self._paid: dict[int, bool] = {}

    async def load(self) -> dict[int, str]:
        what = "PrestaShop order states"
        # by id, so a repeated name's ``-<id>`` suffix goes to the later state whatever order
        # the shop lists them in (no order without sort, §3.4)
        rows = await self._calls._list(
            "order_states", what, {"display": "full", "sort": "[id_ASC]"}
        )
        rows.sort(key=lambda r: get_id(r, "id", what))
        codes: dict[int, str] = {}
        paid: dict[int, bool] = {}
        for row in rows:
            state_id = get_id(row, "id", what)
            code = slug(get_text(row, "name", f"{what}: state {state_id}", language=self._language))
            code = code or str(state_id)
            if code in codes.values():
                code = f"{code}-{state_id}"
            codes[state_id] = code
            paid[state_id] = get_text(row, "paid", what) == "1"
        self._codes, self._paid = codes, paid
        return codes

    async def _known(self, state_id: int) -> bool:
        if state_id not in self._codes:
            await self.load()
        return state_id in self._codes

    async def code_of(self, raw: Any) -> str:
        """The code of ``current_state`` (its id as text when the shop has no such state)."""
        try:
            state_id = get_id({"s": raw}, "s", "order state")
        except PermanentError:
            return str(raw)[:20] or "unknown"
        return self._codes[state_id] if await self._known(state_id) else str(state_id)

    async def paid(self, raw: Any) -> bool:
        try:
            state_id = get_id({"s": raw}, "s", "order state")
        except PermanentError:
            return False
        return await self._known(state_id) and self._paid.get(state_id, False)

    async def id_of(self, code: str, what: str) -> int:
        """The state id of a code (or of a numeric id the shop has)."""
        for attempt in range(2):
            codes = self._codes if attempt == 0 and self._codes else await self.load()
            for state_id, known in codes.items():
                if code in (known, str(state_id)):
                    return state_id
        raise PermanentError(
            f"{what}: the shop has no such order state (known: "
            f"{', '.join(self._codes.values()) or 'none'}); fix the status rule in the "
            "connection's [status] table"
        )
