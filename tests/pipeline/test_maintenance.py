"""Maintenance windows through real runs: found during the window is counted, not posted;
the start and the end are announced where the covered searches post."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.alerts.maintenance import Scope, announce_due, cancel_window, schedule_window
from bot.models import Alert, Delivery, DeliveryKind, MaintenanceWindow, Search
from bot.runs.runner import run_search
from bot.runtime import Runtime
from searches.base import Hit
from tests.memory_source import T0


def hit(doc_id: str, minutes_ago: float, **fields: Any) -> Hit:
    return Hit(id=doc_id, timestamp=T0 - timedelta(minutes=minutes_ago), fields=fields)


def schedule(runtime: Runtime, start_min: float, end_min: float, **scope: Any) -> int:
    with runtime.sessions.begin() as session:
        searches = [session.get(Search, i) for i in scope.pop("search_ids", [])]
        window = schedule_window(
            session,
            "U_ALICE",
            T0 + timedelta(minutes=start_min),
            T0 + timedelta(minutes=end_min),
            Scope(searches=[s for s in searches if s], **scope),
            "database failover",
            now=T0 + timedelta(minutes=min(start_min, 0) - 1),
        )
        return window.id


def alert_count(runtime: Runtime, search_id: int) -> int:
    with runtime.sessions() as session:
        return len(session.scalars(select(Alert).where(Alert.search_id == search_id)).all())


def messages(runtime: Runtime) -> list[Delivery]:
    with runtime.sessions() as session:
        query = select(Delivery).where(Delivery.kind == DeliveryKind.MESSAGE).order_by(Delivery.id)
        return list(session.scalars(query))


def test_a_window_over_a_tag_counts_what_it_silences_and_then_lets_alerts_through(
    runtime, dataset, make_search
):
    name, data = dataset
    data.hits = [hit("1", 3, user="bob"), hit("2", 2, user="eve")]
    tagged = make_search(name, key_fields=["user"], tags=["db"])
    other = make_search(name, key_fields=["user"], tags=["web"], channel="C_WEB")
    window_id = schedule(runtime, -10, 30, tags=["db"])

    run = run_search(runtime, tagged, now=T0)
    assert (run.alerts_new, run.suppressed) == (0, 2)
    assert alert_count(runtime, tagged) == 0
    assert run_search(runtime, other, now=T0).alerts_new == 2  # not covered: posted as usual
    with runtime.sessions() as session:
        assert session.get(MaintenanceWindow, window_id).suppressed_count == 2

    data.hits = [hit("3", -30.5, user="bob")]  # found after the window ended
    assert run_search(runtime, tagged, now=T0 + timedelta(minutes=31)).alerts_new == 1


def test_its_start_and_end_are_announced_once_in_each_covered_searchs_channel(
    runtime, dataset, make_search
):
    name, _ = dataset
    first = make_search(name, channel="C_DB")
    second = make_search(name, channel="C_DB")
    make_search(name, channel="C_WEB")  # not covered
    window_id = schedule(runtime, 5, 65, search_ids=[first, second])
    with runtime.sessions.begin() as session:
        assert announce_due(session, T0) == 0  # not started yet
    with runtime.sessions.begin() as session:
        assert announce_due(session, T0 + timedelta(minutes=6)) == 1
        assert announce_due(session, T0 + timedelta(minutes=7)) == 0  # once
    [start] = messages(runtime)
    assert start.channel == "C_DB" and f"M-{window_id} has started" in start.payload["text"]
    with runtime.sessions.begin() as session:
        session.get(MaintenanceWindow, window_id).suppressed_count = 3
        assert announce_due(session, T0 + timedelta(minutes=66)) == 1
    end = messages(runtime)[-1]
    assert end.channel == "C_DB" and "is over" in end.payload["text"]
    assert "3 alerts found during it" in end.payload["text"]


def test_a_cancelled_window_stops_silencing_and_says_so(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 3, user="bob")]
    search_id = make_search(name, key_fields=["user"])
    window_id = schedule(runtime, -10, 60, everything=True)
    with runtime.sessions.begin() as session:
        announce_due(session, T0)
        cancel_window(session, session.get(MaintenanceWindow, window_id), "U_ALICE", T0)
        announce_due(session, T0 + timedelta(seconds=1))
    assert "was cancelled" in messages(runtime)[-1].payload["text"]
    assert run_search(runtime, search_id, now=T0 + timedelta(minutes=1)).alerts_new == 1
