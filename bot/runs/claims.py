"""Due runs: created once per fire time, claimed by exactly one worker, never two of one search.

Creation relies on the unique (search_id, scheduled_for): a double fire inserts
nothing the second time. Claims take the oldest due runs first, one per search
and none of a search already running, so every fire time is evaluated in turn and
none is folded into a later one. On Postgres a claim is one statement that locks
the run rows and then the search rows (``SKIP LOCKED``), so two workers can never
start runs of the same search; manual runs lock the search row too. On SQLite one
process claims with one SELECT and one UPDATE. A run still waiting
``MISSED_AFTER`` past its fire time while a later one of its search is due too is
given up (:func:`give_up_overdue`) and counted as a missed evaluation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, exists, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.models import RunStatus, Search, SearchRun
from bot.models.base import UTCDateTime

log = logging.getLogger(__name__)
STALE_GRACE = timedelta(minutes=2)  # beyond a run's own timeout, before it counts as orphaned
# Built once: an alias made per call would defeat SQLAlchemy's statement cache.
_RUNNING = aliased(SearchRun, name="running_run")
_LATER = aliased(SearchRun, name="later_run")
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


def create_due_runs(session: Session, due: Sequence[tuple[int, datetime]]) -> None:
    """PENDING runs for many (search id, fire time) at once: one statement, executed many."""
    dialect = session.get_bind().dialect.name
    rows = [{"d_search_id": search_id, "d_at": at} for search_id, at in due]
    session.connection().execute(_INSERT_DUE[dialect], rows)


def _insert_due(module: Any) -> Any:
    return (
        module.insert(_RUNS)
        .values(
            search_id=bindparam("d_search_id"),
            scheduled_for=bindparam("d_at", type_=_RUNS.c.scheduled_for.type),
            status=RunStatus.PENDING,
        )
        .on_conflict_do_nothing(index_elements=["search_id", "scheduled_for"])
    )


_INSERT_DUE = {"postgresql": _insert_due(postgresql), "sqlite": _insert_due(sqlite)}

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
        ORDER BY r.scheduled_for
        LIMIT :scan
        FOR UPDATE OF r SKIP LOCKED
    ), oldest AS (
        SELECT DISTINCT ON (search_id) id, search_id, scheduled_for
        FROM candidate
        ORDER BY search_id, scheduled_for
    ), chosen AS (
        SELECT o.id, o.search_id, o.scheduled_for
        FROM oldest o JOIN searches s ON s.id = o.search_id
        ORDER BY o.scheduled_for
        LIMIT :limit
        FOR UPDATE OF s SKIP LOCKED
    ), started AS (
        UPDATE search_runs SET status = :running, started_at = :now, worker = :worker
        FROM chosen
        WHERE search_runs.id = chosen.id
        RETURNING search_runs.id, search_runs.search_id, search_runs.scheduled_for
    )
    SELECT id, search_id, scheduled_for FROM started ORDER BY scheduled_for, id
    """
).columns(id=Integer, search_id=Integer, scheduled_for=UTCDateTime)
MISSED_AFTER = timedelta(minutes=5)
MISSED_ERROR = "missed: still waiting 5 minutes after its fire time, with a later run due"


def claim_runs(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due runs, oldest first, at most one per search, none already running.

    Postgres claims in one statement; SQLite (one process) with a SELECT and an UPDATE.
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
        "scan": limit * 4,  # due runs looked at: later runs of one search share the scan
        "pending": RunStatus.PENDING.value,
        "running": RunStatus.RUNNING.value,
    }
    rows = session.connection().execute(_CLAIM_PG, params)
    return [Claimed(run_id, search_id, at) for run_id, search_id, at in rows]


def _claim_one_process(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    connection = session.connection()
    due = connection.execute(_DUE, {"now": now, "scan": limit * 4}).all()
    chosen: dict[int, Claimed] = {}  # search id -> its oldest due run
    for run_id, search_id, scheduled_for in due:
        if len(chosen) < limit and search_id not in chosen:
            chosen[search_id] = Claimed(run_id, search_id, scheduled_for)
    if not chosen:
        return []
    ids = [claim.run_id for claim in chosen.values()]
    params = {"ids": ids, "now": now, "worker": worker}
    started = set(connection.execute(_START, params).scalars())
    return [claim for claim in chosen.values() if claim.run_id in started]


# Built once (bound per claim): the due runs oldest first, none of a search already running ...
_DUE = (
    select(_RUNS.c.id, _RUNS.c.search_id, _RUNS.c.scheduled_for)
    .where(
        _RUNS.c.status == RunStatus.PENDING,
        _RUNS.c.scheduled_for <= bindparam("now", type_=_RUNS.c.scheduled_for.type),
        ~exists().where(
            _RUNNING.search_id == _RUNS.c.search_id, _RUNNING.status == RunStatus.RUNNING
        ),
    )
    .order_by(_RUNS.c.scheduled_for)
    .limit(bindparam("scan"))
)
# ... and started together: PENDING -> RUNNING, only if still no run of the search is running.
_START = (
    update(_RUNS)
    .where(
        _RUNS.c.id.in_(bindparam("ids", expanding=True)),
        _RUNS.c.status == RunStatus.PENDING,
        ~exists().where(
            _RUNNING.search_id == _RUNS.c.search_id, _RUNNING.status == RunStatus.RUNNING
        ),
    )
    .values(
        status=RunStatus.RUNNING,
        started_at=bindparam("now", type_=_RUNS.c.started_at.type),
        worker=bindparam("worker"),
    )
    .returning(_RUNS.c.id)
)


def give_up_overdue(session: Session, now: datetime) -> int:
    """Mark runs MISSED_AFTER overdue whose search has a later due run; returns how many.

    Only an overloaded worker pool leaves runs waiting that long. Giving them up
    bounds the backlog; each one is a missed evaluation, kept on the run (status
    skipped, ``MISSED_ERROR``) and counted by ``411 status``. The later run still
    covers a per-hit search's documents: its window starts where the last one ended.
    """
    later = _LATER
    result = session.execute(
        update(SearchRun)
        .where(
            SearchRun.status == RunStatus.PENDING,
            SearchRun.scheduled_for < now - MISSED_AFTER,
            exists().where(
                later.search_id == SearchRun.search_id,
                later.status == RunStatus.PENDING,
                later.scheduled_for > SearchRun.scheduled_for,
            ),
        )
        .values(status=RunStatus.SKIPPED, finished_at=now, error=MISSED_ERROR)
        .execution_options(synchronize_session=False)
    )
    given_up = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if given_up:
        log.warning("gave up %d runs waiting over %s (missed evaluations)", given_up, MISSED_AFTER)
    return given_up


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


def give_back(session: Session, run_ids: list[int], worker: str) -> int:
    """Our own RUNNING runs whose outcome we could not write (the database went away):
    PENDING again, for any worker. Nothing of them was written (all or nothing)."""
    given = session.execute(
        update(SearchRun)
        .where(
            SearchRun.id.in_(run_ids),
            SearchRun.status == RunStatus.RUNNING,
            SearchRun.worker == worker,
        )
        .values(status=RunStatus.PENDING, worker=None, started_at=None, error=REQUEUED)
    )
    return int(given.rowcount)  # type: ignore[attr-defined]


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
