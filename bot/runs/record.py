"""A finished run's record: its columns, typed, written by Core statements.

The record is written by Core statements, not an ORM flush; the run object takes
the written values as its committed state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TypedDict, cast

from sqlalchemy import ColumnElement, Table, bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.models import RunStatus, Search, SearchRun
from bot.pipeline import Plan
from bot.runs.window import ADVANCE, covered_until
from searches.base import SourceResult, TimeWindow

_RUNS = cast(Table, SearchRun.__table__)
_SEARCHES = cast(Table, Search.__table__)


class RunRecord(TypedDict):
    """The columns of a successful run but its status and alert counts (from the writes)."""

    started_at: datetime  # when the run began (a claimed run may wait a moment for a thread)
    window_start: datetime
    window_end: datetime
    hits: int
    suppressed: int
    error: str | None
    duration_ms: int
    finished_at: datetime


def run_record(
    window: TimeWindow,
    result: SourceResult,
    plan: Plan,
    *,
    advance: bool,
    now: datetime,
    elapsed: float,
) -> RunRecord:
    """The record of a successful run that began at ``now``; ``advance``: the cursor moves."""
    return {
        "started_at": now,
        "window_start": window.start,
        "window_end": covered_until(window, result) if advance else window.end,
        "hits": plan.hits,
        "suppressed": plan.suppressed,
        "error": run_notes(result, plan),
        "duration_ms": int(elapsed * 1000),
        "finished_at": now + timedelta(seconds=elapsed),
    }


def run_notes(result: SourceResult, plan: Plan | None = None) -> str | None:
    """What a successful run should still tell its owner (kept in the run's error column)."""
    notes = list(getattr(result, "warnings", []) or [])
    notes += plan.warnings if plan else []
    if result.truncated:
        notes.insert(0, "results truncated by the source's size cap; the next run continues")
    problems = dict.fromkeys(n.template_error for n in plan.new if n.template_error) if plan else {}
    notes += [f"template: {problem}" for problem in list(problems)[:3]]  # distinct, the first few
    return "; ".join(notes)[:4000] or None


def mark_written(run: SearchRun, record: Mapping[str, object]) -> None:
    """The run object takes the values a statement wrote as its committed state."""
    for name, value in record.items():
        set_committed_value(run, name, value)


def store_finished(
    session: Session,
    search: Search,
    run: SearchRun,
    record: RunRecord,
    counts: Mapping[str, int],
    *,
    advance: bool,
) -> bool:
    """Write the run's record (status succeeded) and, for hit searches, the cursor's advance.

    The record is written only while the run is still RUNNING under this worker's
    claim; False when it was taken back meanwhile (the caller rolls everything back).
    One statement on Postgres, where the search's update rides along as a CTE.
    """
    written = {"status": RunStatus.SUCCEEDED, **record, **counts}
    params = {f"f_{name}": value for name, value in written.items()}
    params.update(
        f_run_id=run.id, f_search_id=search.id, f_running=RunStatus.RUNNING, f_worker=run.worker
    )
    connection = session.connection()
    together = advance and connection.dialect.name == "postgresql"
    finished = connection.execute(_FINISH_AND_ADVANCE if together else _FINISH_RUN, params)
    if finished.rowcount != 1:
        return False
    if advance and not together:
        connection.execute(ADVANCE, params)
    mark_written(run, written)
    return True


_FINISHED = (
    "status",
    "started_at",
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


def held_by_claim(prefix: str) -> tuple[ColumnElement[bool], ...]:
    """The run bound as ``<prefix>run_id``, while RUNNING under the claim of ``<prefix>worker``
    (``<prefix>running`` binds RunStatus.RUNNING): the run is still this worker's."""
    return (
        _RUNS.c.id == bindparam(f"{prefix}run_id"),
        _RUNS.c.status == bindparam(f"{prefix}running"),
        _RUNS.c.worker.is_not_distinct_from(
            bindparam(f"{prefix}worker", type_=_RUNS.c.worker.type)
        ),
    )


# Built once (bound per run). The WHERE is the run's ownership: see bot/runs/results.py.
_FINISH_RUN = (
    update(_RUNS)
    .where(*held_by_claim("f_"))
    .values({name: bindparam(f"f_{name}", type_=_RUNS.c[name].type) for name in _FINISHED})
)
_FINISH_AND_ADVANCE = _FINISH_RUN.add_cte(ADVANCE.returning(_SEARCHES.c.id).cte("advanced"))
