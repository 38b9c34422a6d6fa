"""Run a search once: window, source (with a deadline), pipeline, bookkeeping.

A preview (``411 search test``) and a real run share everything up to the
pipeline's plan; only a real run applies it. Windows: searches that alert per
hit cover [end of the last successful window, now - delay), so every document
is seen once; the first run covers the look-back range and a catch-up after
downtime is capped by max_catchup. Count and bucket searches look at the
look-back range ending now (a sliding window).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import autocommit_on_postgres
from bot.definitions.search import SearchDefinition, definition_from_search
from bot.errors import BotError, InvalidInput, NotFound
from bot.models import RunStatus, Search, SearchRun, utcnow
from bot.pipeline import Plan, SearchSpec, SeenAgain, apply_plan, decide
from bot.pipeline.apply import fold_taken, posts_for
from bot.pipeline.seen_pg import apply_seen_pg
from bot.pipeline.write_pg import fits_one_statement, write_run_pg
from bot.runs.failures import record_failure, record_success
from bot.runs.record import mark_written, run_record, store_finished
from bot.runs.source_call import RunTimeout, run_source
from bot.runtime import Runtime
from searches.base import (
    ResultKind,
    Source,
    SourceConfigError,
    SourceContext,
    SourceError,
    SourceResult,
    TimeWindow,
)

log = logging.getLogger(__name__)
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunStats:
    """Timings of one run, for benchmarks and logs (milliseconds)."""

    total_ms: float = 0.0
    source_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        return self.total_ms - self.source_ms


@dataclass
class RunPreview:
    search_name: str
    window: TimeWindow
    kind: ResultKind | None
    plan: Plan = field(default_factory=Plan)
    error: str | None = None
    truncated: bool = False
    duration_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search_name,
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
            "kind": self.kind.value if self.kind else None,
            "error": self.error,
            "truncated": self.truncated,
            "duration_ms": self.duration_ms,
            **self.plan.to_dict(),
        }


# ------------------------------------------------------------------ windows


def compute_window(
    defn: SearchDefinition, kind: ResultKind, last_window_end: datetime | None, now: datetime
) -> tuple[TimeWindow, bool]:
    """The window to query and whether it was capped by max_catchup."""
    # Whole milliseconds: what Elasticsearch stores, so a stored edge is the queried edge.
    end = now - timedelta(seconds=defn.delay_seconds, microseconds=now.microsecond % 1000)
    lookback = timedelta(seconds=defn.lookback_seconds)
    if kind != ResultKind.HITS or last_window_end is None:
        return TimeWindow(end - lookback, end), False
    start = min(last_window_end, end)
    cap = timedelta(seconds=defn.max_catchup_seconds)
    if end - start > cap:
        return TimeWindow(end - cap, end), True
    return TimeWindow(start, end), False


# ------------------------------------------------------------------ sources


def open_source(runtime: Runtime, defn: SearchDefinition, search_id: int | None) -> Source:
    from searches.registry import get_source

    try:
        source_class = get_source(defn.source)
        config = source_class.parse_config(defn.source_config)
    except SourceConfigError as exc:
        raise SourceError(f"invalid source configuration: {exc}", permanent=True) from None
    context = SourceContext(
        search_id=search_id,
        search_name=defn.name,
        settings=runtime.settings,
        engine=runtime.engine,
    )
    return source_class(config, context)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, SourceError | BotError | RunTimeout):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------ preview


def preview_search(
    runtime: Runtime,
    defn_or_search: SearchDefinition | Search | int | str,
    window: TimeWindow | None = None,
    *,
    now: datetime | None = None,
) -> RunPreview:
    """What a run would alert on now (or over ``window``), writing nothing."""
    now = now or utcnow()
    with runtime.sessions() as session:
        spec, last_end = _spec_of(session, defn_or_search)
        started = time.perf_counter()
        try:
            source = open_source(runtime, spec.defn, spec.id)
        except SourceError as exc:
            empty = window or TimeWindow(now, now)
            return RunPreview(spec.defn.name, empty, None, error=str(exc))
        kind = source.result_kind()
        if window is None:
            window, _capped = compute_window(spec.defn, kind, last_end, now)
        preview = RunPreview(spec.defn.name, window, kind)
        try:
            result = run_source(source, window, spec.defn.timeout_seconds)
            preview.truncated = result.truncated
            preview.plan = decide(
                session, spec, result, window, now, burst_threshold=runtime.settings.burst_threshold
            )
        except (SourceError, RunTimeout) as exc:
            preview.error = describe_error(exc)
        finally:
            session.rollback()  # a preview never writes, whatever the pipeline touched
        preview.duration_ms = int((time.perf_counter() - started) * 1000)
        return preview


def _spec_of(
    session: Session, ref: SearchDefinition | Search | int | str
) -> tuple[SearchSpec, datetime | None]:
    if isinstance(ref, SearchDefinition):
        return SearchSpec(None, ref), None
    from bot.definitions.store import find_search

    search = ref if isinstance(ref, Search) else find_search(session, ref)
    search = session.merge(search, load=True) if isinstance(ref, Search) else search
    return SearchSpec(search.id, definition_from_search(search)), search.last_window_end


# ---------------------------------------------------------------------- run


def start_manual_run(runtime: Runtime, search_id: int, now: datetime) -> int:
    """A RUNNING run row for a run started by hand; refused while another run is going."""
    with runtime.sessions.begin() as session:
        # The row lock makes a manual run and a worker's claim of the same search take turns.
        search = session.get(Search, search_id, with_for_update=True)
        if search is None or search.deleted_at is not None:
            raise NotFound(f"no search with id {search_id}")
        running = session.scalar(
            select(SearchRun.id).where(
                SearchRun.search_id == search_id, SearchRun.status == RunStatus.RUNNING
            )
        )
        if running is not None:
            raise InvalidInput(f"search {search.name!r} is running already (run {running})")
        run = SearchRun(
            search_id=search_id,
            scheduled_for=now,
            status=RunStatus.RUNNING,
            started_at=now,
            worker=WORKER_NAME,
        )
        session.add(run)
        try:
            session.flush()
        except IntegrityError:  # a worker's claim won the race (one running run per search)
            raise InvalidInput(f"search {search.name!r} is running already") from None
        return run.id


# Built once (bound per run): the run's one read before its source is called.
_SEARCH_AND_RUN = (
    select(Search, SearchRun)
    .join(SearchRun, SearchRun.search_id == Search.id)
    .where(Search.id == bindparam("search_id"), SearchRun.id == bindparam("run_id"))
)


def run_search(
    runtime: Runtime,
    search_id: int,
    scheduled_for: datetime | None = None,
    *,
    run_id: int | None = None,
    now: datetime | None = None,
    stats: RunStats | None = None,
) -> SearchRun:
    """Run a search for real and return its finished SearchRun.

    ``run_id`` names a run a worker has claimed (RUNNING); without it a new run is
    started here (``411 search run``). ``now`` is the run's clock (tests inject it).
    """
    started = time.perf_counter()
    now = now or utcnow()
    if run_id is None:
        run_id = start_manual_run(runtime, search_id, scheduled_for or now)
    stats = stats if stats is not None else RunStats()
    # One connection for the whole run: one checkout (and one liveness ping), not one
    # per transaction. No transaction stays open on it while the source runs.
    with runtime.engine.connect() as connection, runtime.sessions(bind=connection) as session:
        search, run = _read_search_and_run(session, connection, search_id, run_id)
        if search.deleted_at is not None or (not search.enabled and scheduled_for is not None):
            return _finish_skipped(session, run, now)
        defn = definition_from_search(search)
        try:
            kind, window, result = _query(
                runtime, defn, search_id, search.last_window_end, now, stats
            )
        except (SourceError, RunTimeout) as exc:
            status = RunStatus.TIMED_OUT if isinstance(exc, RunTimeout) else RunStatus.FAILED
            return _finish_failed(session, search, run, status, describe_error(exc), now, started)
        except Exception as exc:
            log.exception("search %s: run %s failed", search_id, run_id)
            return _finish_failed(
                session, search, run, RunStatus.FAILED, describe_error(exc), now, started
            )
        try:
            _store_results(
                session, connection, runtime, search, run, defn, kind, window, result, now, started
            )
        except Exception as exc:
            session.rollback()
            log.exception("search %s: run %s could not store its results", search_id, run_id)
            return _finish_failed(
                session, search, run, RunStatus.FAILED, describe_error(exc), now, started
            )
    stats.total_ms = (time.perf_counter() - started) * 1000
    return run


def _read_search_and_run(
    session: Session, connection: Connection, search_id: int, run_id: int
) -> tuple[Search, SearchRun]:
    """The run's one read before its source is called (a lone SELECT: no transaction needed)."""
    with autocommit_on_postgres(session, connection):
        ids = {"search_id": search_id, "run_id": run_id}
        both = session.execute(_SEARCH_AND_RUN, ids).one_or_none()
    session.commit()  # other databases: end the read, so no transaction is open meanwhile
    if both is None:
        raise NotFound(f"no search {search_id} or run {run_id}")
    search, run = both
    return search, run


