"""Every fire time accounted for: ran, missed, waiting, lateness (run_health and `411 status`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.models import RunStatus, SearchRun
from bot.runs.claims import MISSED_ERROR, create_due_run, give_up_overdue
from bot.runs.health import run_health
from tests.foundation.test_cli import run_411

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_it_counts_ran_missed_and_waiting_runs_with_their_lateness(runtime, dataset, make_search):
    first, second = make_search(dataset[0]), make_search(dataset[0])
    with runtime.sessions.begin() as session:
        for minutes, late, status in ((9, 0.5, RunStatus.SUCCEEDED), (8, 3.0, RunStatus.FAILED)):
            session.add(
                SearchRun(
                    search_id=first,
                    scheduled_for=NOW - timedelta(minutes=minutes),
                    started_at=NOW - timedelta(minutes=minutes) + timedelta(seconds=late),
                    status=status,
                )
            )
        for minutes in (9, 1):  # the older one waits long past its fire time: given up
            create_due_run(session, second, NOW - timedelta(minutes=minutes))
        create_due_run(session, second, NOW - timedelta(minutes=30))  # outside the span
    with runtime.sessions.begin() as session:
        assert give_up_overdue(session, NOW) == 2
    with runtime.sessions() as session:
        health = run_health(session, NOW - timedelta(minutes=10), NOW)
    assert (health.due, health.ran, health.missed, health.waiting) == (4, 2, 1, 1)
    assert health.by_status[RunStatus.SUCCEEDED] == 1 and health.by_status[RunStatus.FAILED] == 1
    assert (health.lateness_at(50), health.lateness_at(99)) == (0.5, 3.0)
    text = "\n".join(health.lines())
    assert "missed (given up, counted) 1" in text and "p99 3.00 s" in text
    assert MISSED_ERROR.startswith("missed")


def test_411_status_accounts_for_the_fire_times_of_the_last_minutes(db_url):
    result = run_411("status", env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "scheduled runs due" in result.stdout and "missed (given up, counted) 0" in result.stdout
