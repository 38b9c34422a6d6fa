"""A time a user types for a search test's range: ISO 8601, "now", or "now-15m"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.errors import InvalidInput
from searches.durations import parse_duration


def parse_time(text: str, now: datetime, *, quote: Callable[[str], str]) -> datetime:
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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
