"""Snoozes that ran out: clear them, note it, and refresh the alert's message.

Without this a message keeps saying "Snoozed until 00:35" with an Unsnooze
button long after, when the alert stops firing during its snooze. The worker
calls :func:`expire_snoozes` periodically; any number of workers may: the
conditional UPDATE lets exactly one transaction take each alert (on Postgres a
second one waits for the row, re-checks ``snoozed_until`` and skips it).

A still-firing alert must still be announced again when its snooze ends (rule
5): the pipeline finds the UNSNOOZED event this writes, by "system", newer
than the alert's last notification (:func:`snooze_ended_since_notified`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from bot.alerts import transitions
from bot.models import Alert, AlertAction, AlertEvent, AlertState
from bot.models.base import SYSTEM

BATCH = 500


def expire_snoozes(session: Session, now: datetime, *, limit: int = BATCH) -> list[int]:
    """Unsnooze up to ``limit`` open alerts whose snooze ended; returns their ids."""
    due = session.execute(
        select(Alert.id, Alert.snoozed_until)
        .where(
            Alert.snoozed_until.is_not(None),
            Alert.snoozed_until <= now,
            Alert.state != AlertState.RESOLVED,
        )
        .order_by(Alert.snoozed_until)
        .limit(limit)
    ).all()
    if not due:
        return []
    until = dict(due)
    taken = session.scalars(
        update(Alert)
        .where(Alert.id.in_(until), Alert.snoozed_until.is_not(None), Alert.snoozed_until <= now)
        .values(snoozed_until=None, updated_at=now)
        .returning(Alert.id)
        .execution_options(synchronize_session=False)
    ).all()
    change = transitions.Change(session, SYSTEM, now)
    for alert_id in taken:
        alert = session.get(Alert, alert_id, populate_existing=True)
        if alert is not None:  # taken by the UPDATE above: the transition's tail is all left
            detail = {"reason": "snooze ended", "until": _iso(until[alert_id])}
            transitions.unsnooze(change, alert, detail)
    return list(taken)


def snooze_ended_since_notified() -> ColumnElement[Any]:
    """True for an alert whose snooze the system ended after it was last notified.

    A correlated EXISTS on the (alert_id, at) index: cheap next to the row it decorates.
    """
    return (
        select(AlertEvent.id)
        .where(
            AlertEvent.alert_id == Alert.id,
            AlertEvent.action == AlertAction.UNSNOOZED,
            AlertEvent.actor == SYSTEM,
            or_(Alert.last_notified_at.is_(None), AlertEvent.at > Alert.last_notified_at),
        )
        .correlate(Alert)
        .exists()
        .label("snooze_ended")
    )


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
