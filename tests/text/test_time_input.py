"""The times a user types for a search test's range (shared by the CLI and Slack)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


BERLIN = ZoneInfo("Europe/Berlin")


def test_a_time_without_a_zone_is_read_in_the_configured_zone() -> None:
    # 08:00 in Berlin (winter, UTC+1) is 07:00 UTC; an explicit zone still wins.
    assert parse_time("2026-01-31T08:00", NOW, quote=quoted, tz=BERLIN) == datetime(
        2026, 1, 31, 7, tzinfo=UTC
    )
    assert parse_time("2026-01-31T08:00Z", NOW, quote=quoted, tz=BERLIN) == datetime(
        2026, 1, 31, 8, tzinfo=UTC
    )
    window = parse_range("2026-01-31T08:00", "2026-01-31T09:00+00:00", NOW, quote=quoted, tz=BERLIN)
    assert window is not None
    assert (window.start, window.end) == (
        datetime(2026, 1, 31, 7, tzinfo=UTC),
        datetime(2026, 1, 31, 9, tzinfo=UTC),
    )


def test_a_window_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_range("2026-12-01T08:00Z", None, NOW, quote=quoted)
    assert "<from> 2026-12-01T08:00:00+00:00 is in the future" in str(raised.value)
    with pytest.raises(InvalidInput, match="<to> 2026-11-30T13:00:00"):
        parse_range("now-1h", "2026-11-30T13:00Z", NOW, quote=quoted)


def test_the_cli_help_says_how_times_without_a_zone_are_read(capsys) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit):
        main(["search", "test", "--help"])
    assert "configured TIMEZONE" in capsys.readouterr().out
