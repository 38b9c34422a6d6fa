"""APScheduler jobs, one per enabled search, kept in step with the searches table.

Only the lease holder runs them. A job does no search work: at its fire time it
inserts a PENDING run (unique per search and fire time), which any worker
claims. Changes made in Slack or the CLI bump ``Search.version``; ``sync``
notices them within seconds, without a restart.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import bindparam, select, update

from bot.definitions.schedule import Schedule, parse_schedule
from bot.models import Search
from bot.runs.claims import create_due_run
from bot.runtime import Runtime

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
        # Searches whose Search.next_run_at (shown in App Home) needs writing: written in
        # one batch per sync, not one statement per fire.
        self._stale_next: set[int] = set()
        self._stale_lock = threading.Lock()

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
        with self._stale_lock:
            self._stale_next.clear()  # the new lease holder writes them

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
        touched: set[int] = set()
        for search_id in set(self.jobs) - set(wanted):
            self._remove(search_id)
            touched.add(search_id)
        for search_id, state in wanted.items():
            if self.jobs.get(search_id) != state:
                self._add(search_id, state)
                touched.add(search_id)
        changes = len(touched)
        if changes:
            log.info("scheduler: %d job changes, %d searches scheduled", changes, len(self.jobs))
        with self._stale_lock:
            self._stale_next |= touched
        self.write_next_runs()
        return changes

    def write_next_runs(self) -> int:
        """Store when each search whose jobs changed or fired runs next; returns how many."""
        with self._stale_lock:
            ids, self._stale_next = self._stale_next, set()
        if not ids:
            return 0
        now = datetime.now(UTC)
        rows = [{"b_id": search_id, "b_next": self._next_fire(search_id, now)} for search_id in ids]
        statement = (
            update(Search)
            .where(Search.id == bindparam("b_id"))
            # Scheduling bookkeeping, not an edit: updated_at stays as it was.
            .values(next_run_at=bindparam("b_next"), updated_at=Search.updated_at)
            .execution_options(synchronize_session=False)
        )
        try:
            with self.runtime.sessions.begin() as session:
                session.connection().execute(statement, rows)
        except Exception:
            log.exception("scheduler: could not store next run times; retrying at the next sync")
            with self._stale_lock:
                self._stale_next |= ids
            return 0
        return len(rows)

    def _next_fire(self, search_id: int, now: datetime) -> datetime | None:
        state = self.jobs.get(search_id)
        if state is None:
            return None  # disabled, deleted or unschedulable: no next run
        job = self.scheduler.get_job(str(search_id))
        when: datetime | None = getattr(job, "next_run_time", None) if job else None
        return when or next_run_at(search_id, state[1], now)

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
        with self._stale_lock:
            self._stale_next.add(search_id)  # its next run moved on; written at the next sync
        self.on_fire()
