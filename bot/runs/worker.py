"""``411 worker``: the scheduler (when this process holds the lease) and the run executor.

Every worker claims due runs and executes them in a small thread pool; one of
them (the lease holder) also creates the due runs and recovers runs a dead
worker left behind. Start as many as you like on Postgres.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import IntegrityError

from bot.alerts.maintenance import announce_due
from bot.alerts.snooze_expiry import expire_snoozes
from bot.models import utcnow
from bot.runs.claims import Claimed, claim_runs, recover_stale
from bot.runs.lease import Lease
from bot.runs.runner import run_search
from bot.runs.scheduler import SearchScheduler
from bot.runtime import Runtime

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        threads: int = 4,
        poll_interval: float = 1.0,
        sync_interval: float = 5.0,
        snooze_interval: float = 15.0,
        name: str | None = None,
        schedule: bool = True,
    ):
        self.runtime = runtime
        self.threads = threads
        self.poll_interval = poll_interval
        self.sync_interval = sync_interval
        # Ended snoozes are looked for this often (a snooze lasts a minute at least).
        self.snooze_interval = snooze_interval
        self._snoozes_checked = float("-inf")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.schedule = schedule  # False: only execute runs (a pure executor)
        self.lease = Lease(runtime.engine)
        self.scheduler = SearchScheduler(runtime, on_fire=self.wake)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="search-run")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inflight = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # Run ids this worker executed lately (tests, benchmarks); bounded for long lives.
        self.executed: deque[int] = deque(maxlen=10_000)

    @property
    def is_leader(self) -> bool:
        return self.lease.held

    def start(self) -> None:
        if self.schedule:
            self.scheduler.start()
            self._spawn(self._lease_loop, "lease")
        self._spawn(self._claim_loop, "claims")

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.scheduler.shutdown()
        self.pool.shutdown(wait=wait)
        self.lease.release()

    def wake(self) -> None:
        self._wake.set()

    def _spawn(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=f"worker-{name}", daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    # ------------------------------------------------------------ lease holder

    def _lease_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._lease_step()
            except Exception:
                log.exception("scheduler step failed; retrying")
            self._stop.wait(self.sync_interval)

    def _lease_step(self) -> None:
        if self.lease.held and not self.lease.check():
            log.warning("%s lost the scheduler lease", self.name)
            self.scheduler.pause()
        if not self.lease.held:
            if not self.lease.try_acquire():
                return
            log.info("%s holds the scheduler lease", self.name)
            self.scheduler.resume()
            return
        self.scheduler.sync()
        with self.runtime.sessions.begin() as session:
            recover_stale(session, utcnow())
        self._expire_snoozes()
        self._announce_maintenance()

    def _announce_maintenance(self) -> None:
        """Post the maintenance windows' starts and ends that are due (lease holder only)."""
        with self.runtime.sessions.begin() as session:
            announced = announce_due(session, utcnow())
        if announced:
            log.info("%d maintenance window starts/ends announced", announced)

    def _expire_snoozes(self) -> None:
        """Refresh the messages of alerts whose snooze ended (safe in any number of workers)."""
        if time.monotonic() - self._snoozes_checked < self.snooze_interval:
            return
        self._snoozes_checked = time.monotonic()
        with self.runtime.sessions.begin() as session:
            expired = expire_snoozes(session, utcnow())
        if expired:
            log.info("%d snoozes ended", len(expired))

    # ---------------------------------------------------------------- claims

    def _claim_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            try:
                self._claim_step()
            except IntegrityError:
                # Another worker started a run of the same search in the same instant; the
                # database refused the second (one running run per search). Claim again.
                log.info("a claim raced another worker's; claiming again")
            except Exception:
                log.exception("claiming runs failed; retrying")
                self._stop.wait(self.poll_interval)

    def _claim_step(self) -> None:
        with self._lock:
            free = self.threads - self._inflight
        if free <= 0 or self._stop.is_set():
            return
        with self.runtime.sessions.begin() as session:
            claimed = claim_runs(session, self.name, utcnow(), free)
        for claim in claimed:
            with self._lock:
                self._inflight += 1
            future = self.pool.submit(self._execute, claim)
            future.add_done_callback(self._done)

    def _execute(self, claim: Claimed) -> None:
        run_search(self.runtime, claim.search_id, claim.scheduled_for, run_id=claim.run_id)
        self.executed.append(claim.run_id)

    def _done(self, future: Future[None]) -> None:
        if future.exception() is not None:
            log.error("run failed outside the runner", exc_info=future.exception())
        with self._lock:
            self._inflight -= 1
        self._wake.set()  # a slot is free: there may be more due runs
