"""Claims on Postgres in one statement, and the database's own guard against overlapping runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.db import make_engine
from bot.errors import InvalidInput
from bot.models import RunStatus, SearchRun
from bot.runs.claims import MISSED_ERROR, claim_runs, create_due_run, give_up_overdue
from bot.runs.runner import start_manual_run
from bot.runtime import Runtime
from tests.memory_source import create_memory_search

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_the_database_refuses_a_second_running_run_of_a_search(runtime, dataset, make_search):
    search_id = make_search(dataset[0])
    with runtime.sessions.begin() as session:
        session.add(SearchRun(search_id=search_id, scheduled_for=NOW, status=RunStatus.RUNNING))
    with pytest.raises(IntegrityError), runtime.sessions.begin() as session:
        session.add(
            SearchRun(
                search_id=search_id,
                scheduled_for=NOW + timedelta(minutes=1),
                status=RunStatus.RUNNING,
            )
        )
    with runtime.sessions() as session:
        statuses = session.scalars(select(SearchRun.status)).all()
    assert statuses == [RunStatus.RUNNING]


def test_a_manual_run_is_refused_while_a_claimed_run_is_running(runtime, dataset, make_search):
    search_id = make_search(dataset[0])
    with runtime.sessions.begin() as session:
        create_due_run(session, search_id, NOW)
        [claimed] = claim_runs(session, "w1", NOW, limit=1)
    with pytest.raises(InvalidInput, match="running already"):
        start_manual_run(runtime, search_id, NOW)
    assert claimed.search_id == search_id


def test_a_claim_skips_a_search_another_worker_holds_and_takes_it_once_released(pg_url):
    engine = make_engine(pg_url)
    runtime = Runtime(settings=Settings(database_url=pg_url), engine=engine)
    held, free = (create_memory_search(runtime, f"claims-{i}") for i in range(2))
    with runtime.sessions.begin() as session:
        for search_id in (held, free):
            create_due_run(session, search_id, NOW - timedelta(minutes=1))
            create_due_run(session, search_id, NOW)
    with engine.connect() as other:  # another worker in the middle of claiming `held`
        other.execute(text("SELECT id FROM searches WHERE id = :id FOR UPDATE"), {"id": held})
        with runtime.sessions.begin() as session:
            first = claim_runs(session, "w1", NOW, limit=4)
        other.rollback()
    earlier = NOW - timedelta(minutes=1)
    assert [(c.search_id, c.scheduled_for) for c in first] == [(free, earlier)]
    with runtime.sessions.begin() as session:
        second = claim_runs(session, "w2", NOW, limit=4)
        assert claim_runs(session, "w3", NOW, limit=4) == []
    assert [(c.search_id, c.scheduled_for) for c in second] == [(held, earlier)]
    with runtime.sessions() as session:
        rows = session.execute(
            select(
                SearchRun.search_id, SearchRun.status, SearchRun.worker, SearchRun.error
            ).order_by(SearchRun.search_id, SearchRun.scheduled_for)
        ).all()
    assert [tuple(row) for row in rows] == [
        (held, RunStatus.RUNNING, "w2", None),
        (held, RunStatus.PENDING, None, None),  # its turn comes when the first one ends
        (free, RunStatus.RUNNING, "w1", None),
        (free, RunStatus.PENDING, None, None),
    ]
    engine.dispose()


def test_runs_waiting_long_past_their_fire_time_are_given_up_as_missed(
    runtime, dataset, make_search
):
    """Only when a later run of the search is due too: the backlog stays bounded, and counted."""
    late, alone = make_search(dataset[0]), make_search(dataset[0])
    with runtime.sessions.begin() as session:
        for minutes in (10, 7, 1):
            create_due_run(session, late, NOW - timedelta(minutes=minutes))
        create_due_run(session, alone, NOW - timedelta(minutes=10))
    with runtime.sessions.begin() as session:
        assert give_up_overdue(session, NOW) == 2
    with runtime.sessions() as session:
        rows = session.execute(
            select(
                SearchRun.search_id, SearchRun.scheduled_for, SearchRun.status, SearchRun.error
            ).order_by(SearchRun.search_id, SearchRun.scheduled_for)
        ).all()
    assert [tuple(row) for row in rows] == [
        (late, NOW - timedelta(minutes=10), RunStatus.SKIPPED, MISSED_ERROR),
        (late, NOW - timedelta(minutes=7), RunStatus.SKIPPED, MISSED_ERROR),
        (late, NOW - timedelta(minutes=1), RunStatus.PENDING, None),
        (alone, NOW - timedelta(minutes=10), RunStatus.PENDING, None),  # its only chance
    ]
