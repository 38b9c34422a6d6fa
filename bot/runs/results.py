"""A run's results, written by one writer: alerts, events, deliveries, the run's record, the cursor.

The runner calls :func:`store_results` once per successful run; all of it is
written or none. Two ways to write, one set of rules:

- Postgres, a common run (new alerts, alerts seen again, the record): one
  statement in autocommit, made of the CTEs of :mod:`bot.pipeline.insert_pg` (new
  alerts) and :mod:`bot.pipeline.seen_pg` (alerts seen again), the run's record and
  the cursor's move (:mod:`bot.runs.window`). A single statement is atomic without
  a transaction: one round trip instead of BEGIN, three statements and COMMIT.
- Everything else (SQLite; a run that renotifies, closes alerts, counts
  suppressions or ends a failure streak): :func:`bot.pipeline.apply.apply_plan`
  and the record, in one transaction.

tests/pipeline/test_write_paths.py writes the same plans both ways on Postgres and
asserts identical rows, rule by rule: the SQL text cannot drift from the Python.

Either way the write makes sure, in its own transaction, that the run is still this
worker's: a worker whose heartbeat stopped (a long database outage, a stall) may have
had its run taken back and claimed by another (bot/runs/claims.take_back). The run's
record is written only while the run is RUNNING under this worker's claim; when it
is not, everything the run wrote is rolled back (the one statement on Postgres
writes nothing) and :class:`RunTakenBack` is raised, so a run's results are stored
once, by one worker. On Postgres the transactional write also locks the run's row
before anything else, so a take-back waits for it and then finds the run finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, text, update
from sqlalchemy.orm import Session

from bot.db import autocommit_on_postgres, compact_sql
from bot.models import RunStatus, Search, SearchRun
from bot.pipeline import Plan, SeenAgain, apply_plan
from bot.pipeline.apply import add_occurrences, fold_taken, posts_for
from bot.pipeline.insert_pg import NEW_ALERT_CTES, new_alert_params
from bot.pipeline.seen_pg import SEEN_AGAIN_CTES, seen_again_params
from bot.runs.failures import record_success
from bot.runs.record import RunRecord, held_by_claim, mark_written, run_record, store_finished
from bot.runs.window import ADVANCE_CTE_PG
from searches.base import SourceResult, TimeWindow


class RunTakenBack(Exception):
    """The run was taken back from this worker (its heartbeat stopped); another runs it."""


@dataclass(frozen=True)
class RunResults:
    """What a successful run has to write."""

    search: Search
    run: SearchRun
    plan: Plan
    window: TimeWindow
    result: SourceResult
    advance: bool  # the cursor moves (a per-hit search)
    now: datetime  # the run's clock
    started: float  # perf_counter at the run's start: its duration ends when it is written

    def record(self) -> RunRecord:
        elapsed = time.perf_counter() - self.started
        return run_record(
            self.window, self.result, self.plan, advance=self.advance, now=self.now, elapsed=elapsed
        )


def store_results(
    session: Session,
    connection: Connection,
    results: RunResults,
    *,
    thread_replies: bool,
    one_statement: bool = True,
) -> None:
    """Write a run's results, all or nothing; ``one_statement=False`` forbids the fast path."""
    with autocommit_on_postgres(session, connection) as postgres:
        fast = postgres and one_statement and fits_one_statement(results.plan, results.search)
        taken = _write_one_statement(session, results) if fast else []
    if fast:
        if taken:  # a concurrent writer opened some of the keys: they become occurrences
            _fold_into_run(session, results, taken)
        return
    search, run, plan = results.search, results.run, results.plan
    # Postgres: lock the run's row first, so a take-back waits for this transaction (a
    # take-back midway could deadlock this write with the new owner's inserts). SQLite
    # has one writer at a time: the ownership check of the record's UPDATE is enough.
    if postgres and not hold_run(session, run):
        raise _taken_back(session, run)
    applied = apply_plan(session, search, run.id, plan, results.now, thread_replies=thread_replies)
    counts = {"alerts_new": len(applied.new_ids), "alerts_updated": applied.updated}
    if not store_finished(session, search, run, results.record(), counts, advance=results.advance):
        raise _taken_back(session, run)
    record_success(session, search, run)
    session.commit()


