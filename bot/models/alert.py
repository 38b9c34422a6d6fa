"""Alerts and their audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, enum_column, utcnow
from bot.models.enums import AlertAction, AlertState, Priority, Resolution


class Alert(Base):
    """Something a search found that a person should look at.

    One open (not resolved) alert exists per (search, dedupe key): a partial unique
    index makes the database itself refuse a second one, whatever the code does.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    state: Mapped[AlertState] = mapped_column(enum_column(AlertState), default=AlertState.NEW)
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.MEDIUM)
    escalated: Mapped[bool] = mapped_column(default=False)
    assignee: Mapped[str | None] = mapped_column(String(64))

    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)  # fields of the hit/bucket
    link: Mapped[str | None] = mapped_column(Text)  # back to the raw data

    occurrences: Mapped[int] = mapped_column(default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    snoozed_until: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()  # first assign/resolve
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    last_notified_at: Mapped[datetime | None] = mapped_column()  # for the repeat interval
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Where the alert lives in Slack (filled in when its post is delivered).
    channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    burst_ts: Mapped[str | None] = mapped_column(String(32))  # summary post it was listed under
    delivery_failed: Mapped[bool] = mapped_column(default=False)

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.state != AlertState.RESOLVED

    __table_args__ = (
        Index(
            "uq_alerts_open_search_key",
            "search_id",
            "dedupe_key",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_alerts_state_created_at", "state", "created_at"),
        # The snoozes that ended, found without scanning every open alert.
        Index(
            "ix_alerts_snoozed_until",
            "snoozed_until",
            sqlite_where=text("snoozed_until IS NOT NULL"),
            postgresql_where=text("snoozed_until IS NOT NULL"),
        ),
        Index("ix_alerts_search_id_created_at", "search_id", "created_at"),
        Index("ix_alerts_assignee_state", "assignee", "state"),
        Index("ix_alerts_resolved_at", "resolved_at"),
        Index("ix_alerts_channel_message_ts", "channel", "message_ts"),
        # Digest (migration 0002): per-priority range counts answered from the index alone.
        Index("ix_alerts_priority_created_at", "priority", "created_at"),
        Index("ix_alerts_priority_acknowledged_at", "priority", "acknowledged_at", "created_at"),
        Index("ix_alerts_priority_resolved_at", "priority", "resolved_at", "created_at"),
        Index(
            "ix_alerts_resolved_at_search_id",
            "resolved_at",
            "search_id",
            "resolution",
            "resolved_by",
        ),
        Index(
            "ix_alerts_search_id_created_at_occurrences", "search_id", "created_at", "occurrences"
        ),
    )


class AlertEvent(Base):
    """One row per action or notification on an alert: the audit log and digest source."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    action: Mapped[AlertAction] = mapped_column(enum_column(AlertAction))
    actor: Mapped[str] = mapped_column(String(64), default="system")  # Slack user ID or "system"
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    alert: Mapped[Alert] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_alert_events_alert_id_at", "alert_id", "at"),
        Index("ix_alert_events_action_at", "action", "at"),
    )
