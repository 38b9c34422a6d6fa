"""Rule 5, renotify: a still-firing alert is announced again after the repeat interval,
or when its snooze ended; a snoozed alert stays silent until then."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.transitions import post_delivery_id
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.models import Alert, AlertAction, AlertEvent, DeliveryKind, Search
from bot.models.base import SYSTEM
from bot.pipeline.plan import SeenAgain


def renotify_reason(alert: Any, renotify_seconds: int | None, now: datetime) -> str | None:
    if alert.snoozed_until is not None:
        if alert.snoozed_until > now:
            return None  # snoozed: silent
        return "snooze ended"
    if getattr(alert, "snooze_ended", False):  # the worker ended the snooze since the last notice
        return "snooze ended"
    if not renotify_seconds:
        return None
    last = alert.last_notified_at or alert.created_at
    if last is not None and now - last >= timedelta(seconds=renotify_seconds):
        return "repeat interval"
    return None


def renotify_alert(session: Session, search: Search, seen: SeenAgain, now: datetime) -> None:
    """A broadcast thread reply (it reaches the channel), recorded as an event.

    The message itself is refreshed by the seen-again update.
    """
    alert = session.get(Alert, seen.alert_id, populate_existing=True)
    if alert is None or not alert.is_open:
        return
    earlier = session.scalar(
        select(func.count())
        .select_from(AlertEvent)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.action == AlertAction.RENOTIFIED)
    )
    text = (
        f"Still firing ({seen.renotify}): seen {alert.occurrences} times, "
        f"last at {now:%Y-%m-%d %H:%M} UTC."
    )
    outbox.enqueue(
        session,
        key=Keys.ALERT_RENOTIFY.build(alert_id=alert.id, n=(earlier or 0) + 1),
        kind=DeliveryKind.THREAD_REPLY,
        channel=alert.channel or search.channel or search.owner or "",
        payload={"text": text, "broadcast": True},
        alert_id=alert.id,
        thread_ts=alert.message_ts,
        parent_delivery_id=None if alert.message_ts else post_delivery_id(session, alert.id),
    )
    alert.last_notified_at = now
    if alert.snoozed_until is not None and alert.snoozed_until <= now:
        alert.snoozed_until = None
    detail = {"reason": seen.renotify}
    session.add(
        AlertEvent(
            alert_id=alert.id, action=AlertAction.RENOTIFIED, actor=SYSTEM, at=now, detail=detail
        )
    )
