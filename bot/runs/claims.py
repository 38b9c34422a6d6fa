"""Due runs: created once per fire time, claimed by exactly one worker, never two of one search.

Creation relies on the unique (search_id, scheduled_for): a double fire inserts
nothing the second time. On Postgres a claim is one statement that locks the run
rows and then the search rows (``SKIP LOCKED``), so two workers can never start
runs of the same search; manual runs lock the search row too. On SQLite one
process claims with conditional UPDATEs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Integer, Table, exists, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.models import RunStatus, Search, SearchRun
from bot.models.base import UTCDateTime

log = logging.getLogger(__name__)
STALE_GRACE = timedelta(minutes=2)  # beyond a run's own timeout, before it counts as orphaned
# Built once: an alias made per call would defeat SQLAlchemy's statement cache.
_RUNNING = aliased(SearchRun, name="running_run")
_RUNS = cast(Table, SearchRun.__table__)


@dataclass(frozen=True)
class Claimed:
    run_id: int
    search_id: int
    scheduled_for: datetime


def create_due_run(session: Session, search_id: int, scheduled_for: datetime) -> bool:
    """A PENDING run for this fire time; False if it existed (a double fire)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(_RUNS)
        .values(search_id=search_id, scheduled_for=scheduled_for, status=RunStatus.PENDING)
        .on_conflict_do_nothing(index_elements=["search_id", "scheduled_for"])
        .returning(_RUNS.c.id)
    )
    return session.connection().execute(statement).first() is not None


# Postgres: the claim in one statement (see claim_runs): candidates locked (SKIP LOCKED),
# the newest due run per search, its search row locked (SKIP LOCKED: another worker is
# claiming it), then started, and the same search's older due runs marked covered.
_CLAIM_PG = text(
    """
    WITH candidate AS (
        SELECT r.id, r.search_id, r.scheduled_for
        FROM search_runs r
        WHERE r.status = :pending AND r.scheduled_for <= :now
          AND NOT EXISTS (SELECT 1 FROM search_runs running
                          WHERE running.search_id = r.search_id AND running.status = :running)
        ORDER BY r.scheduled_for DESC
        LIMIT :scan
        FOR UPDATE OF r SKIP LOCKED
    ), newest AS (
        SELECT DISTINCT ON (search_id) id, search_id, scheduled_for
        FROM candidate
        ORDER BY search_id, scheduled_for DESC
    ), chosen AS (
        SELECT n.id, n.search_id, n.scheduled_for
        FROM newest n JOIN searches s ON s.id = n.search_id
        ORDER BY n.scheduled_for DESC
        LIMIT :limit
        FOR UPDATE OF s SKIP LOCKED
    ), started AS (
        UPDATE search_runs SET status = :running, started_at = :now, worker = :worker
        FROM chosen
        WHERE search_runs.id = chosen.id
        RETURNING search_runs.id, search_runs.search_id, search_runs.scheduled_for
    ), covered AS (
        UPDATE search_runs
        SET status = :skipped, finished_at = :now, error = :covered_error
        WHERE search_id IN (SELECT search_id FROM chosen)
          AND status = :pending AND scheduled_for <= :now
          AND id NOT IN (SELECT id FROM chosen)
    )
    SELECT id, search_id, scheduled_for FROM started ORDER BY scheduled_for DESC, id
    """
).columns(id=Integer, search_id=Integer, scheduled_for=UTCDateTime)
COVERED_ERROR = "covered by a later run"