def _query(
    runtime: Runtime,
    defn: SearchDefinition,
    search_id: int,
    last_end: datetime | None,
    now: datetime,
    stats: RunStats,
) -> tuple[ResultKind, TimeWindow, SourceResult]:
    source = open_source(runtime, defn, search_id)
    kind = source.result_kind()
    window, capped = compute_window(defn, kind, last_end, now)
    source_started = time.perf_counter()
    try:
        result = run_source(source, window, defn.timeout_seconds)
    finally:
        stats.source_ms = (time.perf_counter() - source_started) * 1000
    if capped and last_end is not None:
        # Kept on the run (its notes), where the owner looks, not only in the worker's log.
        skipped = f"backlog longer than max_catchup: {last_end:%Y-%m-%d %H:%M:%S} to "
        skipped += f"{window.start:%Y-%m-%d %H:%M:%S} UTC was not searched"
        log.warning("search %s: %s", search_id, skipped)
        result.warnings.insert(0, skipped)
    return kind, window, result


def _store_results(
    session: Session,
    connection: Connection,
    runtime: Runtime,
    search: Search,
    run: SearchRun,
    defn: SearchDefinition,
    kind: ResultKind,
    window: TimeWindow,
    result: SourceResult,
    now: datetime,
    started: float,
) -> None:
    """Plan, write the alerts, record the run and advance the window: all or nothing.

    On Postgres the plan's reads and, for a common run, the whole write are single
    statements in autocommit (see bot/pipeline/write_pg.py); everything else is one
    transaction.
    """
    spec = SearchSpec(search.id, defn)
    threshold = runtime.settings.burst_threshold
    advance = kind == ResultKind.HITS
    with autocommit_on_postgres(session, connection) as postgres:
        plan = decide(session, spec, result, window, now, burst_threshold=threshold)
        one_statement = postgres and fits_one_statement(plan, search)
        if one_statement:
            record = run_record(
                window, result, plan, advance=advance, now=now, elapsed=_since(started)
            )
            posts = posts_for(search, plan, run.id)
            created, still_open = write_run_pg(
                session, search, run.id, plan, now, posts, record, advance=advance
            )
            counts = {"alerts_new": len(created), "alerts_updated": len(still_open)}
            mark_written(run, {"status": RunStatus.SUCCEEDED, **record, **counts})
            taken = fold_taken(session, search, plan.new, created)
    if one_statement:
        if taken:  # a concurrent writer opened some of the keys: they become occurrences
            _fold_into_run(session, run, taken, now)
        return
    applied = apply_plan(
        session, search, run.id, plan, now, thread_replies=runtime.settings.thread_replies
    )
    record = run_record(window, result, plan, advance=advance, now=now, elapsed=_since(started))
    record.update(alerts_new=len(applied.new_ids), alerts_updated=applied.updated)
    store_finished(session, search, run, record, advance=advance)
    record_success(session, search, run)
    session.commit()


