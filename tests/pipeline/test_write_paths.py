"""The run's two write paths write the same rows, rule by rule (Postgres).

On Postgres a common run is written by one SQL statement (bot/runs/results.py,
with the CTEs of bot/pipeline/insert_pg.py and seen_pg.py); every other run, and
every run on SQLite, by the Python of bot/pipeline/apply.py. Each case here runs the
same steps for two twin searches, one forced onto the portable path, and
compares every row both wrote: alerts, their events, deliveries, the runs and
the search's cursor. Ids differ between the twins, so rows are compared with
ids replaced by what they name (an alert's key, a run's ordinal).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select, update

import bot.runs.results
from bot.definitions.search import definition_from_search
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Resolution,
    Search,
    SearchRun,
)
from bot.pipeline import SearchSpec, decide
from bot.runs.results import RunResults, store_results
from bot.runs.runner import open_source, run_search, start_manual_run
from bot.runtime import Runtime
from searches.base import TimeWindow
from tests.memory_source import T0, Dataset, MemorySource

from .test_pipeline import hit

pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
Row = dict[str, Any]
_dataset_names: dict[int, str] = {}  # search id -> its memory dataset, for the running test
# Columns that differ between any two runs however they are written: timing and identity.
_RUN_TIMING = {"id", "search_id", "started_at", "finished_at", "duration_ms", "worker"}


@pytest.fixture
def twins(runtime: Runtime, make_search, monkeypatch) -> Iterator[Callable[..., tuple[int, int]]]:
    """Two searches with the same definition over two datasets; the second always portable."""
    portable: set[int] = set()
    fits = bot.runs.results.fits_one_statement

    def forced(plan, search):
        return search.id not in portable and fits(plan, search)

    monkeypatch.setattr(bot.runs.results, "fits_one_statement", forced)

    def make(hits: list, **fields: Any) -> tuple[int, int]:
        ids = []
        for twin in ("fast", "portable"):
            name = f"{twin}-{uuid.uuid4().hex[:8]}"
            MemorySource.dataset(name).hits = list(hits)
            ids.append(make_search(name, **fields))
            _dataset_names[ids[-1]] = name
        portable.add(ids[1])
        return ids[0], ids[1]

    yield make
    _dataset_names.clear()


def both(runtime: Runtime, ids: tuple[int, int], **run: Any) -> None:
    for search_id in ids:
        finished = run_search(runtime, search_id, **run)
        assert finished.status.value == "succeeded", finished.error


def assert_same_rows(runtime: Runtime, ids: tuple[int, int]) -> None:
    fast, portable = (snapshot(runtime, search_id) for search_id in ids)
    for table in fast:
        assert fast[table] == portable[table], table
    assert fast["alerts"] and fast["runs"], "the case wrote nothing to compare"


def snapshot(runtime: Runtime, search_id: int) -> dict[str, list[Row]]:
    """Every row the search's runs wrote, with ids replaced by what they name."""
    with runtime.sessions() as session:
        alerts = session.scalars(
            select(Alert).where(Alert.search_id == search_id).order_by(Alert.id)
        ).all()
        runs = session.scalars(
            select(SearchRun).where(SearchRun.search_id == search_id).order_by(SearchRun.id)
        ).all()
        key_of = {alert.id: alert.dedupe_key for alert in alerts}
        run_of = {run.id: f"run#{n}" for n, run in enumerate(runs)}
        events = session.scalars(
            select(AlertEvent)
            .where(AlertEvent.alert_id.in_(key_of))
            .order_by(AlertEvent.alert_id, AlertEvent.id)
        ).all()
        deliveries = [
            d
            for d in session.scalars(select(Delivery).order_by(Delivery.id))
            if d.alert_id in key_of or (d.payload or {}).get("search_id") == search_id
        ]
        search = session.get(Search, search_id)
        assert search is not None

        def named(value: Any) -> Any:
            if isinstance(value, str):
                value = re.sub(r"alert:(\d+):", lambda m: f"alert:{key_of[int(m[1])]}:", value)
                return re.sub(r"run:(\d+)", lambda m: run_of[int(m[1])], value)
            return value

        def row(obj: Any, skip: set[str]) -> Row:
            table: Table = obj.__table__
            values = {c.name: getattr(obj, c.name) for c in table.columns if c.name not in skip}
            if values.get("alert_id") is not None:
                values["alert_id"] = key_of[values["alert_id"]]
            if "idempotency_key" in values:
                values["idempotency_key"] = named(values["idempotency_key"])
            for name in ("detail", "payload"):
                if isinstance(values.get(name), dict):
                    values[name] = _named_json(values[name], key_of, run_of)
            return values

        # Alerts in creation order; events and deliveries in any order (one statement's CTEs
        # insert in an order of the server's choosing, and no rule depends on it).
        return {
            "alerts": [row(a, {"id", "search_id"}) for a in alerts],
            "events": sorted((row(e, {"id"}) for e in events), key=repr),
            "deliveries": sorted((row(d, {"id"}) for d in deliveries), key=repr),
            "runs": [row(r, _RUN_TIMING) for r in runs],
            "search": [
                {
                    "last_window_end": search.last_window_end,
                    "consecutive_failures": search.consecutive_failures,
                    "failure_notified": search.failure_notified,
                }
            ],
        }


