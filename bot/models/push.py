"""Events other systems pushed to a push search, waiting for its next run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class PushEvent(Base):
    __tablename__ = "push_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column()

    __table_args__ = (Index("ix_push_events_search_id_received_at", "search_id", "received_at"),)
