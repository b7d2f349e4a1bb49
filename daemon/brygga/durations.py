"""Human durations in config ("60s", "15m", "1h30m", "2d") as seconds."""

from __future__ import annotations

import re

__all__ = ["Duration", "format_duration", "parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Duration(float):
    """Seconds, written in config as a number or a string like ``"90s"`` or ``"1h30m"``."""

    def __repr__(self) -> str:
        return f"Duration({float(self)!r})"


def parse_duration(value: object) -> Duration:
    """Parse a number (seconds) or a duration string; ValueError explains the expected form."""
    if isinstance(value, bool):
        raise ValueError("Expected a duration like '60s', '15m' or '1h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return Duration(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, total = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if text and pos == len(text):
            return Duration(total)
    raise ValueError(f"Expected a duration like '60s', '15m' or '1h', got {value!r}")


def format_duration(seconds: float) -> str:
    """Seconds as the config writes them: ``"0.5s"``, ``"90s"``, ``"15m"``, ``"1h"``, ``"2d"``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