def _since(started: float) -> float:
    return time.perf_counter() - started


def _fold_into_run(session: Session, run: SearchRun, taken: list[SeenAgain], now: datetime) -> None:
    """Add the taken keys' occurrences to their alerts and count them on the run, together."""
    still_open = apply_seen_pg(session, taken, run.id, now)
    updated = run.alerts_updated + len(still_open)
    session.execute(update(SearchRun).where(SearchRun.id == run.id).values(alerts_updated=updated))
    session.commit()
    mark_written(run, {"alerts_updated": updated})


def _finish(run: SearchRun, now: datetime, started: float) -> None:
    elapsed = time.perf_counter() - started
    run.duration_ms = int(elapsed * 1000)
    run.finished_at = now + timedelta(seconds=elapsed)


def _finish_skipped(session: Session, run: SearchRun, now: datetime) -> SearchRun:
    run.status = RunStatus.SKIPPED
    run.error = "the search is disabled or deleted"
    run.finished_at = now
    session.commit()
    return run


def _finish_failed(
    session: Session,
    search: Search,
    run: SearchRun,
    status: RunStatus,
    error: str,
    now: datetime,
    started: float,
) -> SearchRun:
    run.status = status
    run.error = error[:4000]
    _finish(run, now, started)
    record_failure(session, search, run)
    session.commit()
    # One line per failed run in the worker's log; the full reason is on the run row.
    log.warning(
        "search %s %r: run %s %s: %s", search.id, search.name, run.id, status.value, error[:300]
    )
    return run
