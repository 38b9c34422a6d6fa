"""The scheduler stores when each search runs next (App Home shows it), in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.definitions.store import set_enabled
from bot.models import Search
from bot.runs.scheduler import SearchScheduler, phase


def stored(runtime, search_id: int) -> tuple[datetime | None, datetime, int]:
    with runtime.sessions() as session:
        row = session.execute(
            select(Search.next_run_at, Search.updated_at, Search.version).where(
                Search.id == search_id
            )
        ).one()
    return row.next_run_at, row.updated_at, row.version


def test_syncing_stores_each_searchs_next_run_and_clears_it_when_disabled(
    runtime, dataset, make_search
):
    minutely = make_search(dataset[0], schedule="every 1m")
    hourly = make_search(dataset[0], schedule="every 1h")
    before = {i: stored(runtime, i) for i in (minutely, hourly)}
    assert before[minutely][0] is None  # nothing has written it yet
    scheduler = SearchScheduler(runtime)
    scheduler.start()
    try:
        now = datetime.now(UTC)
        scheduler.sync()
        for search_id, seconds in ((minutely, 60), (hourly, 3600)):
            next_run, updated_at, version = stored(runtime, search_id)
            assert next_run == scheduler.next_fire(search_id)
            assert now < next_run <= now + timedelta(seconds=seconds + 1)
            assert int(next_run.timestamp()) % seconds == phase(search_id, seconds)
            assert (updated_at, version) == before[search_id][1:]  # not an edit
        with runtime.sessions.begin() as session:
            set_enabled(session, session.get(Search, hourly), False, "U_ALICE")
        scheduler.sync()
        assert stored(runtime, hourly)[0] is None
        assert stored(runtime, minutely)[0] is not None
    finally:
        scheduler.shutdown()


def test_a_fire_moves_the_stored_next_run_at_the_next_sync(runtime, dataset, make_search):
    search_id = make_search(dataset[0], schedule="every 1m")
    scheduler = SearchScheduler(runtime)
    scheduler.start()
    try:
        scheduler.sync()
        old = datetime(2020, 1, 1, tzinfo=UTC)
        with runtime.sessions.begin() as session:
            session.execute(update(Search).values(next_run_at=old))
        assert scheduler.sync() == 0 and stored(runtime, search_id)[0] == old  # nothing fired
        assert scheduler.tick(now=scheduler.next_fire(search_id)) == 1
        assert scheduler.sync() == 0
        next_run = stored(runtime, search_id)[0]
        assert next_run is not None and next_run > datetime.now(UTC)
    finally:
        scheduler.shutdown()


def test_app_home_shows_a_failing_searchs_next_run(runtime, dataset, make_search):
    from dataclasses import replace

    from bot.alerts.permissions import StaticDirectory
    from bot.alerts.visibility import Viewer
    from bot.slack.home import home_view

    search_id = make_search(dataset[0], schedule="every 1m")
    scheduler = SearchScheduler(runtime)
    scheduler.start()
    try:
        scheduler.sync()
    finally:
        scheduler.shutdown()
    with runtime.sessions.begin() as session:
        session.execute(update(Search).values(consecutive_failures=2))
    with runtime.sessions() as session:
        admin = Viewer(replace(runtime.settings, admins=("U_ALICE",)), StaticDirectory(), "U_ALICE")
        text = str(home_view(session, admin))
    assert f"`S-{search_id}`" in text and "next run <!date^" in text
    assert "next run -" not in text


def test_a_tick_inserts_every_due_fire_time_in_one_statement(runtime, dataset, make_search):
    from sqlalchemy import event

    from bot.models import SearchRun

    ids = [make_search(dataset[0], schedule="every 1m") for _ in range(5)]
    scheduler = SearchScheduler(runtime)
    scheduler.sync()
    fires = {search_id: scheduler.next_fire(search_id) for search_id in ids}
    inserts: list[str] = []

    def count(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        assert scheduler.tick(now=max(fires.values())) == 5
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    with runtime.sessions() as session:
        runs = session.execute(select(SearchRun.search_id, SearchRun.scheduled_for)).all()
    assert {(search_id, at) for search_id, at in runs} == set(fires.items())
    assert {scheduler.next_fire(i) for i in ids} == {
        at + timedelta(minutes=1) for at in fires.values()
    }


def test_a_tick_long_delayed_inserts_the_recent_fire_times_and_counts_the_rest_missed(
    runtime, dataset, make_search
):
    from bot.models import SearchRun
    from bot.runs.scheduler import MISFIRE_GRACE

    search_id = make_search(dataset[0], schedule="every 1m")
    scheduler = SearchScheduler(runtime)
    scheduler.sync()
    first = scheduler.next_fire(search_id)
    assert first is not None
    late = first + timedelta(hours=1)  # the process was stopped for an hour
    inserted = scheduler.tick(now=late)
    with runtime.sessions() as session:
        runs = sorted(session.scalars(select(SearchRun.scheduled_for)))
    assert runs == [late - timedelta(minutes=m) for m in range(5, -1, -1)]  # within the grace
    assert inserted == 6 and scheduler.missed == 61 - 6
    assert all(late - at <= MISFIRE_GRACE for at in runs)
