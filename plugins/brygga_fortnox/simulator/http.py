"""The simulator's list answers: search parameters, ``filter``, ``lastmodified``, paging.

Documented (reference §2.3 [doc F4][spec F1]): ``page`` and ``limit`` (and ``offset``) page a
list, ``MetaInformation`` says ``@TotalResources``, ``@TotalPages`` and ``@CurrentPage``;
search parameters are lowercase field names matched as *contains* (``?articlenumber=A100``
matches ``A1001``), case-insensitively; one ``filter=`` per request; ``lastmodified`` takes
``YYYY-MM-DD HH:MM`` (date only also accepted).

Modelled ([unknown] in the reference): ``limit`` is at most 500 (more is 2000588, as any
invalid parameter) and defaults to 100; ``lastmodified`` is wall time in
``SimState.lastmodified_zone`` (Europe/Stockholm unless a test picks another, e.g. UTC: the
docs show only "2019-03-10 12:30") with minute resolution, and a record counts when its
change falls in or after that minute;
``offset`` skips records before paging; unknown parameters are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from brygga_fortnox.simulator.errors import ApiError
from brygga_fortnox.simulator.state import SimState
from brygga_fortnox.simulator.wire import meta

__all__ = ["MAX_LIMIT", "STOCKHOLM", "list_answer", "parse_lastmodified"]

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
STOCKHOLM = ZoneInfo("Europe/Stockholm")

Record = dict[str, Any]


def parse_lastmodified(text: str, zone: tzinfo = STOCKHOLM) -> datetime:
    """``YYYY-MM-DD HH:MM`` (or a date) as wall time in ``zone``, as an aware instant."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ApiError.bad_parameter("lastmodified")


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError.bad_parameter(name) from None
    if not low <= value <= high:
        raise ApiError.bad_parameter(name)
    return value


def list_answer(
    state: SimState,
    kind: str,
    params: Mapping[str, str],
    *,
    wrapper: str,
    search: Mapping[str, str],
    filters: Mapping[str, Callable[[Record], bool]],
    item: Callable[[Record], Record],
    sort_key: Callable[[Record], Any],
) -> dict[str, Any]:
    """The answer to ``GET /3/<kind>`` with ``params``: ``search`` maps lowercase parameters
    to the fields they search; ``filters`` the values ``filter=`` takes."""
    rows = list(state.table(kind).items())
    for param, field in search.items():
        wanted = params.get(param)
        if wanted:
            needle = wanted.casefold()
            rows = [(k, r) for k, r in rows if needle in str(r.get(field, "")).casefold()]
    chosen = params.get("filter")
    if chosen:
        test = filters.get(chosen.lower())
        if test is None:
            raise ApiError.bad_parameter("filter")
        rows = [(k, r) for k, r in rows if test(r)]
    since = params.get("lastmodified")
    if since:
        start = parse_lastmodified(since, state.lastmodified_zone)
        rows = [
            (k, r)
            for k, r in rows
            if _minute(state.modified_at(kind, k), state.lastmodified_zone) >= start
        ]
    ordered = sorted((r for _, r in rows), key=sort_key)
    limit = _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int(params, "offset", 0, 0, 10**9)
    page = _int(params, "page", 1, 1, 10**9)
    ordered = ordered[offset:]
    total = len(ordered)
    pages = max(1, math.ceil(total / limit))
    shown = ordered[(page - 1) * limit : page * limit]
    return {wrapper: [item(r) for r in shown], "MetaInformation": meta(total, pages, page)}


def _minute(moment: datetime, zone: tzinfo) -> datetime:
    """The minute ``moment`` falls in (``lastmodified`` has minute resolution)."""
    local = moment.astimezone(zone)
    return local - timedelta(seconds=local.second, microseconds=local.microsecond)
