"""``411 worker``: the scheduler (when this process holds the lease) and the run executor.

Every worker claims due runs and executes them in a small thread pool; one of
them (the lease holder) also creates the due runs and recovers runs a dead
worker left behind. Start as many as you like on Postgres.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.alerts.maintenance import announce_due
from bot.alerts.snooze_expiry import expire_snoozes
from bot.heartbeat import Heartbeat, Liveness, worker_name
from bot.logs import FailureLog
from bot.metrics import (
    LATENESS,
    LEASE_HELD,
    MISSED,
    RECLAIMED,
    RUN_SECONDS,
    RUNS,
    SOURCE_SECONDS,
)
from bot.models import Search, utcnow
from bot.runs.batch import QueriedAlone, prepare_batch
from bot.runs.claims import (
    Claimed,
    claim_runs,
    give_back,
    give_up_overdue,
    recover_stale,
    take_back,
)
from bot.runs.lease import Lease
from bot.runs.runner import Prepared, RunStats, run_search
from bot.runs.scheduler import SearchScheduler
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Runs claimed ahead per run thread: the last of 8 x 4 threads waits some tens of ms.
CLAIM_AHEAD = 8


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
        self.name = name or worker_name("runs")
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
        self.heartbeat = Heartbeat(runtime, self.name, "runs", on_beat=[self._take_back])
        self._search_names: dict[int, str] = {}  # metric labels
        self._in_doubt: set[int] = set()  # our runs whose outcome could not be written
        self.alone = QueriedAlone()  # searches kept out of batched multi-searches
        self.claim_failures = FailureLog(log, f"{self.name}: claiming runs")
        self.lease_failures = FailureLog(log, f"{self.name}: scheduler")
        self.run_failures = FailureLog(log, f"{self.name}: runs failing outside the runner")

    @property
    def is_leader(self) -> bool:
        return self.lease.held

    def start(self) -> None:
        self.heartbeat.start()
        self._take_back(Liveness(frozenset()))  # a previous process's runs, at once
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
        LEASE_HELD.labels(self.name).set(0)
        self.heartbeat.stop()

    def alive(self) -> bool:
        """Whether the claim loop (and the heartbeat) still run: the worker's liveness."""
        return (
            bool(self._threads)
            and all(t.is_alive() for t in self._threads)
            and (self.heartbeat.alive())
        )

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
                self.lease_failures.cleared()
            except Exception as exc:
                self.lease_failures.failed(exc)
            self.lease_failures.tick()
            self._publish_lease()
            self._stop.wait(self.sync_interval)

    def _publish_lease(self) -> None:
        """The lease holder, for /metrics and for `411 status` (its heartbeat's role)."""
        held = self.lease.held
        LEASE_HELD.labels(self.name).set(1 if held else 0)
        self.heartbeat.role = "scheduler" if held else "runs"

    def _take_back(self, liveness: Liveness) -> None:
        """Runs of workers that died go back to PENDING (any worker may do this)."""
        with self.runtime.sessions.begin() as session:
            taken = take_back(session, liveness.dead, utcnow())
        if taken:
            RECLAIMED.labels("run").inc(taken)
            self.wake()

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
        self.scheduler.sync(if_changed=True)
        with self.runtime.sessions.begin() as session:
            recover_stale(session, utcnow())
            MISSED.labels("given_up").inc(give_up_overdue(session, utcnow()))
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
                self.claim_failures.cleared()
            except IntegrityError:
                # Another worker started a run of the same search in the same instant; the
                # database refused the second (one running run per search). Claim again.
                log.info("a claim raced another worker's; claiming again")
            except Exception as exc:
                self.claim_failures.failed(exc)
                self._stop.wait(self.poll_interval)
            self.claim_failures.tick()

    def _claim_step(self) -> None:
        # Claims come in batches: up to CLAIM_AHEAD runs a thread are claimed at once, the
        # later ones waiting for a thread (a run records when it really began), and
        # prepared together (one read, one multi-search). A claim per finished run would
        # cost a transaction and a search request per run, so while runs are in hand the
        # next claim waits until half the room is free: batches stay large.
        capacity = CLAIM_AHEAD * self.threads
        with self._lock:
            free = capacity - self._inflight
            waiting = self._inflight > 0
        if (waiting and free < capacity // 2) or free <= 0 or self._stop.is_set():
            return
        if self.heartbeat.stale:
            return  # others may judge us dead; claim nothing now
        self._give_back_in_doubt()
        with self.runtime.sessions.begin() as session:
            claimed = claim_runs(session, self.name, utcnow(), free)
        prepared = self._prepare(claimed)
        for claim in claimed:
            with self._lock:
                self._inflight += 1
            future = self.pool.submit(self._execute, claim, prepared.get(claim.run_id))
            future.add_done_callback(self._done)

    def _prepare(self, claimed: list[Claimed]) -> dict[int, Prepared]:
        """The batch read and multi-searched together; nothing when that fails (each run alone)."""
        if len(claimed) < 2:
            return {}
        try:
            return prepare_batch(self.runtime, claimed, self.alone)
        except Exception as exc:  # an optimisation: the runs read and query on their own
            log.warning("%s: preparing %d runs together failed: %s", self.name, len(claimed), exc)
            return {}

    def _give_back_in_doubt(self) -> None:
        with self._lock:
            run_ids = list(self._in_doubt)
        if not run_ids:
            return
        with self.runtime.sessions.begin() as session:
            given = give_back(session, run_ids, self.name)
        with self._lock:
            self._in_doubt.difference_update(run_ids)
        if given:
            log.info("%d runs interrupted by the database are due again", given)

    def _execute(self, claim: Claimed, prepared: Prepared | None = None) -> None:
        LATENESS.observe(max(0.0, (utcnow() - claim.scheduled_for).total_seconds()))
        stats = RunStats()
        known = prepared.search.name if prepared is not None else None  # read before the run
        started = time.perf_counter()
        try:
            run = run_search(
                self.runtime,
                claim.search_id,
                claim.scheduled_for,
                run_id=claim.run_id,
                stats=stats,
                prepared=prepared,
            )
        except SQLAlchemyError:
            # Not even the failure could be written: the run stays RUNNING under our name,
            # and we are alive, so nobody else takes it back. We give it back later.
            with self._lock:
                self._in_doubt.add(claim.run_id)
            raise
        self.executed.append(claim.run_id)
        self.alone.ran(claim.search_id, stats.source_ms)
        name = self._search_name(claim.search_id, known)
        RUNS.labels(name, run.status.value).inc()
        RUN_SECONDS.observe(time.perf_counter() - started)
        SOURCE_SECONDS.observe(stats.source_ms / 1000)

    def _search_name(self, search_id: int, known: str | None) -> str:
        if known is not None:  # the batch read it (so a rename shows at once)
            self._search_names[search_id] = known
        if search_id not in self._search_names:
            with self.runtime.sessions() as session:
                name = session.scalar(select(Search.name).where(Search.id == search_id))
            self._search_names[search_id] = name or str(search_id)
        return self._search_names[search_id]

    def _done(self, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            self.run_failures.failed(error)
        else:
            self.run_failures.cleared()
        with self._lock:
            self._inflight -= 1
        self._wake.set()  # a slot is free: there may be more due runs
