"""Human durations: "15m", "1h30m", "2d", "90s" <-> seconds (searches and the bot share them)."""

from __future__ import annotations

import re

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_WORDS = {
    "weeks": "w",
    "week": "w",
    "days": "d",
    "day": "d",
    "hours": "h",
    "hour": "h",
    "hrs": "h",
    "hr": "h",
    "minutes": "m",
    "minute": "m",
    "mins": "m",
    "min": "m",
    "seconds": "s",
    "second": "s",
    "secs": "s",
    "sec": "s",
}
_WORD = re.compile(r"(\d+)\s*(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b")


def parse_duration(value: str | int) -> int:
    """Seconds in ``value``: an int (seconds), "90" (seconds), "15m", "1h30m", "2d", "1 hour".

    Raises ValueError with a message fit for the user.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 15m, 1h30m or 2d")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 15m, 1h30m or 2d")
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    text = _WORD.sub(lambda m: m.group(1) + _WORDS[m.group(2)], text)
    compact = re.sub(r"[\s,]+|and", "", text)
    if not compact or _PART.sub("", compact):
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 15m, 1h30m or 2d")
    return sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))


def format_duration(seconds: int | float) -> str:
    """``5400`` -> "1h 30m"; ``0`` -> "0s". Largest units first, zero parts left out."""
    remaining = int(seconds)
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w" and remaining % size:
            continue  # "10d" reads better than "1w 3d"
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def compact_duration(seconds: int) -> str:
    """Like format_duration but without spaces ("1h30m"): what YAML export writes."""
    return format_duration(seconds).replace(" ", "")
