"""A finished run's record: its columns, and where the search's next window starts.

The record is written by Core statements, not an ORM flush; the run object takes
the written values as its committed state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.models import RunStatus, Search, SearchRun
from bot.pipeline import Plan
from searches.base import SourceResult, TimeWindow

_RUNS = cast(Table, SearchRun.__table__)
_SEARCHES = cast(Table, Search.__table__)


def run_record(
    window: TimeWindow,
    result: SourceResult,
    plan: Plan,
    *,
    advance: bool,
    now: datetime,
    elapsed: float,
) -> dict[str, Any]:
    """The columns of a successful run but its alert counts (they come from the writes)."""
    return {
        "window_start": window.start,
        "window_end": covered_until(window, result) if advance else window.end,
        "hits": plan.hits,
        "suppressed": plan.suppressed,
        "error": run_notes(result, plan),
        "duration_ms": int(elapsed * 1000),
        "finished_at": now + timedelta(seconds=elapsed),
    }


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


def run_notes(result: SourceResult, plan: Plan | None = None) -> str | None:
    """What a successful run should still tell its owner (kept in the run's error column)."""
    notes = list(getattr(result, "warnings", []) or [])
    if result.truncated:
        notes.insert(0, "results truncated by the source's size cap; the next run continues")
    problems = dict.fromkeys(n.template_error for n in plan.new if n.template_error) if plan else {}
    notes += [f"template: {problem}" for problem in list(problems)[:3]]  # distinct, the first few
    return "; ".join(notes)[:4000] or None


def mark_written(run: SearchRun, record: dict[str, Any]) -> None:
    """The run object takes the values a statement wrote as its committed state."""
    for name, value in record.items():
        set_committed_value(run, name, value)


def store_finished(
    session: Session, search: Search, run: SearchRun, record: dict[str, Any], *, advance: bool
) -> None:
    """Write the run's record (status succeeded) and, for hit searches, the window's advance.

    One statement on Postgres, where the search's update rides along as a CTE.
    """
    record = {"status": RunStatus.SUCCEEDED, **record}
    params = {f"f_{name}": value for name, value in record.items()}
    params.update(f_run_id=run.id, f_search_id=search.id)
    connection = session.connection()
    together = advance and connection.dialect.name == "postgresql"
    connection.execute(_FINISH_AND_ADVANCE if together else _FINISH_RUN, params)
    if advance and not together:
        connection.execute(_ADVANCE, params)
    mark_written(run, record)


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
