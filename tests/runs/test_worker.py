"""The scheduler lease, due runs, claims, and two workers side by side on Postgres."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from bot.config import Settings
from bot.db import make_engine
from bot.definitions.search import definition_from_search
from bot.definitions.store import delete_search, find_search, set_enabled, update_search
from bot.models import RunStatus, SearchRun
from bot.runs.claims import claim_runs, create_due_run, recover_stale
from bot.runs.lease import Lease
from bot.runs.scheduler import SearchScheduler, phase
from bot.runs.worker import CLAIM_AHEAD, Worker
from bot.runtime import Runtime
from tests.memory_source import MemorySource, create_memory_search


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_only_one_process_holds_the_lease_and_another_takes_over_when_it_dies(pg_url):
    first_engine, second_engine = make_engine(pg_url), make_engine(pg_url)
    first, second = Lease(first_engine), Lease(second_engine)
    try:
        assert first.try_acquire() and first.check()
        assert not second.try_acquire()
        assert first.connection is not None
        pid = first.connection.scalar(text("SELECT pg_backend_pid()"))
        with second_engine.connect() as admin:  # the holder dies: its connection ends
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert not first.check()
        assert wait_until(second.try_acquire, timeout=10) and second.check()
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()


def test_a_double_fire_creates_one_run(runtime, dataset, make_search):
    search_id = make_search(dataset[0])
    at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with runtime.sessions.begin() as session:
        assert create_due_run(session, search_id, at) is True
        assert create_due_run(session, search_id, at) is False
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SearchRun)) == 1


def test_a_claim_takes_the_oldest_due_run_and_the_later_ones_wait_their_turn(
    runtime, dataset, make_search
):
    search_id = make_search(dataset[0])
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        for minutes in (3, 2, 1):
            create_due_run(session, search_id, now - timedelta(minutes=minutes))
        claimed = claim_runs(session, "w1", now, limit=4)
        assert len(claimed) == 1 and claimed[0].scheduled_for == now - timedelta(minutes=3)
        # One is running: none of the same search starts beside it.
        assert claim_runs(session, "w2", now, limit=4) == []
    with runtime.sessions() as session:
        statuses = sorted(s.value for s in session.scalars(select(SearchRun.status)))
    assert statuses == ["pending", "pending", "running"]  # nothing folded into a later run


def test_runs_left_running_by_a_dead_worker_are_recovered(runtime, dataset, make_search):
    dead_workers, live_workers = (make_search(dataset[0], timeout="30s") for _ in range(2))
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        session.add(
            SearchRun(
                search_id=dead_workers,
                scheduled_for=now - timedelta(hours=1),
                status=RunStatus.RUNNING,
                started_at=now - timedelta(hours=1),
            )
        )
        session.add(
            SearchRun(
                search_id=live_workers, scheduled_for=now, status=RunStatus.RUNNING, started_at=now
            )
        )
    with runtime.sessions.begin() as session:
        assert recover_stale(session, now) == 1
    with runtime.sessions() as session:
        statuses = sorted(s.value for s in session.scalars(select(SearchRun.status)))
    assert statuses == ["failed", "running"]


def test_changes_to_searches_reach_the_scheduler_without_a_restart(runtime, dataset, make_search):
    ids = [make_search(dataset[0]) for _ in range(3)]
    scheduler = SearchScheduler(runtime)
    scheduler.start()
    try:
        assert scheduler.sync() == 3 and scheduler.sync() == 0
        with runtime.sessions.begin() as session:
            set_enabled(session, find_search(session, str(ids[0])), False, "U_BOB")
            search = find_search(session, str(ids[1]))
            defn = definition_from_search(search)
            update_search(
                session,
                search,
                defn.__class__(**{**defn.__dict__, "schedule": "every 5m"}),
                "U_BOB",
            )
        assert scheduler.sync() == 2
        assert set(scheduler.jobs) == {ids[1], ids[2]}
        assert scheduler.jobs[ids[1]].schedule.interval == 300
    finally:
        scheduler.shutdown()


def test_the_lease_holders_sync_reads_the_searches_only_when_their_fingerprint_moved(
    runtime, dataset, make_search, monkeypatch
):
    ids = [make_search(dataset[0]) for _ in range(4)]
    scheduler = SearchScheduler(runtime)

    def edit(change) -> int:
        with runtime.sessions.begin() as session:
            change(session)
        return scheduler.sync(if_changed=True)

    def reschedule(session, search_id: int, schedule: str) -> None:
        search = find_search(session, str(search_id))
        defn = definition_from_search(search)
        update_search(session, search, replace(defn, schedule=schedule), "U_BOB")

    assert scheduler.sync(if_changed=True) == 4  # the first sync reads every search
    assert scheduler.sync(if_changed=True) == 0

    # Each kind of edit moves the fingerprint, so the next sync sees it at once.
    def enabled(flag: bool):
        return lambda session: set_enabled(session, find_search(session, str(ids[0])), flag, "U")

    assert edit(enabled(False)) == 1 and ids[0] not in scheduler.jobs
    assert edit(enabled(True)) == 1 and ids[0] in scheduler.jobs
    assert edit(lambda s: reschedule(s, ids[1], "every 5m")) == 1
    assert scheduler.jobs[ids[1]].schedule.interval == 300
    assert edit(lambda s: delete_search(s, find_search(s, str(ids[2])), "U_BOB")) == 1
    assert set(scheduler.jobs) == {ids[0], ids[1], ids[3]}
    # A change behind the definitions' back (no version, no updated_at) is not looked
    # for every few seconds, but the periodic full read finds it.
    with runtime.sessions.begin() as session:
        session.execute(
            text("UPDATE searches SET schedule = 'every 2m' WHERE id = :id"), {"id": ids[3]}
        )
    assert scheduler.sync(if_changed=True) == 0
    monkeypatch.setattr("bot.runs.scheduler.FULL_SYNC_SECONDS", 0.0)
    assert scheduler.sync(if_changed=True) == 1
    assert scheduler.jobs[ids[3]].schedule.interval == 120


def test_interval_schedules_are_spread_over_the_interval():
    offsets = sorted(phase(search_id, 60) for search_id in range(1, 1001))
    buckets = [sum(1 for o in offsets if s <= o < s + 10) for s in range(0, 60, 10)]
    assert min(buckets) >= 150  # about 166 per 10 s, not 1,000 in the same second


SEARCHES = 4 * CLAIM_AHEAD * 4  # four claims of a 4-thread worker


def test_two_workers_on_postgres_never_execute_a_run_twice_nor_overlap_a_search(pg_url):
    engines = [make_engine(pg_url), make_engine(pg_url)]
    runtimes = [Runtime(settings=Settings(database_url=pg_url), engine=e) for e in engines]
    # More searches than one worker claims at once (threads x CLAIM_AHEAD), so both take part.
    datasets = [MemorySource.dataset(f"two-workers-{i}") for i in range(SEARCHES)]
    for data in datasets:
        data.sleep = 0.02
    search_ids = [create_memory_search(runtimes[0], f"two-workers-{i}") for i in range(SEARCHES)]
    now = datetime.now(UTC)
    with runtimes[0].sessions.begin() as session:  # a backlog: 6 fire times a search
        for search_id in search_ids:
            for seconds in range(6):
                create_due_run(session, search_id, now - timedelta(seconds=60 - seconds * 10))
    workers = [
        Worker(rt, threads=4, poll_interval=0.05, schedule=False, name=f"w{i}")
        for i, rt in enumerate(runtimes)
    ]
    # Claim repeatedly as due runs appear, like the real loops; more runs are added meanwhile.
    for worker in workers:
        worker.start()
    try:
        for round_ in range(5):
            with runtimes[1].sessions.begin() as session:
                for search_id in search_ids:
                    create_due_run(session, search_id, now + timedelta(milliseconds=round_))
            time.sleep(0.1)

        def settled() -> bool:
            with runtimes[0].sessions() as session:
                open_runs = session.scalar(
                    select(func.count()).where(
                        SearchRun.status.in_([RunStatus.PENDING, RunStatus.RUNNING])
                    )
                )
                return open_runs == 0

        assert wait_until(settled)
    finally:
        for worker in workers:
            worker.stop()
    executed = workers[0].executed + workers[1].executed
    assert len(executed) == len(set(executed))  # no run executed twice
    assert workers[0].executed and workers[1].executed  # both took part
    with runtimes[0].sessions() as session:
        rows = session.execute(
            select(SearchRun.status, func.count()).group_by(SearchRun.status)
        ).all()
        succeeded = session.scalar(
            select(func.count()).where(SearchRun.status == RunStatus.SUCCEEDED)
        )
    counts = {status.value: n for status, n in rows}
    assert set(counts) <= {"succeeded", "skipped"} and succeeded == len(executed)
    assert [data.max_active for data in datasets] == [
        1
    ] * SEARCHES  # runs of one search never overlap
    for engine in engines:
        engine.dispose()


def test_a_worker_schedules_and_runs_a_search_on_its_own(runtime, dataset, make_search):
    search_id = make_search(dataset[0], schedule="every 10s")
    worker = Worker(runtime, threads=2, poll_interval=0.2, sync_interval=0.2)
    worker.start()
    try:
        assert wait_until(lambda: len(worker.executed) >= 1, timeout=15)
    finally:
        worker.stop()
    with runtime.sessions() as session:
        run = session.scalar(select(SearchRun).where(SearchRun.search_id == search_id))
    assert run is not None and run.status == RunStatus.SUCCEEDED
    assert run.started_at is not None and run.started_at - run.scheduled_for < timedelta(seconds=2)
    assert worker.is_leader is False  # released on stop


def test_the_next_run_time_follows_the_schedule_and_the_phase():
    from bot.runs.scheduler import next_run_at

    after = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    at = next_run_at(7, "every 1m", after)
    assert at is not None and at - after <= timedelta(minutes=1)
    assert at.second == phase(7, 60)
    assert next_run_at(7, "0 9 * * *", after) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
