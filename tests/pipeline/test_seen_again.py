"""Alerts seen again: occurrences, events and message updates, on SQLite and Postgres.

Postgres writes them in one statement (bot/pipeline/seen_pg.py), SQLite a statement
per step; both must follow the same rules, so every case runs on both.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.definitions.search import definition_from_search
from bot.definitions.store import find_search
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Resolution,
)
from bot.pipeline import SearchSpec, apply_plan, decide
from bot.runs.runner import open_source, run_search
from bot.runtime import Runtime
from searches.base import TimeWindow
from tests.memory_source import T0

from .test_pipeline import hit

USERS = ("posted", "post_pending", "update_pending", "unposted")


def _first_run(runtime: Runtime, data, make_search, name: str) -> dict[str, int]:
    """One alert per user, then each put in the state its name says."""
    data.hits = [hit(str(i), 5, user=user) for i, user in enumerate(USERS)]
    search_id = make_search(name, key_fields=["user"])
    run_search(runtime, search_id, now=T0)
    with runtime.sessions.begin() as session:
        ids = {
            a.content["user"]: a.id
            for a in session.scalars(select(Alert).where(Alert.search_id == search_id))
        }
        posted = [ids["posted"], ids["update_pending"]]
        session.execute(update(Alert).where(Alert.id.in_(posted)).values(channel="C_ALERTS"))
        sent = [*posted, ids["unposted"]]  # "unposted": as a burst member, no post of its own
        session.execute(
            update(Delivery)
            .where(Delivery.alert_id.in_(sent))
            .values(status=DeliveryStatus.SENT, message_ts="1.1")
        )
        session.add(
            Delivery(
                idempotency_key=f"alert:{ids['update_pending']}:update:earlier",
                kind=DeliveryKind.UPDATE,
                status=DeliveryStatus.PENDING,
                channel="C_ALERTS",
                alert_id=ids["update_pending"],
            )
        )
    ids["search"] = search_id
    return ids


def test_seen_again_adds_occurrences_records_events_and_queues_one_update_per_message(
    runtime, dataset, make_search
):
    name, data = dataset
    ids = _first_run(runtime, data, make_search, name)
    data.hits += [hit(f"again-{user}", -0.5, user=user) for user in USERS for _ in range(2)]
    second = run_search(runtime, ids["search"], now=T0 + timedelta(minutes=1))
    assert (second.alerts_new, second.alerts_updated) == (0, 4)
    with runtime.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.search_id == ids["search"])).all()
        assert {a.content["user"]: a.occurrences for a in alerts} == dict.fromkeys(USERS, 3)
        assert {a.last_seen for a in alerts} == {T0 + timedelta(minutes=1)}
        seen = session.scalars(
            select(AlertEvent).where(AlertEvent.action == AlertAction.SEEN_AGAIN)
        ).all()
        assert sorted(e.alert_id for e in seen) == sorted(ids[u] for u in USERS)
        assert {(e.actor, e.detail["run_id"], e.detail["occurrences"]) for e in seen} == {
            ("system", second.id, 2)
        }
        queued = session.execute(
            select(Delivery.alert_id, Delivery.idempotency_key, Delivery.channel)
            .where(
                Delivery.kind == DeliveryKind.UPDATE,
                Delivery.created_at == T0 + timedelta(minutes=1),
            )
            .order_by(Delivery.alert_id)
        ).all()
    # A posted message is updated; a post still pending renders the state when sent; an
    # update already pending will; an alert with no message of its own has none to update.
    expected = sorted(
        (ids[u], f"alert:{ids[u]}:update:run:{second.id}", channel)
        for u, channel in (("posted", "C_ALERTS"), ("post_pending", ""))
    )
    assert [tuple(row) for row in queued] == expected


def test_an_alert_resolved_between_plan_and_write_is_not_bumped_or_updated(
    runtime, dataset, make_search
):
    name, data = dataset
    ids = _first_run(runtime, data, make_search, name)
    data.hits += [hit("again", -0.5, user="posted"), hit("again2", -0.5, user="post_pending")]
    now = T0 + timedelta(minutes=1)
    with runtime.sessions() as session:
        search = find_search(session, str(ids["search"]))
        spec = SearchSpec(search.id, definition_from_search(search))
        window = TimeWindow(T0, now)
        result = open_source(runtime, spec.defn, search.id).run(window)
        plan = decide(session, spec, result, window, now, burst_threshold=5)
        assert sorted(s.alert_id for s in plan.seen) == sorted([ids["posted"], ids["post_pending"]])
        with runtime.sessions.begin() as other:  # someone resolves it meanwhile
            other.execute(
                update(Alert)
                .where(Alert.id == ids["posted"])
                .values(state=AlertState.RESOLVED, resolution=Resolution.NOT_AN_ISSUE)
            )
        applied = apply_plan(session, search, 0, plan, now)
        session.commit()
    assert applied.updated == 1
    with runtime.sessions() as session:
        resolved = session.get(Alert, ids["posted"])
        assert resolved is not None and resolved.occurrences == 1
        seen = session.scalars(
            select(AlertEvent.alert_id).where(AlertEvent.action == AlertAction.SEEN_AGAIN)
        ).all()
        assert seen == [ids["post_pending"]]
        updates = session.scalars(
            select(Delivery.alert_id).where(
                Delivery.kind == DeliveryKind.UPDATE, Delivery.created_at == now
            )
        ).all()
        assert updates == [ids["post_pending"]]


def test_a_key_opened_between_plan_and_write_of_a_run_becomes_an_occurrence(
    runtime, dataset, make_search, monkeypatch
):
    """A concurrent writer opens a key after the run read the open alerts: no second alert."""
    import bot.runs.runner

    name, data = dataset
    data.hits = [hit("1", 5, user="bob"), hit("2", 4, user="eve")]
    search_id = make_search(name, key_fields=["user"])
    decide_first = bot.runs.runner.decide

    def decide_then_race(*args, **kwargs):
        plan = decide_first(*args, **kwargs)
        with runtime.sessions.begin() as other:
            other.add(Alert(search_id=search_id, dedupe_key="user=bob", title="theirs"))
        return plan

    monkeypatch.setattr(bot.runs.runner, "decide", decide_then_race)
    run = run_search(runtime, search_id, now=T0)
    with runtime.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.search_id == search_id)).all()
        stored = session.get(type(run), run.id)
        assert stored is not None
        assert (stored.alerts_new, stored.alerts_updated) == (1, 1)
    assert (run.alerts_new, run.alerts_updated) == (1, 1)
    by_key = {a.dedupe_key: (a.title, a.occurrences) for a in alerts}
    assert by_key == {"user=bob": ("theirs", 2), "user=eve": ("eve", 1)}
