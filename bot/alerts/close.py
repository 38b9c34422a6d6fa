"""Resolve an alert automatically (autoclose, auto-resolve): state, event, message, thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.models import Alert, AlertEvent, AlertState, Delivery, DeliveryKind, Resolution
from bot.models.base import SYSTEM
from bot.pipeline.plan import Closing
from bot.text.escape import code
from bot.text.refs import Ref


def close_alert(
    session: Session, run_id: int, closing: Closing, now: datetime, thread_replies: bool
) -> None:
    alert = session.get(Alert, closing.alert_id)
    if alert is None or alert.state == AlertState.RESOLVED:
        return  # resolved by a person since the plan was made
    alert.state = AlertState.RESOLVED
    alert.resolution = closing.resolution
    alert.resolved_at = now
    alert.resolved_by = SYSTEM
    alert.updated_at = now
    detail = {"run_id": run_id, "reason": closing.reason, "resolution": closing.resolution.value}
    session.add(
        AlertEvent(alert_id=alert.id, action=closing.action, actor=SYSTEM, at=now, detail=detail)
    )
    outbox.enqueue_alert_update(session, alert)
    parent = None if alert.message_ts else post_delivery_id(session, alert.id)
    # The all-clear of an auto-resolve reaches the channel (a broadcast reply), so whoever
    # the alert paged sees it; thread_replies off still sends that one.
    all_clear = closing.resolution == Resolution.CLEARED
    if (thread_replies or all_clear) and (alert.message_ts or parent):
        text = f"✅ Resolved automatically ({closing.resolution.label}): {closing.reason}."
        if all_clear:
            text = f"✅ All clear · {Ref.ALERT(alert.id)} {code(alert.title or alert.dedupe_key, 200)}: {closing.reason}."
        outbox.enqueue(
            session,
            key=Keys.ALERT_CLOSED_REPLY.build(
                alert_id=alert.id, action=closing.action.value, epoch=int(now.timestamp())
            ),
            kind=DeliveryKind.THREAD_REPLY,
            channel=alert.channel or "",
            payload={"text": text, "broadcast": all_clear, "details": True},
            alert_id=alert.id,
            thread_ts=alert.message_ts,
            parent_delivery_id=parent,
        )


def post_delivery_id(session: Session, alert_id: int) -> int | None:
    """The delivery that posts (or posted) the alert: a thread reply's parent until it is sent."""
    return session.scalar(
        select(Delivery.id)
        .where(Delivery.alert_id == alert_id, Delivery.kind == DeliveryKind.POST)
        .limit(1)
    )
