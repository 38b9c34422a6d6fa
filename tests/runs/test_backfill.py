"""Backfill over a day of data: exactly the alerts the live runs would have raised, once.

A reference search runs live (``run_search``) at every hour of the day, as the
scheduler would have; the same definition is backfilled over the same day. Both
must hold the same alerts (keys, occurrences, titles); the backfill posts ONE
summary and never moves the live cursor; a second identical backfill creates
nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers
from sqlalchemy import select

from bot.config import ClusterConfig, Settings
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.models import Alert, Delivery, Search
from bot.runs.backfill import backfill_search, chunks
from bot.runs.runner import run_search
from bot.runtime import Runtime
from searches.base import ResultKind, TimeWindow

DAY = datetime(2026, 11, 28, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPAN = TimeWindow(DAY, DAY + 24 * HOUR)
USERS = ["alice", "bob", "carol", "dave", "erin"]


def _scraper(hour: int) -> str | None:
    """Two addresses that try 3 times within an hour: 10.0.0.9 twice, 10.0.0.8 three times."""
    return {3: "10.0.0.9", 7: "10.0.0.9", 11: "10.0.0.8", 15: "10.0.0.8", 19: "10.0.0.8"}.get(hour)


def day_of_logins() -> list[dict[str, Any]]:
    """Failed logins all day: users come back hour after hour; two addresses scrape."""
    docs = []
    for hour in range(24):
        for n in range(hour % 4):  # 0 to 3 logins an hour
            user = USERS[(hour * 3 + n) % len(USERS)]
            at = DAY + hour * HOUR + timedelta(minutes=7 + 13 * n)
            docs.append({"@timestamp": at.isoformat(), "event": "login_failed", "user": user,
                         "ip": _scraper(hour) or f"10.0.1.{n}"})  # fmt: skip
    return docs


@pytest.fixture
def logins(es: Elasticsearch, es_index: str) -> Iterator[str]:
    actions = [
        {"_index": es_index, "_id": f"d{i}", "_source": d} for i, d in enumerate(day_of_logins())
    ]
    helpers.bulk(es, actions, refresh="wait_for")
    yield es_index


@pytest.fixture
def es_runtime(engine, es_url) -> Runtime:
    clusters = {"default": ClusterConfig(name="default", url=es_url)}
    return Runtime(
        settings=Settings(database_url=str(engine.url), clusters=clusters), engine=engine
    )


SEARCHES = {
    "per user": {"query": "event:login_failed", "key_fields": ["user"], "title": "{{ user }} failed"},
    "scraper": {
        "config": {"mode": "terms", "group_by": ["ip"]},
        "condition": "count > 2",
        "key_fields": ["ip"],
        "title": "{{ count }} from {{ fields['ip'] }}",
    },
}  # fmt: skip


def create(runtime: Runtime, index: str, name: str, kind: str) -> int:
    spec = dict(SEARCHES[kind])
    config = {"index": index, "query": "event:login_failed", **spec.pop("config", {})}
    spec.pop("query", None)
    raw = {"name": name, "source": "elasticsearch", "source_config": config,
           "schedule": "every 1h", "lookback": "1h", "channel": "C_ALERTS", "owner": "U_OWNER",
           **spec}  # fmt: skip
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_OWNER").id


def alerts_of(runtime: Runtime, search_id: int) -> list[tuple[str, int, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Alert.dedupe_key, Alert.occurrences, Alert.title).where(
                Alert.search_id == search_id
            )
        ).all()
    return sorted((key, occurrences, title) for key, occurrences, title in rows)


def deliveries_of(runtime: Runtime, alert_search: int) -> list[Delivery]:
    with runtime.sessions() as session:
        ids = select(Alert.id).where(Alert.search_id == alert_search)
        per_alert = session.scalars(select(Delivery).where(Delivery.alert_id.in_(ids))).all()
        backfill = session.scalars(
            select(Delivery).where(Delivery.idempotency_key.like("backfill:%"))
        ).all()
    return [*per_alert, *backfill]


@pytest.mark.parametrize("kind", ["per user", "scraper"])
def test_a_backfill_creates_exactly_what_the_live_runs_would_have_once(
    es_runtime: Runtime, logins: str, kind: str
) -> None:
    live = create(es_runtime, logins, "live", kind)
    for hour in range(1, 25):  # the scheduler's runs over the day
        run = run_search(es_runtime, live, now=DAY + hour * HOUR)
        assert run.status.value == "succeeded", run.error
    expected = alerts_of(es_runtime, live)
    assert len(expected) >= 2 and len({key for key, _, _ in expected}) == len(expected)

    backfilled = create(es_runtime, logins, "backfilled", kind)
    now = DAY + 30 * HOUR
    report = backfill_search(es_runtime, backfilled, SPAN, actor="cli:test", now=now)
    assert report.error is None and report.chunks == 24
    assert alerts_of(es_runtime, backfilled) == expected
    [summary] = deliveries_of(es_runtime, backfilled)  # ONE post, none per alert
    assert summary.channel == "C_ALERTS" and summary.alert_id is None
    assert f"*{len(expected)}* alerts it would have raised" in summary.payload["text"]
    with es_runtime.sessions() as session:
        search = session.get(Search, backfilled)
        assert search is not None and search.last_window_end is None  # the live cursor stayed

    again = backfill_search(es_runtime, backfilled, SPAN, actor="cli:test", now=now + HOUR)
    assert (again.chunks, again.new_alert_ids, again.summary_posted) == (0, [], False)
    assert "was done already: nothing new" in again.text()
    assert alerts_of(es_runtime, backfilled) == expected
    assert len(deliveries_of(es_runtime, backfilled)) == 1


def test_a_backfill_leaves_alerts_that_existed_alone_and_resumes_a_wider_span(
    es_runtime: Runtime, logins: str
) -> None:
    search_id = create(es_runtime, logins, "per user", "per user")
    first_half = TimeWindow(DAY, DAY + 12 * HOUR)
    half = backfill_search(es_runtime, search_id, first_half, actor="cli:test", now=DAY + 30 * HOUR)
    before = dict((key, n) for key, n, _ in alerts_of(es_runtime, search_id))
    whole = backfill_search(es_runtime, search_id, SPAN, actor="cli:test", now=DAY + 31 * HOUR)
    after = dict((key, n) for key, n, _ in alerts_of(es_runtime, search_id))
    assert half.new_alert_ids and whole.chunks == 24
    # Keys alerted on before were not touched again (no occurrence counted twice).
    assert {key: after[key] for key in before} == before
    assert len(after) == len(before) + len(whole.new_alert_ids)


def test_backfill_windows_follow_the_schedule() -> None:
    defn = parse_definition(
        {
            "name": "x",
            "source": "elasticsearch",
            "source_config": {"index": "i"},
            "schedule": "*/30 * * * *",
            "lookback": "45m",
            "channel": "C",
        }
    )
    span = TimeWindow(DAY, DAY + 2 * HOUR + timedelta(minutes=10))
    per_hit = chunks(defn, ResultKind.HITS, span)
    assert [w.end - DAY for w in per_hit] == [timedelta(minutes=m) for m in (30, 60, 90, 120, 130)]
    assert per_hit[0].start == DAY and all(a.end == b.start for a, b in itertools.pairwise(per_hit))
    sliding = chunks(defn, ResultKind.COUNT, span)
    assert [(w.start - DAY, w.end - DAY) for w in sliding][:2] == [
        (timedelta(minutes=-15), timedelta(minutes=30)),
        (timedelta(minutes=15), timedelta(minutes=60)),
    ]


def test_the_cli_backfills_and_refuses_the_future(
    es_runtime: Runtime, logins: str, monkeypatch, capsys
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", es_runtime.settings.database_url)
    monkeypatch.setenv("ELASTICSEARCH_URL", es_runtime.settings.clusters["default"].url)
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    create(es_runtime, logins, "per user", "per user")
    # Berlin is UTC+1 in November: 01:00 local is midnight UTC.
    args = [
        "search",
        "backfill",
        "per user",
        "--from",
        "2026-11-28T01:00",
        "--to",
        "2026-11-29T01:00",
    ]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"runs": 24' in out and '"summary_posted": true' in out
    assert main(args) == 0
    assert "was done already: nothing new" in capsys.readouterr().out
    future = ["search", "backfill", "per user", "--from", "now-1h", "--to", "2999-01-01T00:00Z"]
    assert main(future) == 2
    assert "--to 2999-01-01T00:00:00+00:00 is in the future" in capsys.readouterr().err


def test_an_interrupted_backfill_resumes_where_it_stopped(
    es_runtime: Runtime, logins: str, monkeypatch
) -> None:
    import bot.runs.backfill as backfill_module

    one_go = create(es_runtime, logins, "one go", "per user")
    backfill_search(es_runtime, one_go, SPAN, actor="cli:test", now=DAY + 30 * HOUR)
    expected = alerts_of(es_runtime, one_go)

    search_id = create(es_runtime, logins, "interrupted", "per user")
    real_run_source = backfill_module.run_source
    calls = {"n": 0}

    def failing_after_ten(source, window, timeout):  # the cluster goes away mid-way
        calls["n"] += 1
        if calls["n"] > 10:
            from searches.base import SourceError

            raise SourceError("Elasticsearch cluster 'default' unreachable: gone")
        return real_run_source(source, window, timeout)

    monkeypatch.setattr(backfill_module, "run_source", failing_after_ten)
    stopped = backfill_search(es_runtime, search_id, SPAN, actor="cli:test", now=DAY + 30 * HOUR)
    assert stopped.chunks == 10 and stopped.error and "unreachable: gone" in stopped.error
    assert not stopped.summary_posted or stopped.new_alert_ids
    monkeypatch.setattr(backfill_module, "run_source", real_run_source)
    resumed = backfill_search(es_runtime, search_id, SPAN, actor="cli:test", now=DAY + 31 * HOUR)
    assert (resumed.skipped_chunks, resumed.chunks, resumed.error) == (10, 14, None)
    assert alerts_of(es_runtime, search_id) == expected  # as if it had never stopped
