"""The change feed: orders whose ``date_upd`` lies in a window, read in stable pages.

``filter[date_upd]=[from,to]`` with ``date=1`` (date filters need it, §3.4 [PS1]), full
datetimes (a bare date compares as midnight, issue #10822 [PS16]), ``sort=[date_upd_ASC,id_ASC]``
and ``limit=offset,count``. There is no total count, so a short page ends the walk (§3.4
[inferred]). Offset pages drift when rows change (§7.2), so the walk is keyset on
``date_upd``: each next page starts at the last page's newest second, skipping (less one) the
rows of that second it has already seen; ids already yielded are dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from brygga_prestashop.wire import Record

__all__ = ["walk_window"]

FIELDS = "[id,date_upd,current_state]"
Fetch = Callable[[dict[str, Any]], Awaitable[list[Record]]]


async def walk_window(
    fetch: Fetch, since: str, until: str, *, page_size: int, page_limit: int
) -> list[Record]:
    """Every order row with ``since <= date_upd <= until`` (shop-local strings), each once."""
    seen: dict[str, Record] = {}
    cursor, skip = since, 0
    for _ in range(page_limit):
        rows = await fetch(
            {
                "display": FIELDS,
                "date": "1",
                "filter[date_upd]": f"[{cursor},{until}]",
                "sort": "[date_upd_ASC,id_ASC]",
                "limit": f"{skip},{page_size}",
            }
        )
        for row in rows:
            seen[str(row.get("id"))] = row
        if len(rows) < page_size:
            break
        last = str(rows[-1].get("date_upd", ""))
        same = sum(1 for r in rows if str(r.get("date_upd", "")) == last)
        if last == cursor:
            skip += max(1, len(rows) - 1)
        else:
            cursor, skip = last, max(0, same - 1)
    return list(seen.values())
