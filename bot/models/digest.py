"""Digest subscriptions per channel, and the record that a period's digest was posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, enum_column, utcnow
from bot.models.enums import DigestPeriod


class DigestSubscription(Base):
    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), unique=True)
    time_of_day: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM local
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    weekly: Mapped[bool] = mapped_column(default=False)  # also a summary on Mondays
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestPost(Base):
    """Claimed before posting: the unique key makes a period's digest post exactly once."""

    __tablename__ = "digest_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    period: Mapped[DigestPeriod] = mapped_column(enum_column(DigestPeriod))
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "period", "period_start"),)
