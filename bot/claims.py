"""Due runs: created once per fire time, claimed by exactly one worker, never two of one search.

Creation relies on the unique (search_id, scheduled_for): a double fire inserts
nothing the second time. Claims lock the run row (``SKIP LOCKED``) and then the
search row, so two workers can never start runs of the same search; on SQLite
one process claims with conditional UPDATEs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.models import RunStatus, Search, SearchRun

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


def claim_runs(session: Session, worker: str, now: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due runs, at most one per search, none of a search already running."""
    if limit <= 0:
        return []
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
        .with_for_update(skip_locked=True)
    ).all()
    shared = session.get_bind().dialect.name == "postgresql"
    claimed: list[Claimed] = []
    for run_id, search_id, scheduled_for in candidates:
        if len(claimed) >= limit or any(c.search_id == search_id for c in claimed):
            continue
        if _start(session, run_id, search_id, worker, now, lock_search=shared):
            claimed.append(Claimed(run_id, search_id, scheduled_for))
    if claimed:
        _coalesce_older(session, claimed, now)
    return claimed


def _start(
    session: Session, run_id: int, search_id: int, worker: str, now: datetime, *, lock_search: bool
) -> bool:
    """PENDING -> RUNNING, only if no run of the search is running (checked in the same statement).

    Postgres also locks the search row in that statement (``SKIP LOCKED``): claims (and
    manual runs) of one search take turns, and a search another worker is claiming for
    right now is skipped.
    """
    running = _RUNNING
    conditions = [
        SearchRun.id == run_id,
        SearchRun.status == RunStatus.PENDING,
        ~exists().where(running.search_id == search_id, running.status == RunStatus.RUNNING),
    ]
    if lock_search:
        locked = select(Search.id).where(Search.id == search_id).with_for_update(skip_locked=True)
        conditions.append(locked.exists())
    started = session.execute(
        update(SearchRun)
        .where(*conditions)
        .values(status=RunStatus.RUNNING, started_at=now, worker=worker)
        .execution_options(synchronize_session=False)
    )
    return started.rowcount == 1  # type: ignore[attr-defined]


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
        .values(status=RunStatus.SKIPPED, finished_at=now, error="covered by a later run")
        .execution_options(synchronize_session=False)
    )


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
