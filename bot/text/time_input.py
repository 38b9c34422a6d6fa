"""A time or a range a user types for a search test: ISO 8601, "now", or "now-15m".

A time written without a zone is read in the configured zone (``TIMEZONE``), as
people type the times they see on their clocks; "Z" or an offset say otherwise.
A range must lie in the past: data from the future does not exist yet, and a
window there would silently find nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from bot.errors import InvalidInput
from searches.base import TimeWindow
from searches.durations import parse_duration


def parse_time(
    text: str, now: datetime, *, quote: Callable[[str], str], tz: tzinfo = UTC
) -> datetime:
    """The time ``text`` names (UTC unless it says otherwise).

    ``quote`` shows the user's text and the examples in the error, as where it is
    read wants them (quotes in a terminal, code spans in Slack).
    """
    value = text.strip()
    if value.lower().startswith("now"):
        rest = value[3:].strip()
        if not rest:
            return now
        if rest[0] != "-":
            hint = f"write {quote('now-15m')} for a time in the past"
            raise InvalidInput(f"{quote(text)}: {hint}", field="time")
        try:
            return now - timedelta(seconds=parse_duration(rest[1:]))
        except ValueError as exc:
            raise InvalidInput(f"{quote(text)}: {exc}", field="time") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        examples = f"ISO 8601 ({quote('2026-01-31T08:00')}) or {quote('now-1h')}"
        raise InvalidInput(f"{quote(text)} is not a time; use {examples}", field="time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_range(
    start_text: str | None,
    end_text: str | None,
    now: datetime,
    *,
    quote: Callable[[str], str],
    default_start: datetime | None = None,
    tz: tzinfo = UTC,
) -> TimeWindow | None:
    """The window ``[start, end)`` a user typed; ``end`` defaults to now.

    Without a start: ``default_start`` when given, else no window at all (``None``,
    the caller's default) unless an end was typed, which needs a start. The error
    messages name the options as ``quote`` shows them (``--from`` or ``from=…``).
    """
    if start_text is None and end_text is None and default_start is None:
        return None
    end = parse_time(end_text, now, quote=quote, tz=tz) if end_text is not None else now
    if start_text is not None:
        start = parse_time(start_text, now, quote=quote, tz=tz)
    elif end_text is not None or default_start is None:
        raise InvalidInput(f"{quote('to')} needs {quote('from')}", field="time")
    else:
        start = default_start
    check_past(TimeWindow(start, end), now, quote=quote)
    if start >= end:
        raise InvalidInput(f"{quote('from')} must be before {quote('to')}", field="time")
    return TimeWindow(start.astimezone(UTC), end.astimezone(UTC))


def check_past(window: TimeWindow, now: datetime, *, quote: Callable[[str], str]) -> None:
    """Refuse a range that reaches into the future (it would find nothing, silently)."""
    for name, moment in (("from", window.start), ("to", window.end)):
        if moment > now:
            shown = moment.astimezone(UTC).isoformat(timespec="seconds")
            at = now.astimezone(UTC).isoformat(timespec="seconds")
            raise InvalidInput(
                f"{quote(name)} {shown} is in the future (it is {at} now): a search can only "
                "look at the past",
                field="time",
            )


ZONE_HELP = (
    'ISO time ("2026-01-31T08:00", read in the configured TIMEZONE unless it ends in Z or '
    '+01:00), or "now-1h"'
)
