"""Suppressions: Alertmanager's silences. Matching hits are skipped but counted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class Suppression(Base):
    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: every search. A key matches alerts with that dedupe key; a match
    # (field -> value) matches hits whose fields all equal those values.
    search_id: Mapped[int | None] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    match: Mapped[dict[str, Any] | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()  # None: until lifted
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    suppressed_count: Mapped[int] = mapped_column(default=0)

    def is_active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.expires_at is None or self.expires_at > now)

    __table_args__ = (Index("ix_suppressions_search_id_expires_at", "search_id", "expires_at"),)
