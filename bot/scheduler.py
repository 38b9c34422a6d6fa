"""APScheduler jobs, one per enabled search, kept in step with the searches table.

Only the lease holder runs them. A job does no search work: at its fire time it
inserts a PENDING run (unique per search and fire time), which any worker
claims. Changes made in Slack or the CLI bump ``Search.version``; ``sync``
notices them within seconds, without a restart.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot.claims import create_due_run
from bot.models import Search
from bot.runtime import Runtime
from bot.schedule import Schedule, parse_schedule

log = logging.getLogger(__name__)
_GOLDEN = 0.6180339887498949


def phase(search_id: int, interval: int) -> int:
    """Seconds by which a search's interval schedule is shifted: spread evenly, stable per id."""
    return int(((search_id * _GOLDEN) % 1.0) * interval)


def next_run_at(
    search_id: int, schedule_text: str, after: datetime | None = None
) -> datetime | None:
    """When a search runs next (for display): its schedule, shifted by its phase."""
    try:
        schedule = parse_schedule(schedule_text)
    except ValueError:
        return None
    offset = phase(search_id, schedule.interval) if schedule.interval else 0
    return schedule.next_fire(after or datetime.now(UTC), offset)


class SearchScheduler:
    def __init__(
        self, runtime: Runtime, on_fire: Callable[[], None] | None = None, threads: int = 4
    ):
        self.runtime = runtime
        self.on_fire = on_fire or (lambda: None)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(threads)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        self.jobs: dict[int, tuple[int, str]] = {}  # search id -> (version, schedule text)
        self.fired = 0

    def start(self) -> None:
        self.scheduler.start(paused=True)

    def resume(self) -> None:
        self.sync()
        self.scheduler.resume()

    def pause(self) -> None:
        """Lost the lease: schedule nothing until it is ours again."""
        self.scheduler.pause()
        self.scheduler.remove_all_jobs()
        self.jobs.clear()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def sync(self) -> int:
        """Add, reschedule and remove jobs to match the enabled searches; returns changes."""
        with self.runtime.sessions() as session:
            rows = session.execute(
                select(Search.id, Search.version, Search.schedule).where(
                    Search.enabled.is_(True), Search.deleted_at.is_(None)
                )
            ).all()
        wanted = {search_id: (version, schedule) for search_id, version, schedule in rows}
        changes = 0
        for search_id in set(self.jobs) - set(wanted):
            self._remove(search_id)
            changes += 1
        for search_id, state in wanted.items():
            if self.jobs.get(search_id) != state:
                self._add(search_id, state)
                changes += 1
        if changes:
            log.info("scheduler: %d job changes, %d searches scheduled", changes, len(self.jobs))
        return changes

    def _add(self, search_id: int, state: tuple[int, str]) -> None:
        try:
            schedule = parse_schedule(state[1])
        except ValueError as exc:  # saved through validation, so only a hand-edited row
            log.error("search %s: cannot schedule %r: %s", search_id, state[1], exc)
            self._remove(search_id)
            return
        offset = phase(search_id, schedule.interval) if schedule.interval else 0
        self.scheduler.add_job(
            self._fire,
            trigger=schedule.trigger(offset),
            args=(search_id, schedule, offset),
            id=str(search_id),
            name=f"search {search_id}",
            replace_existing=True,
        )
        self.jobs[search_id] = state

    def _remove(self, search_id: int) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(str(search_id))
        self.jobs.pop(search_id, None)

    def _fire(self, search_id: int, schedule: Schedule, offset: int) -> None:
        scheduled_for = schedule.previous_fire(datetime.now(UTC), offset)
        try:
            with self.runtime.sessions.begin() as session:
                create_due_run(session, search_id, scheduled_for)
        except Exception:
            log.exception("search %s: could not create its run for %s", search_id, scheduled_for)
            return
        self.fired += 1
        self.on_fire()
