"""Postgres: a run's whole write in one statement, committed on its own.

The common run opens alerts, adds occurrences to open ones and records itself.
Here that is one statement: the CTEs of :mod:`insert_pg` (new alerts, their
events and posts) and :mod:`seen_pg` (alerts seen again, their events and message
updates), the run's record and the advance of the search's window. A single
statement is atomic without a transaction, so it runs in autocommit: one round
trip for the whole write instead of BEGIN, three statements and COMMIT. A run
that needs more (renotifications, closing alerts, suppression counts, a failure
streak to clear) takes the transactional path in :mod:`apply` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.models import RunStatus, Search
from bot.pipeline.insert_pg import NEW_ALERT_CTES, Posts, new_alert_params
from bot.pipeline.plan import Plan
from bot.pipeline.seen_pg import SEEN_AGAIN_CTES, seen_again_params

# The run's counts come from the rows this statement wrote, as the transactional path
# counts them: alerts inserted, alerts seen again that were still open.
_RUN_RECORD_CTES = """
    finished AS (
        UPDATE search_runs
        SET status = :succeeded, window_start = :window_start, window_end = :window_end,
            hits = :hits, alerts_new = (SELECT count(*) FROM a),
            alerts_updated = (SELECT count(*) FROM bumped), suppressed = :suppressed,
            error = :error, duration_ms = :duration_ms, finished_at = :finished_at
        WHERE id = :run_id
    ), advanced AS (
        UPDATE searches SET last_window_end = :window_end
        WHERE id = :search_id AND CAST(:advance AS boolean)
    )
"""
_WRITE_RUN_PG = text(
    f"WITH {NEW_ALERT_CTES}, {SEEN_AGAIN_CTES}, {_RUN_RECORD_CTES}"
    " SELECT 'new' AS kind, id, dedupe_key AS value FROM a"
    " UNION ALL SELECT 'seen', id, channel FROM bumped"
)


def fits_one_statement(plan: Plan, search: Search) -> bool:
    """Whether the run's write is only new alerts, occurrences and its record."""
    return not (
        plan.closing
        or plan.suppressed_by
        or any(item.renotify for item in plan.seen)
        or search.consecutive_failures
        or search.failure_notified
    )


def write_run_pg(
    session: Session,
    search: Search,
    run_id: int,
    plan: Plan,
    now: datetime,
    posts: Posts,
    record: dict[str, Any],
    *,
    advance: bool,
) -> tuple[dict[str, int], dict[int, str | None]]:
    """Write the run; return the alerts it opened (key -> id) and those still open it saw again.

    ``record`` holds the run's columns but its counts (window_start, window_end, hits,
    suppressed, error, duration_ms, finished_at).
    """
    params = {
        **new_alert_params(search, run_id, plan.new, now, posts),
        **seen_again_params(plan.seen, run_id, now),
        **record,
        "succeeded": RunStatus.SUCCEEDED.value,
        "advance": advance,
    }
    created: dict[str, int] = {}
    still_open: dict[int, str | None] = {}
    for kind, alert_id, value in session.connection().execute(_WRITE_RUN_PG, params):
        if kind == "new":
            created[value] = alert_id
        else:
            still_open[alert_id] = value
    return created, still_open
