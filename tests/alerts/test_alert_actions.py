"""The alert action service functions on SQLite and Postgres: one transaction, or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import actions as alert_actions
from bot.alerts.actions import ActionContext
from bot.alerts.permissions import Actor, StaticDirectory
from bot.config import Settings
from bot.errors import InvalidInput, PermissionDenied
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    Priority,
    Resolution,
    Search,
    utcnow,
)

DIRECTORY = StaticDirectory(
    groups={"S_ADMINS": {"U_ADMIN"}, "S_SEC": {"U_SEC"}},
    channels={"C_ALERTS": {"U_BOB", "U_CAROL", "U_SEC"}},
)


def _setup(db: Session, **search_fields: object) -> int:
    search = Search(
        name="s",
        source="file",
        schedule="every 5m",
        owner="U_OWNER",
        channel="C_ALERTS",
        **search_fields,
    )
    db.add(search)
    db.flush()
    alert = Alert(
        search_id=search.id,
        dedupe_key="k",
        title="t",
        channel="C_ALERTS",
        message_ts="1.1",
        priority=Priority.MEDIUM,
    )
    db.add(alert)
    db.commit()
    return alert.id


def _ctx(db: Session, user: str, **settings: object) -> ActionContext:
    values: dict[str, object] = {"admins": ("S_ADMINS",), **settings}
    return ActionContext(db, Settings(**values), DIRECTORY, Actor(user, "C_ALERTS"))  # type: ignore[arg-type]


def _kinds(db: Session) -> list[DeliveryKind]:
    return [d.kind for d in db.scalars(select(Delivery).order_by(Delivery.id))]


def test_it_writes_the_change_the_event_the_update_and_the_thread_reply_together(
    db: Session,
) -> None:
    alert_id = _setup(db)
    alert = alert_actions.take(_ctx(db, "U_BOB"), alert_id)
    db.commit()
    assert alert.assignee == "U_BOB" and alert.state == AlertState.IN_PROGRESS
    events = db.scalars(select(AlertEvent)).all()
    assert [(e.action, e.actor) for e in events] == [(AlertAction.ASSIGNED, "U_BOB")]
    assert _kinds(db) == [DeliveryKind.UPDATE, DeliveryKind.THREAD_REPLY]
    reply = db.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.THREAD_REPLY)).one()
    assert reply.thread_ts == "1.1" and reply.payload["text"].startswith("<@U_BOB> took it")


def test_it_keeps_quiet_in_the_thread_when_thread_replies_are_off(db: Session) -> None:
    alert_id = _setup(db)
    alert_actions.snooze(_ctx(db, "U_BOB", thread_replies=False), alert_id, 3600)
    db.commit()
    assert _kinds(db) == [DeliveryKind.UPDATE]


def test_it_refuses_outsiders_and_changes_nothing(db: Session) -> None:
    alert_id = _setup(db)
    with pytest.raises(PermissionDenied):
        alert_actions.resolve(_ctx(db, "U_DAVE"), alert_id, Resolution.ACTION_TAKEN)
    db.rollback()
    alert = db.get(Alert, alert_id)
    assert alert is not None and alert.state == AlertState.NEW
    assert db.scalars(select(AlertEvent)).all() == [] and _kinds(db) == []


def test_admins_by_group_and_the_owner_may_act_from_anywhere(db: Session) -> None:
    alert_id = _setup(db)
    alert_actions.add_note(_ctx(db, "U_ADMIN"), alert_id, "admin note")
    alert_actions.add_note(_ctx(db, "U_OWNER"), alert_id, "owner note")
    db.commit()
    assert len(db.scalars(select(AlertEvent)).all()) == 2


def test_a_restricted_search_admits_only_the_named_group(db: Session) -> None:
    alert_id = _setup(db, restricted_to=["S_SEC"])
    with pytest.raises(PermissionDenied):
        alert_actions.take(_ctx(db, "U_BOB"), alert_id)
    db.rollback()
    alert_actions.take(_ctx(db, "U_SEC"), alert_id)
    db.commit()


def test_acknowledged_at_is_the_first_take_assign_or_resolve(db: Session) -> None:
    alert_id = _setup(db)
    ctx = _ctx(db, "U_BOB")
    alert_actions.snooze(ctx, alert_id, 600)
    assert db.get(Alert, alert_id).acknowledged_at is None  # type: ignore[union-attr]
    first = alert_actions.take(ctx, alert_id).acknowledged_at
    later = _ctx(db, "U_CAROL")
    later.now = utcnow() + timedelta(hours=1)
    alert_actions.resolve(later, alert_id, Resolution.ACTION_TAKEN)
    db.commit()
    assert first is not None and db.get(Alert, alert_id).acknowledged_at == first  # type: ignore[union-attr]


def test_reopen_refuses_when_a_newer_alert_for_the_key_is_open(db: Session) -> None:
    alert_id = _setup(db)
    alert_actions.resolve(_ctx(db, "U_BOB"), alert_id, Resolution.TOO_OLD)
    db.commit()
    old = db.get(Alert, alert_id)
    assert old is not None
    db.add(Alert(search_id=old.search_id, dedupe_key="k", title="again"))
    db.commit()
    with pytest.raises(InvalidInput, match="for the same key is open"):
        alert_actions.reopen(_ctx(db, "U_BOB"), alert_id)


def test_escalation_raises_the_priority_step_by_step_and_stops_at_critical(db: Session) -> None:
    alert_id = _setup(db, oncall_group="S_SEC")
    ctx = _ctx(db, "U_BOB", thread_replies=False)
    assert alert_actions.escalate(ctx, alert_id).priority == Priority.HIGH
    assert alert_actions.escalate(ctx, alert_id).priority == Priority.CRITICAL
    with pytest.raises(InvalidInput):
        alert_actions.escalate(ctx, alert_id)
    db.commit()
    replies = db.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.THREAD_REPLY)).all()
    assert len(replies) == 2 and all("<!subteam^S_SEC>" in r.payload["text"] for r in replies)


def test_bulk_resolve_skips_closed_and_refused_alerts_without_undoing_the_rest(db: Session) -> None:
    open_id = _setup(db)
    search = db.scalars(select(Search)).one()
    other_search = Search(name="private", source="file", schedule="every 5m", channel="C_ELSEWHERE")
    db.add(other_search)
    db.flush()
    refused = Alert(search_id=other_search.id, dedupe_key="r", channel="C_ELSEWHERE")
    closed = Alert(search_id=search.id, dedupe_key="c", state=AlertState.RESOLVED)
    db.add_all([refused, closed])
    db.commit()
    result = alert_actions.bulk_resolve(
        _ctx(db, "U_BOB"), [open_id, refused.id, closed.id], Resolution.NOT_AN_ISSUE
    )
    db.commit()
    assert (result.done, result.refused, result.skipped) == ([open_id], [refused.id], [closed.id])
    assert db.get(Alert, refused.id).state == AlertState.NEW  # type: ignore[union-attr]