def _taken_back(session: Session, run: SearchRun) -> RunTakenBack:
    """Roll back everything the run wrote: the run is another worker's now."""
    session.rollback()
    return RunTakenBack(f"run {run.id} was taken back from worker {run.worker}")


def hold_run(session: Session, run: SearchRun) -> bool:
    """Lock the run's row in this transaction if it is still RUNNING under our claim.

    A write (not a SELECT ... FOR UPDATE) so that SQLite takes its write lock here
    too: no take-back can commit between this check and the run's commit.
    """
    params = {"h_run_id": run.id, "h_running": RunStatus.RUNNING, "h_worker": run.worker}
    held = session.connection().execute(_HOLD_RUN, params)
    return held.rowcount == 1


# Built once (bound per run): a Core statement, so no ORM update nor clause is built per run.
_RUNS = cast(Table, SearchRun.__table__)
_HOLD_RUN = update(_RUNS).where(*held_by_claim("h_")).values(worker=_RUNS.c.worker)


def fits_one_statement(plan: Plan, search: Search) -> bool:
    """Whether the run's write is only new alerts, occurrences and its record."""
    return not (
        plan.closing
        or plan.suppressed_by
        or plan.maintenance
        or any(item.renotify for item in plan.seen)
        or search.consecutive_failures
        or search.failure_notified
    )


# The run's counts come from the rows this statement wrote, as the transactional path
# counts them: alerts inserted, alerts seen again that were still open.
_OWNED_CTE_PG = """
    owned AS (
        SELECT id FROM search_runs
        WHERE id = :run_id AND status = :running AND worker IS NOT DISTINCT FROM CAST(:worker AS text)
        FOR UPDATE
    )
"""
_RUN_RECORD_CTE_PG = """
    finished AS (
        UPDATE search_runs
        SET status = :succeeded, started_at = :started_at, window_start = :window_start,
            window_end = :window_end,
            hits = :hits, alerts_new = (SELECT count(*) FROM a),
            alerts_updated = (SELECT count(*) FROM bumped), suppressed = :suppressed,
            error = :error, duration_ms = :duration_ms, finished_at = :finished_at
        WHERE id = :run_id AND EXISTS (SELECT 1 FROM owned)
    )
"""
_WRITE_RUN_PG = text(
    compact_sql(
        f"WITH {_OWNED_CTE_PG}, {NEW_ALERT_CTES}, {SEEN_AGAIN_CTES}, {_RUN_RECORD_CTE_PG},"
        f" {ADVANCE_CTE_PG}"
        " SELECT 'new' AS kind, id, dedupe_key AS value FROM a"
        " UNION ALL SELECT 'seen', id, channel FROM bumped"
        " UNION ALL SELECT 'owned', id, NULL FROM owned"
    )
)


def _write_one_statement(session: Session, results: RunResults) -> list[SeenAgain]:
    """Postgres, in autocommit: the whole write in one statement; returns the keys found taken."""
    search, run, plan, now = results.search, results.run, results.plan, results.now
    record = results.record()
    params = {
        **new_alert_params(search, run.id, plan.new, now, posts_for(search, plan, run.id)),
        **seen_again_params(plan.seen, run.id, now),
        **record,
        "succeeded": RunStatus.SUCCEEDED.value,
        "running": RunStatus.RUNNING.value,
        "worker": run.worker,
        "advance": results.advance,
    }
    created: dict[str, int] = {}
    still_open = 0
    owned = False
    for kind, alert_id, value in session.connection().execute(_WRITE_RUN_PG, params):
        if kind == "new":
            created[value] = alert_id
        elif kind == "seen":
            still_open += 1
        else:
            owned = True
    if not owned:  # every part of the statement wrote nothing
        raise RunTakenBack(f"run {run.id} was taken back from worker {run.worker}")
    counts = {"alerts_new": len(created), "alerts_updated": still_open}
    mark_written(run, {"status": RunStatus.SUCCEEDED, **record, **counts})
    return fold_taken(session, search, plan.new, created)


def _fold_into_run(session: Session, results: RunResults, taken: list[SeenAgain]) -> None:
    """Add the taken keys' occurrences to their alerts and count them on the run, together."""
    run = results.run
    still_open = add_occurrences(session, taken, run.id, results.now)
    updated = run.alerts_updated + len(still_open)
    session.execute(update(SearchRun).where(SearchRun.id == run.id).values(alerts_updated=updated))
    session.commit()
    mark_written(run, {"alerts_updated": updated})
