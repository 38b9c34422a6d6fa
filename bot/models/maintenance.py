"""Maintenance windows: a planned silence with a start and an end, over several searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class MaintenanceWindow(Base):
    """Alerts found between ``starts_at`` and ``ends_at`` by the searches it covers are
    recorded as suppressed and counted, not posted. It covers every search, or the
    searches it names, or the searches carrying any of its tags."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    everything: Mapped[bool] = mapped_column(default=False)
    search_ids: Mapped[list[int]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    suppressed_count: Mapped[int] = mapped_column(default=0)
    # When its start and end were announced where its searches post (None: not yet).
    start_announced_at: Mapped[datetime | None] = mapped_column()
    end_announced_at: Mapped[datetime | None] = mapped_column()

    def covers(self, search_id: int | None, tags: Sequence[str]) -> bool:
        return window_covers(self.everything, self.search_ids, self.tags, search_id, tags)

    __table_args__ = (Index("ix_maintenance_windows_ends_at_starts_at", "ends_at", "starts_at"),)


def window_covers(
    everything: bool,
    search_ids: Sequence[int] | None,
    window_tags: Sequence[str] | None,
    search_id: int | None,
    tags: Sequence[str],
) -> bool:
    """Whether a window over these searches and tags (or everything) covers a search."""
    if everything:
        return True
    if search_id is not None and search_id in (search_ids or []):
        return True
    return bool(set(window_tags or []) & set(tags))
