"""An ended snooze is cleared once, noted, and the message refreshed; a firing alert still renotifies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.alerts.actions import ActionContext, snooze, unsnooze
from bot.alerts.permissions import Actor, StaticDirectory
from bot.alerts.snooze_expiry import expire_snoozes
from bot.config import Settings
from bot.db import session_factory
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
)
from bot.runs.runner import run_search
from bot.runs.worker import Worker
from bot.runtime import Runtime
from searches.base import Hit
from tests.memory_source import T0, create_memory_search
from tests.runs.test_worker import wait_until

MIN = timedelta(minutes=1)


@pytest.fixture
def make_search_pg(pg_engine):
    settings = Settings(database_url=str(pg_engine.url), burst_threshold=5)
    runtime = Runtime(settings=settings, engine=pg_engine)
    return runtime, lambda name, **fields: create_memory_search(runtime, name, **fields)


def posted_alert(runtime: Runtime, make_search, dataset) -> tuple[int, int]:
    """A search with one open alert whose message is in Slack (its deliveries sent)."""
    name, data = dataset
    data.hits = [Hit("1", T0 - MIN, {"user": "bob"})]
    search_id = make_search(name, key_fields=["user"])
    run_search(runtime, search_id, now=T0)
    with runtime.sessions.begin() as session:
        alert_id = session.scalars(select(Alert.id)).one()
        session.execute(update(Alert).values(channel="C_ALERTS", message_ts="1.1"))
    mark_sent(runtime)
    return search_id, alert_id


def mark_sent(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(Delivery).values(status=DeliveryStatus.SENT))


def snooze_for(runtime: Runtime, alert_id: int, seconds: int, now: datetime) -> None:
    with runtime.sessions.begin() as session:
        ctx = ActionContext(session, runtime.settings, StaticDirectory(), Actor("U_ALICE"), now)
        snooze(ctx, alert_id, seconds)
    mark_sent(runtime)


def rows(runtime: Runtime, model, *conditions) -> list:
    with runtime.sessions() as session:
        return list(session.scalars(select(model).where(*conditions).order_by(model.id)))


def test_an_ended_snooze_is_cleared_once_and_its_message_refreshed(runtime, dataset, make_search):
    _search_id, alert_id = posted_alert(runtime, make_search, dataset)
    snooze_for(runtime, alert_id, 600, T0 + MIN)  # until T0 + 11m
    with runtime.sessions.begin() as session:
        assert expire_snoozes(session, T0 + 5 * MIN) == []  # still snoozed
    with runtime.sessions.begin() as session:
        assert expire_snoozes(session, T0 + 12 * MIN) == [alert_id]
    with runtime.sessions.begin() as session:
        assert expire_snoozes(session, T0 + 13 * MIN) == []  # nothing fires twice
    [alert] = rows(runtime, Alert)
    assert alert.snoozed_until is None
    [event] = rows(runtime, AlertEvent, AlertEvent.action == AlertAction.UNSNOOZED)
    assert (event.actor, event.detail["reason"]) == ("system", "snooze ended")
    assert event.detail["until"].startswith((T0 + 11 * MIN).isoformat()[:19])
    pending = rows(runtime, Delivery, Delivery.status == DeliveryStatus.PENDING)
    assert [(d.kind, d.alert_id) for d in pending] == [(DeliveryKind.UPDATE, alert_id)]


def test_an_alert_still_firing_after_the_worker_ended_its_snooze_renotifies_once(
    runtime, dataset, make_search
):
    search_id, alert_id = posted_alert(runtime, make_search, dataset)
    snooze_for(runtime, alert_id, 600, T0 + MIN)
    with runtime.sessions.begin() as session:
        expire_snoozes(session, T0 + 12 * MIN)
    data = dataset[1]
    data.hits.append(Hit("2", T0 + 12 * MIN + timedelta(seconds=30), {"user": "bob"}))
    run = run_search(runtime, search_id, now=T0 + 13 * MIN)
    assert run.alerts_updated == 1
    [renotified] = rows(runtime, AlertEvent, AlertEvent.action == AlertAction.RENOTIFIED)
    assert renotified.detail == {"reason": "snooze ended"}
    data.hits.append(Hit("3", T0 + 13 * MIN + timedelta(seconds=30), {"user": "bob"}))
    run_search(runtime, search_id, now=T0 + 14 * MIN)  # firing on: no second announcement
    assert len(rows(runtime, AlertEvent, AlertEvent.action == AlertAction.RENOTIFIED)) == 1
    assert len(rows(runtime, AlertEvent, AlertEvent.action == AlertAction.UNSNOOZED)) == 1


def test_a_snooze_a_person_ended_does_not_renotify(runtime, dataset, make_search):
    search_id, alert_id = posted_alert(runtime, make_search, dataset)
    snooze_for(runtime, alert_id, 600, T0 + MIN)
    with runtime.sessions.begin() as session:
        ctx = ActionContext(
            session, runtime.settings, StaticDirectory(), Actor("U_ALICE"), T0 + 2 * MIN
        )
        unsnooze(ctx, alert_id)
    dataset[1].hits.append(Hit("2", T0 + 2 * MIN, {"user": "bob"}))
    run_search(runtime, search_id, now=T0 + 3 * MIN)
    assert rows(runtime, AlertEvent, AlertEvent.action == AlertAction.RENOTIFIED) == []


def test_two_workers_expiring_at_once_on_postgres_unsnooze_an_alert_once(
    pg_engine, dataset, make_search_pg
):
    runtime, make = make_search_pg
    _search_id, alert_id = posted_alert(runtime, make, dataset)
    snooze_for(runtime, alert_id, 600, T0 + MIN)
    sessions = session_factory(pg_engine)
    first = sessions()
    second_result: list[list[int]] = []
    try:
        assert expire_snoozes(first, T0 + 12 * MIN) == [alert_id]  # holds the row, uncommitted

        def second() -> None:
            with sessions.begin() as other:
                second_result.append(expire_snoozes(other, T0 + 12 * MIN))

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the first one's row lock
        first.commit()
        thread.join(10)
    finally:
        first.close()
    assert second_result == [[]]
    assert len(rows(runtime, AlertEvent, AlertEvent.action == AlertAction.UNSNOOZED)) == 1


def test_the_worker_holding_the_lease_ends_snoozes(runtime, dataset, make_search):
    posted_alert(runtime, make_search, dataset)
    with runtime.sessions.begin() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(Alert).values(snoozed_until=past))
    worker = Worker(runtime, threads=1, poll_interval=0.2, sync_interval=0.1, snooze_interval=0)
    worker.start()
    try:
        assert wait_until(lambda: rows(runtime, Alert)[0].snoozed_until is None, timeout=15)
    finally:
        worker.stop()
    assert len(rows(runtime, AlertEvent, AlertEvent.action == AlertAction.UNSNOOZED)) == 1
