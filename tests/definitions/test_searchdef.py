"""Search definitions: human forms in, every problem reported with its field."""

from __future__ import annotations

import pytest

from bot.definitions.schedule import parse_schedule
from bot.definitions.search import DefinitionError, definition_to_dict, parse_definition
from bot.errors import InvalidInput
from bot.models import ConditionOp, Priority
from bot.text.templates import check_template, render_template
from searches.durations import format_duration, parse_duration

BASE = {"name": "logins", "source": "file", "source_config": {"path": "/var/log/auth.ndjson"}}


def problems(raw: dict) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(raw)
    return {e.field: e.message for e in caught.value.errors}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1 hour", 3600),
        (42, 42),
        ("300", 300),
    ],
)
def test_it_reads_durations_in_human_forms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "-5m", "m"])
def test_it_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_it_formats_durations_for_people():
    assert [format_duration(s) for s in (0, 90, 5400, 86400, 604800)] == [
        "0s",
        "1m 30s",
        "1h 30m",
        "1d",
        "1w",
    ]


def test_it_reads_interval_and_cron_schedules():
    assert parse_schedule("every 5m").interval == 300
    assert parse_schedule("every 30s").interval == 30
    assert parse_schedule("*/5 * * * *").cron == "*/5 * * * *"
    with pytest.raises(ValueError, match="at least"):
        parse_schedule("every 1s")
    with pytest.raises(ValueError, match="cron"):
        parse_schedule("61 * * * *")


def test_cron_weekdays_count_from_sunday_as_crontab_does():
    from datetime import UTC, datetime

    sunday = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert parse_schedule("0 9 * * 1").next_fire(sunday) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )  # Monday
    assert parse_schedule("0 9 * * 0").next_fire(sunday) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_it_parses_a_full_definition_from_human_forms():
    defn = parse_definition(
        {
            **BASE,
            "schedule": "every 5m",
            "lookback": "1h",
            "delay": "30s",
            "condition": "count < 1",
            "priority": "HIGH",
            "key_fields": "user, host",
            "tags": ["auth"],
            "renotify": "4h",
            "autoclose": "never",
            "title": "{{ user }} on {{ host }}",
        }
    )
    assert (defn.lookback_seconds, defn.delay_seconds) == (3600, 30)
    assert (defn.condition_op, defn.condition_threshold) == (ConditionOp.LT, 1)
    assert defn.priority == Priority.HIGH and defn.key_fields == ("user", "host")
    assert (defn.renotify_seconds, defn.autoclose_seconds) == (14400, None)


def test_it_reports_every_problem_with_its_field():
    found = problems(
        {
            "name": "",
            "source": "file",
            "source_config": {},
            "schedule": "whenever",
            "lookback": "forever",
            "priority": "urgent",
            "condition": "more than a few",
            "title": "{{ user",
            "colour": "blue",
        }
    )
    assert set(found) == {
        "name",
        "schedule",
        "lookback",
        "priority",
        "condition",
        "title",
        "colour",
        "source_config.path",
    }
    assert "unknown field" in found["colour"]


def test_it_names_the_unknown_source_and_lists_the_known_ones():
    found = problems({"name": "x", "source": "splunk"})
    assert "splunk" in found["source"] and "file" in found["source"]


def test_it_round_trips_through_its_yaml_form():
    defn = parse_definition({**BASE, "condition": "count >= 3", "renotify": "2h", "tags": "a,b"})
    assert parse_definition(definition_to_dict(defn)) == defn
    assert parse_definition(definition_to_dict(defn, compact=True)) == defn


def test_templates_render_in_the_sandbox_and_cannot_escape_it():
    assert (
        render_template("{{ user | upper }} from {{ ip }}", {"user": "bob", "ip": "10.0.0.1"})
        == "BOB from 10.0.0.1"
    )
    assert render_template("{{ missing }}", {}) == ""
    assert check_template("{% if %}") is not None
    with pytest.raises(InvalidInput, match="unsafe"):
        render_template("{{ ''.__class__.__mro__ }}", {})
