"""The times a user types for a search test's range (shared by the CLI and Slack)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidInput
from bot.text.time_input import parse_range, parse_time

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def quoted(text: str) -> str:
    return f"<{text}>"


def test_it_reads_now_relative_and_iso_times_in_utc_unless_told() -> None:
    assert parse_time(" now ", NOW, quote=quoted) == NOW
    assert parse_time("now-1h30m", NOW, quote=quoted) == NOW - timedelta(minutes=90)
    assert parse_time("2026-01-31T08:00", NOW, quote=quoted) == datetime(2026, 1, 31, 8, tzinfo=UTC)
    assert parse_time("2026-01-31T08:00Z", NOW, quote=quoted).tzinfo is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("now+5m", "<now+5m>: write <now-15m> for a time in the past"),
        ("now-soon", "<now-soon>: 'soon' is not a duration"),
        ("tomorrow", "<tomorrow> is not a time; use ISO 8601 (<2026-01-31T08:00>) or <now-1h>"),
    ],
)
def test_it_names_the_problem_quoted_as_the_caller_shows_it(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_time(text, NOW, quote=quoted)
    assert str(raised.value).startswith(message) and raised.value.field == "time"


def test_it_reads_a_range_ending_now_by_default_or_none_when_nothing_was_typed() -> None:
    window = parse_range("now-1h", None, NOW, quote=quoted)
    assert window is not None and (window.start, window.end) == (NOW - timedelta(hours=1), NOW)
    assert parse_range(None, None, NOW, quote=quoted) is None
    fallback = parse_range(None, None, NOW, quote=quoted, default_start=NOW - timedelta(minutes=5))
    assert fallback is not None and fallback.start == NOW - timedelta(minutes=5)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(None, "now", "<to> needs <from>"), ("now", "now-1h", "<from> must be before <to>")],
)
def test_it_refuses_a_range_without_a_start_or_backwards(
    start: str | None, end: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_range(start, end, NOW, quote=quoted)
