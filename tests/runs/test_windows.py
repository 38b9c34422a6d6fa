"""Windows with a controlled clock: gap-free and overlap-free for hits, sliding for counts."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.definitions.search import parse_definition
from bot.models import RunStatus
from bot.runs.runner import run_search
from bot.runs.window import compute_window
from searches.base import Hit, ResultKind, TimeWindow
from tests.memory_source import T0

MIN = timedelta(minutes=1)


def test_the_first_run_covers_the_look_back_range_minus_the_delay(runtime, dataset, make_search):
    name, data = dataset
    search_id = make_search(name, lookback="15m", delay="30s")
    run = run_search(runtime, search_id, now=T0)
    expected = TimeWindow(T0 - timedelta(minutes=15, seconds=30), T0 - timedelta(seconds=30))
    assert (run.window_start, run.window_end) == (expected.start, expected.end)
    assert data.windows == [expected]


def test_consecutive_runs_leave_no_gap_and_no_overlap(runtime, dataset, make_search):
    name, data = dataset
    search_id = make_search(name, lookback="10m")
    for minutes in (0, 1, 2, 5, 6):  # runs at irregular times, as a real scheduler's are
        run_search(runtime, search_id, now=T0 + minutes * MIN)
    windows = data.windows
    assert windows[0] == TimeWindow(T0 - 10 * MIN, T0)
    for earlier, later in itertools.pairwise(windows):
        assert later.start == earlier.end  # no gap, no overlap
    assert windows[-1].end == T0 + 6 * MIN


def test_every_document_is_seen_exactly_once_across_runs(runtime, dataset, make_search):
    name, data = dataset
    # One document every 20 seconds, some exactly on a run's boundary.
    data.hits = [Hit(str(i), T0 - 5 * MIN + i * timedelta(seconds=20), {"n": i}) for i in range(40)]
    search_id = make_search(name, lookback="5m")
    total = 0
    for minutes in range(0, 10):  # the last document (at T0 + 8m) falls in the last window
        total += run_search(runtime, search_id, now=T0 + minutes * MIN).hits
    assert total == 40


def test_a_catch_up_after_downtime_covers_the_whole_gap(runtime, dataset, make_search):
    name, _ = dataset
    search_id = make_search(name, lookback="5m", max_catchup="1d")
    run_search(runtime, search_id, now=T0)
    run = run_search(runtime, search_id, now=T0 + timedelta(hours=3))  # the worker was down
    assert (run.window_start, run.window_end) == (T0, T0 + timedelta(hours=3))


def test_a_catch_up_is_capped_by_max_catchup(runtime, dataset, make_search):
    name, _ = dataset
    search_id = make_search(name, lookback="5m", max_catchup="1h")
    run_search(runtime, search_id, now=T0)
    run = run_search(runtime, search_id, now=T0 + timedelta(hours=3))
    assert (run.window_start, run.window_end) == (T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    # The skipped part is said on the run, where its owner looks; the run still succeeded.
    assert run.status == RunStatus.SUCCEEDED
    assert run.error == (
        "backlog longer than max_catchup: 2026-11-29 12:00:00 to 2026-11-29 14:00:00 UTC"
        " was not searched"
    )


def test_a_failed_run_does_not_advance_the_window(runtime, dataset, make_search):
    name, data = dataset
    search_id = make_search(name, lookback="5m")
    run_search(runtime, search_id, now=T0)
    data.fail = "cluster unreachable"
    assert run_search(runtime, search_id, now=T0 + MIN).status == RunStatus.FAILED
    data.fail = None
    run = run_search(runtime, search_id, now=T0 + 2 * MIN)
    assert (run.window_start, run.window_end) == (T0, T0 + 2 * MIN)


def test_count_searches_slide_over_the_look_back_range(runtime, dataset, make_search):
    name, data = dataset
    search_id = make_search(name, kind="count", lookback="1h", condition="count > 100")
    run_search(runtime, search_id, now=T0)
    run_search(runtime, search_id, now=T0 + MIN)
    assert data.windows == [
        TimeWindow(T0 - timedelta(hours=1), T0),
        TimeWindow(T0 - timedelta(hours=1) + MIN, T0 + MIN),
    ]


def test_a_window_never_ends_before_it_starts():
    defn = parse_definition(
        {"name": "x", "source": "file", "source_config": {"path": "/dev/null"}, "delay": "5m"}
    )
    window, capped = compute_window(
        defn, ResultKind.HITS, T0, T0 + MIN
    )  # delay longer than the gap
    assert window == TimeWindow(T0 - 4 * MIN, T0 - 4 * MIN) or window.start <= window.end
    assert not capped


def test_a_run_moves_the_window_but_not_the_searchs_edit_time(runtime, dataset, make_search):
    from bot.models import Search

    search_id = make_search(dataset[0])
    with runtime.sessions() as session:
        edited = session.get(Search, search_id).updated_at
    run_search(runtime, search_id, now=T0)
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None
        assert (search.updated_at, search.last_window_end) == (edited, T0)


def test_a_run_cut_by_a_size_cap_resumes_where_the_cut_was(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [Hit(str(i), T0 - 10 * MIN + i * MIN, {"n": i}) for i in range(10)]
    data.cap = 4
    search_id = make_search(name, lookback="15m")
    first = run_search(runtime, search_id, now=T0)
    assert (first.hits, first.window_end) == (4, T0 - 7 * MIN)  # the newest hit returned
    assert first.error and "truncated" in first.error
    for minutes in range(1, 5):
        run_search(runtime, search_id, now=T0 + minutes * MIN)
    from sqlalchemy import select

    from bot.models import Alert

    with runtime.sessions() as session:
        keys = set(session.scalars(select(Alert.dedupe_key)))
    assert keys == {f"id:{i}" for i in range(10)}  # nothing lost past the cap
