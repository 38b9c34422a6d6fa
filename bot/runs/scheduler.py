"""Due runs, scheduled in batches: one tick a second inserts every run that fell due.

Only the lease holder schedules. It keeps each enabled search's next fire time in
a heap; a tick pops the fire times that have come and inserts their PENDING runs
in one statement (unique per search and fire time, so a double fire inserts
nothing), which any worker claims. Ten thousand one-minute searches are about 170
fire times a second: one INSERT, not 170 jobs and transactions. Changes made in
Slack or the CLI bump ``Search.version``; ``sync`` notices them within seconds,
without a restart.

Every fire time is inserted, however late the tick (a loaded machine, a paused
process), up to ``MISFIRE_GRACE``; one older than that is counted in ``missed``
and logged, never silently folded into a later one.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.definitions.schedule import Schedule, parse_schedule
from bot.logs import FailureLog
from bot.metrics import MISSED
from bot.models import Search, utcnow
from bot.runs.claims import create_due_runs
from bot.runtime import Runtime

log = logging.getLogger(__name__)
_GOLDEN = 0.6180339887498949
MISFIRE_GRACE = timedelta(minutes=5)  # a fire time seen later than this is missed, not run
TICK_SECONDS = 1.0
FULL_SYNC_SECONDS = 60.0  # a sync reads every search at least this often, changed or not


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
    return schedule.next_fire(after or utcnow(), _offset(search_id, schedule))


def _offset(search_id: int, schedule: Schedule) -> int:
    """The phase of an interval schedule (cron schedules are not shifted)."""
    return phase(search_id, schedule.interval) if schedule.interval else 0


@dataclass
class Scheduled:
    """A search the scheduler fires: the version it was read at, and its next fire time."""

    version: int
    text: str
    schedule: Schedule
    offset: int
    next_fire: datetime | None


class SearchScheduler:
    def __init__(
        self,
        runtime: Runtime,
        on_fire: Callable[[], None] | None = None,
        tick_seconds: float = TICK_SECONDS,
    ):
        self.runtime = runtime
        self.on_fire = on_fire or (lambda: None)
        self.tick_seconds = tick_seconds
        self.jobs: dict[int, Scheduled] = {}  # search id -> its schedule and next fire time
        self._due: list[tuple[datetime, int]] = []  # heap of (fire time, search id)
        self._unsaved: list[tuple[int, datetime]] = []  # fire times an insert failed to write
        self.fired = 0  # due runs inserted
        self.missed = 0  # fire times older than MISFIRE_GRACE when a tick reached them
        self.database_failures = FailureLog(log, "scheduler (database)")
        # Searches whose Search.next_run_at (shown in App Home) needs writing: written in
        # one batch per sync, not one statement per fire.
        self._stale_next: set[int] = set()
        self._lock = threading.Lock()  # jobs, the heap and _stale_next: sync and tick share them
        # The fingerprint of the enabled searches at the last full read, and when it was.
        self._synced: tuple[tuple[Any, ...], float] | None = None
        self._active = threading.Event()  # set while this process holds the lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the tick thread, paused until :meth:`resume`."""
        self._thread = threading.Thread(target=self._tick_loop, name="scheduler-tick", daemon=True)
        self._thread.start()

    def resume(self) -> None:
        self.sync()
        self._active.set()

    def pause(self) -> None:
        """Lost the lease: schedule nothing until it is ours again."""
        self._active.clear()
        with self._lock:
            self.jobs.clear()
            self._due.clear()
            self._unsaved.clear()
            self._stale_next.clear()  # the new lease holder writes them
            self._synced = None

    def shutdown(self) -> None:
        self._stop.set()
        self._active.set()  # wake the tick thread so it sees the stop
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ searches

    def sync(self, *, if_changed: bool = False) -> int:
        """Add, reschedule and remove searches to match the enabled ones; returns changes.

        ``if_changed`` (the lease holder's sync every few seconds): first read a
        fingerprint of the enabled searches, and read them all only when it moved, or
        when the last full read is ``FULL_SYNC_SECONDS`` old. Reading ten thousand
        rows every five seconds would cost more than the runs' own bookkeeping.
        """
        with self.runtime.sessions() as session:
            # The fingerprint first: an edit landing between the two reads is seen next time.
            fingerprint = tuple(session.execute(_FINGERPRINT).one())
            unchanged = if_changed and not self._moved(fingerprint)
            rows = [] if unchanged else session.execute(_ENABLED).all()
        if unchanged:
            self.write_next_runs()
            return 0
        self._synced = (fingerprint, time.monotonic())
        wanted = {search_id: (version, text) for search_id, version, text in rows}
        now = utcnow()
        touched: set[int] = set()
        with self._lock:
            for search_id in set(self.jobs) - set(wanted):
                del self.jobs[search_id]  # its heap entry is dropped when popped
                touched.add(search_id)
            for search_id, (version, text) in wanted.items():
                job = self.jobs.get(search_id)
                if job is None or (job.version, job.text) != (version, text):
                    self._add(search_id, version, text, now)
                    touched.add(search_id)
            self._stale_next |= touched
        if touched:
            log.info("scheduler: %d changes, %d searches scheduled", len(touched), len(self.jobs))
        self.write_next_runs()
        return len(touched)

    def _moved(self, fingerprint: tuple[Any, ...]) -> bool:
        """Whether the enabled searches changed since the last full read (or it is old)."""
        if self._synced is None or time.monotonic() - self._synced[1] > FULL_SYNC_SECONDS:
            return True
        return fingerprint != self._synced[0]

    def next_fire(self, search_id: int) -> datetime | None:
        job = self.jobs.get(search_id)
        return job.next_fire if job else None

    def _add(self, search_id: int, version: int, text: str, now: datetime) -> None:
        try:
            schedule = parse_schedule(text)
        except ValueError as exc:  # saved through validation, so only a hand-edited row
            log.error("search %s: cannot schedule %r: %s", search_id, text, exc)
            self.jobs.pop(search_id, None)
            return
        offset = _offset(search_id, schedule)
        first = schedule.next_fire(now, offset)
        self.jobs[search_id] = Scheduled(version, text, schedule, offset, first)
        if first is not None:
            heapq.heappush(self._due, (first, search_id))

    # ---------------------------------------------------------------------- ticks

    def _tick_loop(self) -> None:
        while not self._stop.is_set():
            self._active.wait()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except Exception as exc:  # logged quietly: once, a summary a minute, the end
                self.database_failures.failed(exc)
            # Fire times are whole seconds: tick just after each one, not up to a second late.
            self._stop.wait(self.tick_seconds - time.time() % self.tick_seconds + 0.002)

    def tick(self, now: datetime | None = None) -> int:
        """Insert the runs of every fire time up to ``now``, in one statement; returns how many."""
        now = now or utcnow()
        with self._lock:
            due, self._unsaved = self._pop_due(now), []
        if not due:
            return 0
        try:
            with self.runtime.sessions.begin() as session:
                create_due_runs(session, due)
        except Exception as exc:
            self.database_failures.failed(exc)  # retried at the next tick
            with self._lock:
                self._unsaved = due
            return 0
        self.database_failures.cleared()
        with self._lock:
            self.fired += len(due)
            self._stale_next.update(search_id for search_id, _ in due)
        self.on_fire()
        return len(due)

    def _pop_due(self, now: datetime) -> list[tuple[int, datetime]]:
        """The fire times that have come (and those a failed insert left), advancing each search."""
        due = [fire for fire in self._unsaved if now - fire[1] <= MISFIRE_GRACE]
        missed = len(self._unsaved) - len(due)
        while self._due and self._due[0][0] <= now:
            at, search_id = heapq.heappop(self._due)
            job = self.jobs.get(search_id)
            if job is None or job.next_fire != at:
                continue  # removed or rescheduled since this entry was pushed
            if now - at <= MISFIRE_GRACE:
                due.append((search_id, at))
            else:
                missed += 1
            job.next_fire = job.schedule.fire_after(at, job.offset)
            if job.next_fire is not None:
                heapq.heappush(self._due, (job.next_fire, search_id))
        if missed:
            self.missed += missed
            MISSED.labels("unscheduled").inc(missed)
            log.warning("scheduler: %d fire times passed unscheduled (missed)", missed)
        return due

    # ------------------------------------------------------------- next run times

    def write_next_runs(self) -> int:
        """Store when each search whose schedule changed or fired runs next; returns how many."""
        with self._lock:
            ids, self._stale_next = self._stale_next, set()
            rows = [{"b_id": search_id, "b_next": self.next_fire(search_id)} for search_id in ids]
        if not rows:
            return 0
        try:
            with self.runtime.sessions.begin() as session:
                session.connection().execute(_WRITE_NEXT_RUN, rows)
        except Exception as exc:
            self.database_failures.failed(exc)  # retried at the next sync
            with self._lock:
                self._stale_next |= ids
            return 0
        return len(rows)


# Built once: the searches the scheduler fires, and a fingerprint of them. Every edit
# (bot/definitions/store.py) sets updated_at and most bump the version; enabling,
# disabling or deleting a search changes which rows count.
_ENABLED_WHERE = (Search.enabled.is_(True), Search.deleted_at.is_(None))
_ENABLED = select(Search.id, Search.version, Search.schedule).where(*_ENABLED_WHERE)
_FINGERPRINT = select(
    func.count(),
    func.coalesce(func.sum(Search.id), 0),
    func.coalesce(func.sum(Search.version), 0),
    func.max(Search.updated_at),
).where(*_ENABLED_WHERE)

# Built once. Scheduling bookkeeping, not an edit: updated_at stays as it was.
_WRITE_NEXT_RUN = (
    update(Search)
    .where(Search.id == bindparam("b_id"))
    .values(next_run_at=bindparam("b_next"), updated_at=Search.updated_at)
    .execution_options(synchronize_session=False)
)