def claim_runs(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due runs, at most one per search, none of a search already running.

    Postgres claims in one statement; SQLite (one process) with a few.
    """
    if limit <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _claim_pg(session, worker, now, limit)
    return _claim_one_process(session, worker, now, limit)


def _claim_pg(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    params = {
        "now": now,
        "worker": worker,
        "limit": limit,
        "scan": limit * 4,  # due runs looked at: older runs of one search share the scan
        "pending": RunStatus.PENDING.value,
        "running": RunStatus.RUNNING.value,
        "skipped": RunStatus.SKIPPED.value,
        "covered_error": COVERED_ERROR,
    }
    rows = session.connection().execute(_CLAIM_PG, params)
    return [Claimed(run_id, search_id, at) for run_id, search_id, at in rows]


def _claim_one_process(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    running = _RUNNING
    candidates = session.execute(
        select(SearchRun.id, SearchRun.search_id, SearchRun.scheduled_for)
        .where(
            SearchRun.status == RunStatus.PENDING,
            SearchRun.scheduled_for <= now,
            ~exists().where(
                running.search_id == SearchRun.search_id, running.status == RunStatus.RUNNING
            ),
        )
        .order_by(SearchRun.scheduled_for.desc())  # newest first: it covers the older ones
        .limit(limit * 4)
    ).all()
    claimed: list[Claimed] = []
    for run_id, search_id, scheduled_for in candidates:
        if len(claimed) >= limit or any(c.search_id == search_id for c in claimed):
            continue
        if _start(session, run_id, search_id, worker, now):
            claimed.append(Claimed(run_id, search_id, scheduled_for))
    if claimed:
        _coalesce_older(session, claimed, now)
    return claimed


def _start(session: Session, run_id: int, search_id: int, worker: str, now: datetime) -> bool:
    """PENDING -> RUNNING, only if no run of the search is running (checked in the same statement)."""
    running = _RUNNING
    conditions = [
        SearchRun.id == run_id,
        SearchRun.status == RunStatus.PENDING,
        ~exists().where(running.search_id == search_id, running.status == RunStatus.RUNNING),
    ]
    started = session.execute(
        update(SearchRun)
        .where(*conditions)
        .values(status=RunStatus.RUNNING, started_at=now, worker=worker)
        .execution_options(synchronize_session=False)
    )
    return bool(started.rowcount == 1)  # type: ignore[attr-defined]


def _coalesce_older(session: Session, claimed: list[Claimed], now: datetime) -> None:
    """Other due runs of the claimed searches are older: the claimed run's window covers them."""
    session.execute(
        update(SearchRun)
        .where(
            SearchRun.search_id.in_([c.search_id for c in claimed]),
            SearchRun.status == RunStatus.PENDING,
            SearchRun.scheduled_for <= now,
            SearchRun.id.not_in([c.run_id for c in claimed]),
        )
        .values(status=RunStatus.SKIPPED, finished_at=now, error=COVERED_ERROR)
        .execution_options(synchronize_session=False)
    )


REQUEUED = "requeued: the worker running it stopped"


def take_back(session: Session, dead: Callable[[str | None], bool], now: datetime) -> int:
    """RUNNING runs of dead workers go back to PENDING, to be claimed at once by another.

    Nothing of such a run was written (a run's results and its record commit together),
    so running it again is its first complete run. A run that already lost a worker
    once fails instead of being tried a third time (it may be what kills them).
    """
    rows = session.execute(
        select(SearchRun.id, SearchRun.worker, SearchRun.error).where(
            SearchRun.status == RunStatus.RUNNING
        )
    ).all()
    orphans = [(run_id, error) for run_id, worker, error in rows if dead(worker)]
    again = [run_id for run_id, error in orphans if (error or "").startswith(REQUEUED)]
    first = [run_id for run_id, error in orphans if run_id not in again]
    running = SearchRun.status == RunStatus.RUNNING
    if first:
        session.execute(
            update(SearchRun)
            .where(SearchRun.id.in_(first), running)
            .values(status=RunStatus.PENDING, worker=None, started_at=None, error=REQUEUED)
        )
    if again:
        session.execute(
            update(SearchRun)
            .where(SearchRun.id.in_(again), running)
            .values(status=RunStatus.FAILED, finished_at=now, error=f"{REQUEUED}, twice")
        )
    if orphans:
        log.warning("took back %d runs from a worker that stopped", len(orphans))
    return len(orphans)


def recover_stale(session: Session, now: datetime) -> int:
    """Fail RUNNING runs far past their timeout: their worker died. Returns how many."""
    rows = session.execute(
        select(SearchRun.id, SearchRun.started_at, Search.timeout_seconds)
        .join(Search, Search.id == SearchRun.search_id)
        .where(SearchRun.status == RunStatus.RUNNING)
    ).all()
    stale = [
        run_id
        for run_id, started_at, timeout in rows
        if started_at is None or started_at + timedelta(seconds=timeout) + STALE_GRACE < now
    ]
    if stale:
        session.execute(
            update(SearchRun)
            .where(SearchRun.id.in_(stale), SearchRun.status == RunStatus.RUNNING)
            .values(status=RunStatus.FAILED, finished_at=now, error="the worker running it stopped")
        )
        log.warning("recovered %d runs left RUNNING by a stopped worker", len(stale))
    return len(stale)
