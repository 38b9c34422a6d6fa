"""Worker heartbeats: who is alive, so the work of a dead worker is taken back in seconds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class WorkerHeartbeat(Base):
    """One row per worker (a search-run executor or a delivery loop), beaten every few seconds.

    ``name`` is what the worker writes into the rows it claims (``search_runs.worker``,
    the prefix of ``deliveries.claimed_by``), so a claim leads to its heartbeat.
    """

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))  # "runs" or "deliveries"
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
