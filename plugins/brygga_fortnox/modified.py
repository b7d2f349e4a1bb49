"""The ``lastmodified`` parameter, sent so that no reading of its time zone can miss a change.

Fortnox documents the format only ("2019-03-10 12:30", developer guide, Parameters;
reference/erp-apis.md §2.2 marks the time zone [unknown]). brygga writes the Stockholm wall
time of the window's start less :data:`ZONE_SLACK` (2 hours, the most Stockholm is ever ahead
of UTC): read as Stockholm time the window starts 2 hours early, read as UTC it starts no
later than asked (Stockholm's wall time less 1 or 2 hours is at most the UTC wall time). The
extra overlap re-lists what changed in those hours; the readers' checks for unchanged records
(the catalog's listed versions, the status reader's reads) keep that from being reported
twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["STOCKHOLM", "ZONE_SLACK", "lastmodified", "listed_from"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: the most the wall times of the possible readings (Europe/Stockholm, UTC) differ
ZONE_SLACK = timedelta(hours=2)


def listed_from(moment: datetime) -> datetime:
    """The earliest instant a ``lastmodified`` for ``moment`` may list from."""
    return moment - ZONE_SLACK


def lastmodified(moment: datetime) -> str:
    """The ``lastmodified`` value for changes since ``moment``: Stockholm wall time of
    :func:`listed_from`, floored to the minute."""
    return listed_from(moment).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
