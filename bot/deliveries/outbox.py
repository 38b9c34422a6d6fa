"""Enqueue work for Slack. Every post, update and thread reply is a row first.

These functions only add rows to the caller's session: they commit nothing, so
the delivery is written in the same transaction as the change that caused it.
The delivery loop (``bot/deliveries/loop.py``) sends them later, renders alert
messages from the alert's state at send time, and records what Slack answered.

Payload conventions (``Delivery.payload``):
- POST / UPDATE with ``alert_id``: empty; the message is rendered from the alert.
- POST of a burst summary: ``{"burst_alert_ids": [...], "search_id": N}``.
- THREAD_REPLY: ``{"text": mrkdwn}``; its parent is the alert's message, or the
  message of ``parent_delivery_id`` once that is sent.
- MESSAGE: ``{"text": ..., "blocks": [...]}`` ready to send.
- UPLOAD: ``{"filename", "title", "content_b64", "initial_comment"}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Alert, Delivery, DeliveryKind, DeliveryStatus


def enqueue(
    session: Session,
    *,
    key: str,
    kind: DeliveryKind,
    channel: str,
    payload: dict[str, Any] | None = None,
    alert_id: int | None = None,
    thread_ts: str | None = None,
    parent_delivery_id: int | None = None,
) -> Delivery:
    """Add a delivery unless one with ``key`` exists already; return the row either way."""
    existing = session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if existing is not None:
        return existing
    delivery = Delivery(
        idempotency_key=key,
        kind=kind,
        channel=channel,
        payload=payload or {},
        alert_id=alert_id,
        thread_ts=thread_ts,
        parent_delivery_id=parent_delivery_id,
    )
    try:
        with session.begin_nested():  # a concurrent writer may have won the same key
            session.add(delivery)
    except IntegrityError:
        found = session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
        assert found is not None
        return found
    return delivery


def enqueue_alert_post(
    session: Session, alert: Alert, channel: str, *, reason: str = "new"
) -> Delivery:
    """Post the alert's message; ``reason`` distinguishes a renotification from the first post."""
    session.flush()  # the alert needs its id for the key
    return enqueue(
        session,
        key=f"alert:{alert.id}:post:{reason}",
        kind=DeliveryKind.POST,
        channel=channel,
        alert_id=alert.id,
    )


def enqueue_alert_update(session: Session, alert: Alert) -> Delivery | None:
    """Refresh the alert's message in place. Updates pending for it are folded into one."""
    if not alert.channel and not has_pending_post(session, alert):
        return None  # nothing posted and nothing to post: the post will show the new state
    session.flush()
    pending = session.scalar(
        select(Delivery).where(
            Delivery.alert_id == alert.id,
            Delivery.kind == DeliveryKind.UPDATE,
            Delivery.status == DeliveryStatus.PENDING,
        )
    )
    if pending is not None:
        return pending  # it renders the alert's state when sent, so it carries this change too
    count = session.scalar(
        select(Delivery.id).where(Delivery.alert_id == alert.id).order_by(Delivery.id.desc())
    )
    return enqueue(
        session,
        key=f"alert:{alert.id}:update:{count}:{alert.updated_at.isoformat() if alert.updated_at else ''}",
        kind=DeliveryKind.UPDATE,
        channel=alert.channel or "",
        alert_id=alert.id,
    )


def enqueue_thread_reply(session: Session, alert: Alert, text: str, *, key: str) -> Delivery:
    """A short reply in the alert's thread (who did what, when)."""
    session.flush()
    return enqueue(
        session,
        key=key,
        kind=DeliveryKind.THREAD_REPLY,
        channel=alert.channel or "",
        payload={"text": text},
        alert_id=alert.id,
        thread_ts=alert.message_ts,
    )


def has_pending_post(session: Session, alert: Alert) -> bool:
    """Whether the alert's first post is still waiting in the outbox (or being sent)."""
    return (
        session.scalar(
            select(Delivery.id).where(
                Delivery.alert_id == alert.id,
                Delivery.kind == DeliveryKind.POST,
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            )
        )
        is not None
    )