def _named_json(value: dict[str, Any], key_of: dict[int, str], run_of: dict[int, str]) -> Row:
    named = dict(value)
    if "run_id" in named:
        named["run_id"] = run_of.get(named["run_id"], named["run_id"])
    if "burst_alert_ids" in named:
        named["burst_alert_ids"] = [key_of[i] for i in named["burst_alert_ids"]]
    if "search_id" in named:
        named["search_id"] = "the search"
    return named


# ------------------------------------------------------------------ new alerts


def test_new_alerts_their_events_and_one_post_each(runtime, twins):
    # One alert renders its title, the other keeps a template error in its CREATED event.
    hits = [hit("1", 5, user="bob", n="x"), hit("2", 4, user="eve", n=1), hit("3", 3, user="eve")]
    ids = twins(hits, key_fields=["user"], title="{{ n + 1 }}")
    both(runtime, ids, now=T0)
    assert_same_rows(runtime, ids)


def test_a_burst_one_summary_post(runtime, twins):
    ids = twins([hit(str(i), 5, user=f"u{i}") for i in range(8)], key_fields=["user"])
    both(runtime, ids, now=T0)
    assert_same_rows(runtime, ids)


def test_no_channel_no_owner_no_post(runtime, twins):
    ids = twins([hit("1", 5, user="bob")], key_fields=["user"], channel=None, owner=None)
    both(runtime, ids, now=T0)
    assert_same_rows(runtime, ids)


def test_a_count_search_slides_and_does_not_move_the_cursor(runtime, twins):
    ids = twins([], kind="count", condition="count > 3")
    for search_id in ids:
        runs_dataset(search_id).count = 7
    both(runtime, ids, now=T0)
    both(runtime, ids, now=T0 + timedelta(minutes=1))
    assert_same_rows(runtime, ids)


def test_a_truncated_result_moves_the_cursor_to_its_newest_hit(runtime, twins):
    ids = twins([hit(str(i), 10 - i, user=f"u{i % 2}") for i in range(6)], key_fields=["user"])
    for search_id in ids:
        runs_dataset(search_id).cap = 3
    both(runtime, ids, now=T0)
    assert_same_rows(runtime, ids)


# ------------------------------------------------------------------ seen again

STATES = ("posted", "post_pending", "update_pending", "unposted", "resolved")


def test_seen_again_in_every_message_state(runtime, twins):
    """Occurrences, SEEN_AGAIN events and message updates by the pending-delivery rules."""
    ids = twins([hit(str(i), 5, user=u) for i, u in enumerate(STATES)], key_fields=["user"])
    both(runtime, ids, now=T0)
    for search_id in ids:
        _put_in_states(runtime, search_id)
        runs_dataset(search_id).hits += [hit(f"again-{u}", -0.5, user=u) for u in STATES]
    both(runtime, ids, now=T0 + timedelta(minutes=1))
    assert_same_rows(runtime, ids)


def _put_in_states(runtime: Runtime, search_id: int) -> None:
    with runtime.sessions.begin() as session:
        by_user = {
            a.content["user"]: a.id
            for a in session.scalars(select(Alert).where(Alert.search_id == search_id))
        }
        posted = [by_user["posted"], by_user["update_pending"]]
        moved = update(Alert).values(updated_at=T0)  # a fixed clock: the twins must match
        session.execute(moved.where(Alert.id.in_(posted)).values(channel="C_ALERTS"))
        session.execute(
            moved.where(Alert.id == by_user["resolved"]).values(
                state=AlertState.RESOLVED, resolution=Resolution.NOT_AN_ISSUE
            )
        )
        session.execute(
            update(Delivery)
            .where(Delivery.alert_id.in_([*posted, by_user["unposted"]]))
            .values(status=DeliveryStatus.SENT, message_ts="1.1")
        )
        alert_id = by_user["update_pending"]
        session.add(
            Delivery(
                idempotency_key=f"alert:{alert_id}:update:earlier",
                kind=DeliveryKind.UPDATE,
                status=DeliveryStatus.PENDING,
                channel="C_ALERTS",
                alert_id=alert_id,
                created_at=T0,
                next_attempt_at=T0,
            )
        )


def test_a_key_a_concurrent_writer_opened_is_folded_the_same_way(runtime, twins):
    ids = twins([hit("1", 5, user="bob"), hit("2", 4, user="eve")], key_fields=["user"])
    for search_id in ids:
        run_id = start_manual_run(runtime, search_id, T0)
        with runtime.engine.connect() as connection, runtime.sessions(bind=connection) as session:
            search = session.get(Search, search_id)
            run = session.get(SearchRun, run_id)
            assert search is not None and run is not None
            spec = SearchSpec(search_id, definition_from_search(search))
            window = TimeWindow(T0 - timedelta(minutes=15), T0)
            result = open_source(runtime, spec.defn, search_id).run(window)
            plan = decide(session, spec, result, window, T0, burst_threshold=5)
            session.commit()
            with runtime.sessions.begin() as other:  # another writer wins "bob" meanwhile
                other.add(
                    Alert(
                        search_id=search_id,
                        dedupe_key="user=bob",
                        title="theirs",
                        **dict.fromkeys(("first_seen", "last_seen", "created_at"), T0),
                        **dict.fromkeys(("updated_at", "last_notified_at"), T0),
                    )
                )
            results = RunResults(search, run, plan, window, result, True, T0, 0.0)
            store_results(session, connection, results, thread_replies=True)
            assert (run.alerts_new, run.alerts_updated) == (1, 1)
    assert_same_rows(runtime, ids)


def runs_dataset(search_id: int) -> Dataset:
    """The memory dataset a search reads."""
    return MemorySource.dataset(_dataset_names[search_id])
