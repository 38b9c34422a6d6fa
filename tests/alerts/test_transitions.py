"""One set of transitions for people and the pipeline, on SQLite and Postgres.

Resolving by a person (``actions.resolve``) and by the pipeline (``close.close_alert``:
autoclose, auto-resolve) go through ``transitions.resolve``: both clear the snooze; only a
person acknowledges. Taking from someone names them; a lost race names who won.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import actions as alert_actions
from bot.alerts.actions import ActionContext
from bot.alerts.close import Closing, close_alert
from bot.alerts.permissions import Actor, StaticDirectory
from bot.alerts.transitions import SYSTEM
from bot.config import Settings
from bot.errors import InvalidInput
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

DIRECTORY = StaticDirectory(channels={"C_ALERTS": {"U_BOB", "U_CAROL"}})


def _alert(db: Session, name: str = "s") -> int:
    search = Search(name=name, source="file", schedule="every 5m", owner="U_O", channel="C_ALERTS")
    db.add(search)
    db.flush()
    alert = Alert(
        search_id=search.id,
        dedupe_key="k",
        title="t",
        channel="C_ALERTS",
        message_ts="1.1",
        priority=Priority.MEDIUM,
        snoozed_until=utcnow() + timedelta(hours=1),
    )
    db.add(alert)
    db.commit()
    return alert.id


def _ctx(db: Session, user: str) -> ActionContext:
    return ActionContext(db, Settings(), DIRECTORY, Actor(user, "C_ALERTS"))


def _replies(db: Session) -> list[str]:
    rows = db.scalars(
        select(Delivery).where(Delivery.kind == DeliveryKind.THREAD_REPLY).order_by(Delivery.id)
    )
    return [row.payload["text"] for row in rows]


def test_a_person_and_the_pipeline_resolve_by_the_same_rule(db: Session) -> None:
    by_person, by_pipeline = _alert(db), _alert(db, "another")
    alert_actions.resolve(_ctx(db, "U_BOB"), by_person, Resolution.ACTION_TAKEN, "done")
    closing = Closing(by_pipeline, "k", Resolution.TOO_OLD, AlertAction.AUTOCLOSED, "not seen")
    close_alert(db, 7, closing, utcnow(), thread_replies=True)
    db.commit()
    person, system = db.get(Alert, by_person), db.get(Alert, by_pipeline)
    assert person is not None and system is not None
    for alert in (person, system):
        assert alert.state == AlertState.RESOLVED and alert.resolved_at is not None
        assert alert.snoozed_until is None  # before: autoclose left the snooze behind
    assert person.resolved_by == "U_BOB" and person.acknowledged_at is not None
    # The system closing an alert is not an acknowledgement (mean time to acknowledge).
    assert system.resolved_by == SYSTEM and system.acknowledged_at is None
    events = db.scalars(select(AlertEvent).order_by(AlertEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        (AlertAction.RESOLVED, "U_BOB"),
        (AlertAction.AUTOCLOSED, SYSTEM),
    ]
    assert events[1].detail == {
        "resolution": "too_old",
        "run_id": 7,
        "reason": "not seen",
    }
    person_line, system_line = _replies(db)
    assert person_line.startswith("<@U_BOB> resolved it: *")
    assert system_line == "✅ Resolved automatically (Too old): not seen."


def test_taking_from_someone_names_them_and_a_lost_race_names_the_winner(db: Session) -> None:
    alert_id = _alert(db)
    alert_actions.take(_ctx(db, "U_BOB"), alert_id)
    db.commit()
    # Carol pressed "Take it" on a message that still showed nobody: she lost the race.
    with pytest.raises(InvalidInput, match="<@U_BOB> has A-"):
        alert_actions.take(_ctx(db, "U_CAROL"), alert_id)
    db.rollback()
    alert = db.get(Alert, alert_id)
    assert alert is not None and alert.assignee == "U_BOB"
    # She confirmed taking it from Bob (the button names him).
    alert_actions.take(_ctx(db, "U_CAROL"), alert_id, holder="U_BOB")
    db.commit()
    db.refresh(alert)
    assert alert.assignee == "U_CAROL"
    assert _replies(db)[-1].startswith("<@U_CAROL> took it from <@U_BOB> ·")


def test_assign_accepts_only_people_who_may_act_on_the_alert(db: Session) -> None:
    alert_id = _alert(db)
    with pytest.raises(InvalidInput, match="<@U_DAVE> may not act on A-") as refused:
        alert_actions.assign(_ctx(db, "U_BOB"), alert_id, "U_DAVE")
    assert refused.value.field == "assignee"
    db.rollback()
    alert = db.get(Alert, alert_id)
    assert alert is not None and alert.assignee is None
    assert db.scalars(select(AlertEvent)).all() == []
    alert_actions.assign(_ctx(db, "U_BOB"), alert_id, "U_CAROL")
    db.commit()
    db.refresh(alert)
    assert alert.assignee == "U_CAROL"
