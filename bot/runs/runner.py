"""Run a search once: window, source (with a deadline), pipeline, its results stored.

A preview (``411 search test``) and a real run share everything up to the
pipeline's plan; only a real run applies it, through the one writer of
:mod:`bot.runs.results`. The window a run queries comes from
:mod:`bot.runs.window`. :func:`run_search` is the entry point for anything that
runs a search for real (the worker, ``411 search run``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import autocommit_on_postgres
from bot.definitions.checks import OWNER_WARNINGS, run_findings
from bot.definitions.search import SearchDefinition, definition_from_search
from bot.errors import BotError, InvalidInput, NotFound
from bot.logs import FailureLog
from bot.metrics import SOURCE_ERRORS
from bot.models import RunStatus, Search, SearchRun, utcnow
from bot.pipeline import Plan, SearchSpec, decide
from bot.runs.failures import record_failure, warn_owner
from bot.runs.results import RunResults, RunTakenBack, hold_run, store_results
from bot.runs.source_call import RunTimeout, run_source
from bot.runs.window import advances, catchup_note, compute_window
from bot.runtime import Runtime
from bot.text.templates import run_deadline
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
    warnings: list[str] = field(default_factory=list)  # fields and keys: see definitions/checks
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
            "warnings": [*self.warnings, *self.plan.warnings],  # the plan's own, and the checks'
        }


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


@dataclass
class Opened:
    """A run's source, opened, and the window it queries (capped: by max_catchup)."""

    source: Source
    kind: ResultKind
    window: TimeWindow
    capped: bool


def open_run(
    runtime: Runtime,
    defn: SearchDefinition,
    search_id: int,
    last_end: datetime | None,
    now: datetime,
) -> Opened:
    source = open_source(runtime, defn, search_id)
    kind = source.result_kind()
    window, capped = compute_window(defn, kind, last_end, now)
    return Opened(source, kind, window, capped)


@dataclass
class Prepared:
    """A claimed run read beforehand, its source opened and perhaps answered (bot/runs/batch.py).

    ``opened`` is None when the source could not be opened: the run then opens it
    itself and fails as it would have. ``fetch_ms``: how long the cluster took for
    this run's search in the batch's multi-search (counted as its source time), or 0.
    """

    search: Search
    run: SearchRun
    opened: Opened | None
    fetch_ms: float = 0.0


