"""The picture an operator needs, read from the database: the same for ``411 status``,
``/metrics``, ``/readyz`` and the admins' App Home.

Also the one action on it: re-send deliveries that were given up on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.deliveries.outcomes import AMBIGUOUS
from bot.heartbeat import DEAD_AFTER
from bot.models import (
    Alert,
    Delivery,
    DeliveryStatus,
    RunStatus,
    SearchRun,
    WorkerHeartbeat,
    utcnow,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

GIVEN_UP_SHOWN = 50  # given-up deliveries listed (the count is always complete)


@dataclass
class Backlog:
    pending: int = 0  # never tried yet
    retrying: int = 0  # tried, waiting for the next try
    sending: int = 0
    given_up: int = 0
    oldest_age_seconds: float = 0.0  # of the oldest delivery not yet sent

    def as_labels(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "retrying": self.retrying,
            "sending": self.sending,
            "given_up": self.given_up,
        }


@dataclass(frozen=True)
class GivenUp:
    id: int
    kind: str
    channel: str
    alert_id: int | None
    attempts: int
    created_at: datetime
    error: str


@dataclass(frozen=True)
class WorkerRow:
    name: str
    role: str
    beat_age_seconds: float

    @property
    def alive(self) -> bool:
        return self.beat_age_seconds <= DEAD_AFTER


@dataclass
class Status:
    now: datetime
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    deliveries: Backlog = field(default_factory=Backlog)
    given_up: list[GivenUp] = field(default_factory=list)
    workers: list[WorkerRow] = field(default_factory=list)
    runs_last_hour: dict[str, int] = field(default_factory=dict)
    running: int = 0

    @property
    def workers_alive(self) -> dict[str, int]:
        alive: Counter[str] = Counter()
        for worker in self.workers:
            if worker.alive:
                alive[worker.role] += 1
        return dict(alive)

    @property
    def lease_holder(self) -> str | None:
        return next((w.name for w in self.workers if w.role == "scheduler" and w.alive), None)


def read_status(runtime: Runtime, now: datetime | None = None) -> Status:
    now = now or utcnow()
    status = Status(now)
    with runtime.sessions() as session:
        for state, priority, count in session.execute(
            select(Alert.state, Alert.priority, func.count()).group_by(Alert.state, Alert.priority)
        ):
            status.alerts[(state.value, priority.value)] = count
        status.deliveries = _backlog(session, now)
        status.given_up = [
            GivenUp(
                row.id,
                row.kind.value,
                row.channel,
                row.alert_id,
                row.attempts,
                row.created_at,
                (row.last_error or "").removeprefix(AMBIGUOUS),
            )
            for row in session.scalars(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.FAILED)
                .order_by(Delivery.id.desc())
                .limit(GIVEN_UP_SHOWN)
            )
        ]
        status.workers = [
            WorkerRow(name, role, (now - beat_at).total_seconds())
            for name, role, beat_at in session.execute(
                select(
                    WorkerHeartbeat.name, WorkerHeartbeat.role, WorkerHeartbeat.beat_at
                ).order_by(WorkerHeartbeat.name)
            )
        ]
        hour_ago = now - timedelta(hours=1)
        for run_status, count in session.execute(
            select(SearchRun.status, func.count())
            .where(SearchRun.finished_at >= hour_ago)
            .group_by(SearchRun.status)
        ):
            status.runs_last_hour[run_status.value] = count
        status.running = (
            session.scalar(select(func.count()).where(SearchRun.status == RunStatus.RUNNING)) or 0
        )
    return status


def _backlog(session: Session, now: datetime) -> Backlog:
    backlog = Backlog()
    # By attempts itself: Postgres refuses a GROUP BY on "attempts > $2" when the
    # select says "attempts > $1" (a bound parameter each).
    rows = session.execute(
        select(Delivery.status, Delivery.attempts, func.count(), func.min(Delivery.created_at))
        .where(
            Delivery.status.in_(
                [DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED]
            )
        )
        .group_by(Delivery.status, Delivery.attempts)
    ).all()
    oldest: datetime | None = None
    for state, attempts, count, first in rows:
        if state == DeliveryStatus.FAILED:
            backlog.given_up += count
            continue
        if state == DeliveryStatus.SENDING:
            backlog.sending += count
        elif attempts > 0:
            backlog.retrying += count
        else:
            backlog.pending += count
        oldest = first if oldest is None or first < oldest else oldest
    backlog.oldest_age_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return backlog


def ready(runtime: Runtime, max_backlog_age: float) -> tuple[bool, str]:
    """Readiness: the database answers and the delivery backlog is not older than allowed."""
    try:
        with runtime.sessions() as session:
            backlog = _backlog(session, utcnow())
    except Exception as exc:
        return False, f"database unreachable: {(str(exc).splitlines() or [''])[0][:200]}"
    if backlog.oldest_age_seconds > max_backlog_age:
        return False, (
            f"delivery backlog {backlog.oldest_age_seconds:.0f}s old "
            f"(more than {max_backlog_age:.0f}s)"
        )
    return True, "ok"


def resend(runtime: Runtime, ids: list[int] | None = None) -> int:
    """Send given-up deliveries again (all of them: ``ids`` None). Returns how many.

    Each gets a fresh retry horizon. An ambiguous one (Slack may have it) is still
    looked up by its key before it is sent, so a re-send never posts twice.
    """
    now = utcnow()
    with runtime.sessions.begin() as session:
        query = select(Delivery).where(Delivery.status == DeliveryStatus.FAILED)
        if ids is not None:
            query = query.where(Delivery.id.in_(ids))
        rows = list(session.scalars(query.with_for_update()))
        for row in rows:
            row.status = DeliveryStatus.PENDING
            row.attempts = 0
            row.retry_since = now
            row.next_attempt_at = now
            row.claimed_by = None
        alert_ids = [row.alert_id for row in rows if row.alert_id is not None]
        if alert_ids:
            session.execute(
                update(Alert).where(Alert.id.in_(alert_ids)).values(delivery_failed=False)
            )
    return len(rows)
