"""Searches, their revision history and their runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, enum_column, utcnow
from bot.models.enums import ConditionOp, Priority, RunStatus


class Search(Base):
    """A scheduled query whose results become alerts."""

    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str | None] = mapped_column(String(64))  # Slack user ID
    channel: Mapped[str | None] = mapped_column(String(64))  # Slack channel ID for its alerts
    source: Mapped[str] = mapped_column(String(64))  # entry-point name in "411.searches"
    source_config: Mapped[dict[str, Any]] = mapped_column(default=dict)

    schedule: Mapped[str] = mapped_column(String(100))  # "every 5m" or a cron expression
    lookback_seconds: Mapped[int] = mapped_column(default=900)
    delay_seconds: Mapped[int] = mapped_column(default=0)  # wait for late-indexed documents
    max_catchup_seconds: Mapped[int] = mapped_column(default=86400)
    timeout_seconds: Mapped[int] = mapped_column(default=60)

    condition_op: Mapped[ConditionOp] = mapped_column(
        enum_column(ConditionOp), default=ConditionOp.ANY
    )
    condition_threshold: Mapped[int] = mapped_column(default=0)
    key_fields: Mapped[list[str]] = mapped_column(default=list)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.MEDIUM)
    tags: Mapped[list[str]] = mapped_column(default=list)
    title_template: Mapped[str] = mapped_column(Text, default="")
    body_template: Mapped[str] = mapped_column(Text, default="")
    link_template: Mapped[str | None] = mapped_column(Text)  # back to the raw data
    runbook_url: Mapped[str | None] = mapped_column(Text)
    oncall_group: Mapped[str | None] = mapped_column(String(64))  # user group ID, for escalation
    restricted_to: Mapped[list[str]] = mapped_column(default=list)

    renotify_seconds: Mapped[int | None] = mapped_column()  # repeat interval; None = never
    autoclose_seconds: Mapped[int | None] = mapped_column()  # close alerts not seen for this long
    auto_resolve: Mapped[bool] = mapped_column(default=False)  # resolve when condition clears
    failure_threshold: Mapped[int] = mapped_column(default=3)  # tell the owner after N failures
    push_token_hash: Mapped[str | None] = mapped_column(String(128))
    # Where an imported search came from ("sigma:<rule id>"): a re-import updates this search.
    origin: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)

    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()  # soft delete keeps alert history

    # Scheduling state, owned by the scheduler and runner.
    last_window_end: Mapped[datetime | None] = mapped_column()  # end of last successful window
    next_run_at: Mapped[datetime | None] = mapped_column()
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failure_notified: Mapped[bool] = mapped_column(default=False)

    revisions: Mapped[list[SearchRevision]] = relationship(
        back_populates="search", order_by="SearchRevision.version", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_searches_enabled_next_run_at", "enabled", "next_run_at"),
        Index("ix_searches_origin", "origin"),
    )


class SearchRevision(Base):
    """A snapshot of a search as it was after one change: who, when, why."""

    __tablename__ = "search_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")

    search: Mapped[Search] = relationship(back_populates="revisions")

    __table_args__ = (UniqueConstraint("search_id", "version"),)


class SearchRun(Base):
    """One execution of a search over one window; the unique key stops a run executing twice."""

    __tablename__ = "search_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column()
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus), default=RunStatus.PENDING)
    window_start: Mapped[datetime | None] = mapped_column()
    window_end: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column()
    hits: Mapped[int] = mapped_column(default=0)
    alerts_new: Mapped[int] = mapped_column(default=0)
    alerts_updated: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        UniqueConstraint("search_id", "scheduled_for"),
        Index("ix_search_runs_status_scheduled_for", "status", "scheduled_for"),
        Index("ix_search_runs_search_id_started_at", "search_id", "started_at"),
        # Runs of one search never overlap: the database refuses a second running run.
        Index(
            "uq_search_runs_one_running",
            "search_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
