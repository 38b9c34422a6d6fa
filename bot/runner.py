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
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.errors import BotError, InvalidInput, NotFound
from bot.models import RunStatus, Search, SearchRun
from bot.pipeline import Plan, SearchSpec, apply_plan, decide
from bot.run_failures import record_failure, record_success
from bot.runtime import Runtime
from bot.searchdef import SearchDefinition, definition_from_search
from bot.source_call import RunTimeout, run_source
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
_RUNS = cast(Table, SearchRun.__table__)  # Core tables: the run's record skips an ORM flush
_SEARCHES = cast(Table, Search.__table__)
WORKER_NAME = f"{socket.gethostname()}:{__import__('os').getpid()}"


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


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    from bot.search_store import find_search

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
        session.flush()
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
    with runtime.sessions() as session:
        _read_without_transaction(session)
        ids = {"search_id": search_id, "run_id": run_id}
        both = session.execute(_SEARCH_AND_RUN, ids).one_or_none()
        if both is None:
            raise NotFound(f"no search {search_id} or run {run_id}")
        search, run = both
        if search.deleted_at is not None or (not search.enabled and scheduled_for is not None):
            return _finish_skipped(session, run, now)
        defn = definition_from_search(search)
        session.commit()  # end the read: no transaction stays open while the source runs
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
            _apply(session, runtime, search, run, defn, kind, window, result, now, started)
            session.commit()
        except Exception as exc:
            session.rollback()
            log.exception("search %s: run %s could not store its results", search_id, run_id)
            return _finish_failed(
                session, search, run, RunStatus.FAILED, describe_error(exc), now, started
            )
    stats.total_ms = (time.perf_counter() - started) * 1000
    return run


def _read_without_transaction(session: Session) -> None:
    """Postgres: the run's one-statement read goes in autocommit, saving a BEGIN and a COMMIT.

    A single SELECT is consistent on its own; the pool restores the connection's
    isolation level when the commit below hands it back, before the results are written.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


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
    if capped:
        log.warning(
            "search %s: backlog longer than max_catchup; starting at %s", search_id, window.start
        )
    source_started = time.perf_counter()
    try:
        return kind, window, run_source(source, window, defn.timeout_seconds)
    finally:
        stats.source_ms = (time.perf_counter() - source_started) * 1000


def _apply(
    session: Session,
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
    """Plan and apply in one transaction, with the run's record and the window's advance."""
    settings = runtime.settings
    spec = SearchSpec(search.id, defn)
    plan = decide(session, spec, result, window, now, burst_threshold=settings.burst_threshold)
    applied = apply_plan(session, search, run.id, plan, now, thread_replies=settings.thread_replies)
    elapsed = time.perf_counter() - started
    finished = {
        "status": RunStatus.SUCCEEDED,
        "window_start": window.start,
        "window_end": covered_until(window, result) if kind == ResultKind.HITS else window.end,
        "hits": plan.hits,
        "alerts_new": len(applied.new_ids),
        "alerts_updated": applied.updated,
        "suppressed": plan.suppressed,
        "error": _notes(result, plan),
        "duration_ms": int(elapsed * 1000),
        "finished_at": now + timedelta(seconds=elapsed),
    }
    _store_finished(session, search, run, finished, advance=kind == ResultKind.HITS)
    record_success(session, search, run)


def _store_finished(
    session: Session, search: Search, run: SearchRun, finished: dict[str, Any], *, advance: bool
) -> None:
    """Write the run's record and, for hit searches, the window's advance: one statement.

    Core statements, not an ORM flush; the run object takes the written values as
    its committed state. On Postgres the search's update rides along as a CTE.
    """
    params = {f"f_{name}": value for name, value in finished.items()}
    params.update(f_run_id=run.id, f_search_id=search.id)
    connection = session.connection()
    together = advance and session.get_bind().dialect.name == "postgresql"
    connection.execute(_FINISH_AND_ADVANCE if together else _FINISH_RUN, params)
    if advance and not together:
        connection.execute(_ADVANCE, params)
    for name, value in finished.items():
        set_committed_value(run, name, value)


_FINISHED = (
    "status",
    "window_start",
    "window_end",
    "hits",
    "alerts_new",
    "alerts_updated",
    "suppressed",
    "error",
    "duration_ms",
    "finished_at",
)
# Built once (bound per run). Only scheduling columns of the search: a definition edited
# meanwhile is not overwritten, and updated_at stays (the advance is not an edit).
_FINISH_RUN = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("f_run_id"))
    .values({name: bindparam(f"f_{name}", type_=_RUNS.c[name].type) for name in _FINISHED})
)
_ADVANCE = (
    update(_SEARCHES)
    .where(_SEARCHES.c.id == bindparam("f_search_id"))
    .values(
        last_window_end=bindparam("f_window_end", type_=_SEARCHES.c.last_window_end.type),
        updated_at=_SEARCHES.c.updated_at,
    )
)
_FINISH_AND_ADVANCE = _FINISH_RUN.add_cte(_ADVANCE.returning(_SEARCHES.c.id).cte("advanced"))


def covered_until(window: TimeWindow, result: SourceResult) -> datetime:
    """Where the next window starts: the window's end, unless a size cap cut the hits.

    Sources return hits oldest first; when the cap cut them, the documents after
    the newest one returned were not seen, so the next run starts at that
    timestamp instead of losing them (a document at exactly that instant may be
    seen twice; dedupe folds it into its alert).
    """
    if not result.truncated:
        return window.end
    stamps = [hit.timestamp for hit in result.hits if hit.timestamp is not None]
    newest = max(stamps, default=None)
    if newest is None or newest <= window.start:
        return window.end  # nothing to resume from: no progress is possible otherwise
    return min(newest, window.end)


def _notes(result: SourceResult, plan: Plan | None = None) -> str | None:
    """What a successful run should still tell its owner (kept in the run's error column)."""
    notes = list(getattr(result, "warnings", []) or [])
    if result.truncated:
        notes.insert(0, "results truncated by the source's size cap; the next run continues")
    problems = dict.fromkeys(n.template_error for n in plan.new if n.template_error) if plan else {}
    notes += [f"template: {problem}" for problem in list(problems)[:3]]  # distinct, the first few
    return "; ".join(notes)[:4000] or None


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
