"""The helpers every source shares: config reading, times, paths, links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from searches.base import SourceConfigError, TimeWindow
from searches.common import (
    ConfigReader,
    Mode,
    field_values,
    get_path,
    keep_fields,
    parse_time,
    render_link,
    split_path,
    window_millis,
)

MOMENT = datetime(2026, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T10:00:00.250Z", MOMENT),
        ("2026-03-01T11:00:00.250+01:00", MOMENT),
        ("2026-03-01T10:00:00.250", MOMENT),  # no zone: UTC
        (MOMENT.timestamp(), MOMENT),  # epoch seconds
        (int(MOMENT.timestamp() * 1000) + 0.0, MOMENT),  # epoch milliseconds
        ("yesterday", None),
        (True, None),
        (None, None),
    ],
)
def test_it_parses_iso_and_epoch_times_to_utc(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_it_cuts_windows_at_milliseconds() -> None:
    window = window_millis(TimeWindow(MOMENT.replace(microsecond=250999), MOMENT))
    assert window.start == MOMENT and window.end == MOMENT


def test_it_splits_and_follows_json_paths() -> None:
    assert split_path("data.items[0].count") == ["data", "items", 0, "count"]
    assert split_path("a..b") is None and split_path("a[x]") is None and split_path("") is None
    document = {"data": {"items": [{"count": 7}]}}
    assert get_path(document, ["data", "items", 0, "count"]) == 7
    assert get_path(document, ["data", "items", 3]) is None


def test_it_reads_fields_like_elasticsearch_flattens_documents() -> None:
    document = {"a": {"b": [1, 2]}, "a.b": 3, "list": [{"k": "x"}, {"k": "y"}]}
    assert sorted(field_values(document, "a.b")) == [1, 2, 3]
    assert list(field_values(document, "list.k")) == ["x", "y"]
    assert keep_fields({"a": {"b": 1, "c": 2}, "d": 3}, ["a.b"]) == {"a": {"b": 1}}


def test_the_reader_collects_every_error_and_refuses_unknown_keys() -> None:
    reader = ConfigReader({"n": "five", "mode": "sideways", "flag": 1, "typo": True})
    reader.integer("n", 1)
    reader.choice("mode", Mode, Mode.HITS)
    reader.flag("flag", False)
    reader.text("name")
    with pytest.raises(SourceConfigError) as raised:
        reader.finish()
    assert [e.field for e in raised.value.errors] == ["n", "mode", "flag", "name", "typo"]
    assert "is not a known setting" in str(raised.value)


def test_a_link_encodes_every_value() -> None:
    window = TimeWindow(MOMENT, MOMENT)
    link = render_link("https://k/?q={query}&from={start}", query="a b&c", window=window, index="i")
    assert link == "https://k/?q=a%20b%26c&from=2026-03-01T10%3A00%3A00.250Z"