def not_to_run(search: Search, *, scheduled: bool) -> bool:
    """A deleted search never runs; a disabled one only by hand (its run is skipped)."""
    return search.deleted_at is not None or (not search.enabled and scheduled)


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
            preview.warnings = run_findings(source, spec.defn, spec.defn.timeout_seconds)
            result = run_source(source, window, spec.defn.timeout_seconds)
            preview.truncated = result.truncated
            preview.warnings += result.warnings
            with run_deadline(spec.defn.timeout_seconds - (time.perf_counter() - started)):
                preview.plan = decide(
                    session,
                    spec,
                    result,
                    window,
                    now,
                    burst_threshold=runtime.settings.burst_threshold,
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
    prepared: Prepared | None = None,
) -> SearchRun:
    """Run a search for real and return its finished SearchRun.

    ``run_id`` names a run a worker has claimed (RUNNING); without it a new run is
    started here (``411 search run``). ``now`` is the run's clock (tests inject it).
    ``prepared``: the claimed run as its batch read it (then ``run_id`` is its id).
    """
    started = time.perf_counter()
    now = now or utcnow()
    if run_id is None:
        run_id = start_manual_run(runtime, search_id, scheduled_for or now)
    stats = stats if stats is not None else RunStats()
    # One connection for the whole run: one checkout (and one liveness ping), not one
    # per transaction. No transaction stays open on it while the source runs.
    with runtime.engine.connect() as connection, runtime.sessions(bind=connection) as session:
        if prepared is None:
            search, run = _read_search_and_run(session, connection, search_id, run_id)
            opened = None
        else:
            search, run, opened = prepared.search, prepared.run, prepared.opened
            session.add_all([search, run])  # read by the batch's session, written by this one
            stats.source_ms = prepared.fetch_ms
        if not_to_run(search, scheduled=scheduled_for is not None):
            return _finish_skipped(session, run, now)
        defn = definition_from_search(search)
        try:
            opened = opened or open_run(runtime, defn, search_id, search.last_window_end, now)
            kind, window = opened.kind, opened.window
            result = _query(defn, search_id, search.last_window_end, opened, stats)
        except (SourceError, RunTimeout) as exc:
            status = RunStatus.TIMED_OUT if isinstance(exc, RunTimeout) else RunStatus.FAILED
            SOURCE_ERRORS.labels(_error_kind(exc)).inc()
            return _finish_failed(session, search, run, status, describe_error(exc), now, started)
        except Exception as exc:
            log.exception("search %s: run %s failed", search_id, run_id)
            return _finish_failed(
                session, search, run, RunStatus.FAILED, describe_error(exc), now, started
            )
        try:
            # The search's timeout covers the whole run: renders stop when it is used up.
            left = defn.timeout_seconds - (time.perf_counter() - started)
            with (
                autocommit_on_postgres(session, connection),  # the plan's reads: no transaction
                run_deadline(left),
            ):
                plan = decide(
                    session,
                    SearchSpec(search.id, defn),
                    result,
                    window,
                    now,
                    burst_threshold=runtime.settings.burst_threshold,
                )
            results = RunResults(search, run, plan, window, result, advances(kind), now, started)
            store_results(
                session, connection, results, thread_replies=runtime.settings.thread_replies
            )
        except RunTakenBack as exc:  # another worker runs it now: write nothing more
            log.warning("search %s: %s; its results are dropped", search_id, exc)
            return run
        except Exception as exc:
            session.rollback()
            log.exception("search %s: run %s could not store its results", search_id, run_id)
            return _finish_failed(
                session, search, run, RunStatus.FAILED, describe_error(exc), now, started
            )
        # Field and key findings make a search alert wrongly without failing: tell the owner.
        warnings = [w for w in result.warnings if w.startswith(OWNER_WARNINGS)] + plan.warnings
        if warnings:
            with runtime.sessions.begin() as notes:
                warn_owner(notes, search, run, warnings)
    stats.total_ms = (time.perf_counter() - started) * 1000
    _failures_of(search_id, search.name).cleared()
    return run


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, RunTimeout):
        return "timeout"
    return "permanent" if getattr(exc, "permanent", False) else "transient"


# One quiet log per search: a source failing on every run logs when it starts, once a
# minute while it lasts, and when it clears (the full reason is on each run's row).
_FAILURES: dict[int, FailureLog] = {}


def _failures_of(search_id: int, name: str) -> FailureLog:
    if search_id not in _FAILURES:
        _FAILURES[search_id] = FailureLog(log, f"search {search_id} {name!r}")
    return _FAILURES[search_id]


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
    defn: SearchDefinition,
    search_id: int,
    last_end: datetime | None,
    opened: Opened,
    stats: RunStats,
) -> SourceResult:
    source, window = opened.source, opened.window
    source_started = time.perf_counter()
    try:
        findings = run_findings(source, defn, defn.timeout_seconds)
        result = run_source(source, window, defn.timeout_seconds)
        result.warnings[:0] = findings
    finally:
        stats.source_ms += (time.perf_counter() - source_started) * 1000
    if opened.capped and last_end is not None:
        # Kept on the run (its notes), where the owner looks, not only in the worker's log.
        skipped = catchup_note(last_end, window)
        log.warning("search %s: %s", search_id, skipped)
        result.warnings.insert(0, skipped)
    return result


def _finish(run: SearchRun, now: datetime, started: float) -> None:
    elapsed = time.perf_counter() - started
    run.started_at = now  # when it began (a claimed run may wait a moment for a thread)
    run.duration_ms = int(elapsed * 1000)
    run.finished_at = now + timedelta(seconds=elapsed)


def _finish_skipped(session: Session, run: SearchRun, now: datetime) -> SearchRun:
    run.status = RunStatus.SKIPPED
    run.started_at = now
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
    if not hold_run(session, run):  # taken back meanwhile: the run is another worker's now
        session.rollback()
        log.warning(
            "search %s: run %s was taken back; its failure is not recorded", search.id, run.id
        )
        return run
    run.status = status
    run.error = error[:4000]
    _finish(run, now, started)
    record_failure(session, search, run)
    session.commit()
    _failures_of(search.id, search.name).failed(f"run {status.value}: {error[:300]}")
    return run
