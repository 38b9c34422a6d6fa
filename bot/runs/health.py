"""How the scheduled runs fared over a span: every fire time accounted for.

A fire time becomes a run row (the scheduler), which is claimed and run (the
workers). What a busy or overloaded system hides is told here: runs given up as
missed (left waiting past their fire time while a later one was due), runs not
started yet past their fire time, and how late the others started. ``411 status``
prints it; ``bench/run scheduler`` reads the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import RunStatus, SearchRun
from bot.runs.claims import MISSED_ERROR


@dataclass(frozen=True)
class RunHealth:
    since: datetime
    until: datetime
    due: int  # runs whose fire time lies in [since, until)
    by_status: dict[RunStatus, int]
    missed: int  # given up: a missed evaluation
    waiting: int  # not started yet
    lateness: list[float]  # seconds from fire time to start, of the runs that started

    @property
    def ran(self) -> int:
        return len(self.lateness)

    def lateness_at(self, percent: float) -> float | None:
        if not self.lateness:
            return None
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]

    def lines(self) -> list[str]:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f} s"

        counts = ", ".join(
            f"{status.value} {self.by_status.get(status, 0)}"
            for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT)
        )
        return [
            f"scheduled runs due {self.since:%H:%M:%S}-{self.until:%H:%M:%S} UTC: {self.due}",
            f"  ran                        {self.ran} ({counts})",
            f"  missed (given up, counted) {self.missed}",
            f"  not started yet            {self.waiting}",
            f"  lateness                   p50 {seconds(self.lateness_at(50))}  "
            f"p99 {seconds(self.lateness_at(99))}",
        ]


def run_health(session: Session, since: datetime, until: datetime) -> RunHealth:
    in_span = (SearchRun.scheduled_for >= since, SearchRun.scheduled_for < until)
    by_status: dict[RunStatus, int] = dict(
        session.execute(
            select(SearchRun.status, func.count()).where(*in_span).group_by(SearchRun.status)
        ).all()
    )
    missed = session.scalar(
        select(func.count()).where(
            *in_span, SearchRun.status == RunStatus.SKIPPED, SearchRun.error == MISSED_ERROR
        )
    )
    started = session.execute(
        select(SearchRun.scheduled_for, SearchRun.started_at).where(
            *in_span, SearchRun.started_at.is_not(None)
        )
    ).all()
    return RunHealth(
        since=since,
        until=until,
        due=sum(by_status.values()),
        by_status=by_status,
        missed=missed or 0,
        waiting=by_status.get(RunStatus.PENDING, 0),
        lateness=[(started_at - at).total_seconds() for at, started_at in started if started_at],
    )
