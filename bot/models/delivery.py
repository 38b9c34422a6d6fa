"""The outbox towards Slack: every post, update and thread reply is a row first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, enum_column, utcnow
from bot.models.enums import DeliveryKind, DeliveryStatus


class Delivery(Base):
    """One Slack Web API call to make, made idempotent by ``idempotency_key``.

    A crash between writing the row and calling Slack loses nothing: the row is
    retried. The unique key stops the same notification being enqueued twice.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[DeliveryKind] = mapped_column(enum_column(DeliveryKind))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    channel: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    # A thread reply to a message not yet posted names the delivery that posts it.
    parent_delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)

    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(32))  # what Slack answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # Retries stop when the delivery is older than the horizon, counted from here if set
    # (an operator re-sent it) or else from ``created_at``.
    retry_since: Mapped[datetime | None] = mapped_column()
    # When its last attempt at Slack ended (or its sender was found dead): a look at the
    # channel after this time sees any post that attempt made.
    attempted_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_alert_id", "alert_id"),
    )
