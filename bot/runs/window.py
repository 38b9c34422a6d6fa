"""A search's window cursor: which stretch of time a run queries, and where the next one starts.

Searches that alert per hit (``ResultKind.HITS``) keep a cursor,
``Search.last_window_end``: each run covers [cursor, now - delay), so every
document is seen once. The first run covers the look-back range, and a catch-up
after downtime is capped by ``max_catchup`` (the run's notes say what was not
searched). A successful run moves the cursor to where its results really end
(:func:`covered_until`); a failed run leaves it, so the next run covers the gap.

Count and bucket searches keep no cursor: they look at the look-back range
ending now, a sliding window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, update

from bot.definitions.search import SearchDefinition
from bot.models import Search
from searches.base import ResultKind, SourceResult, TimeWindow

_SEARCHES = cast(Table, Search.__table__)


def compute_window(
    defn: SearchDefinition, kind: ResultKind, last_window_end: datetime | None, now: datetime
) -> tuple[TimeWindow, bool]:
    """The window to query and whether it was capped by max_catchup."""
    # Whole milliseconds: what Elasticsearch stores, so a stored edge is the queried edge.
    end = now - timedelta(seconds=defn.delay_seconds, microseconds=now.microsecond % 1000)
    lookback = timedelta(seconds=defn.lookback_seconds)
    if not advances(kind) or last_window_end is None:
        return TimeWindow(end - lookback, end), False
    start = min(last_window_end, end)
    cap = timedelta(seconds=defn.max_catchup_seconds)
    if end - start > cap:
        return TimeWindow(end - cap, end), True
    return TimeWindow(start, end), False


def advances(kind: ResultKind) -> bool:
    """Whether a run of this kind moves the cursor (per-hit searches; the others slide)."""
    return kind == ResultKind.HITS


def catchup_note(last_window_end: datetime, window: TimeWindow) -> str:
    """What a capped catch-up did not search, for the run's notes."""
    skipped = f"backlog longer than max_catchup: {last_window_end:%Y-%m-%d %H:%M:%S} to "
    return skipped + f"{window.start:%Y-%m-%d %H:%M:%S} UTC was not searched"


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


# The cursor's move, built once (bound per run). Only the scheduling column of the search:
# a definition edited meanwhile is not overwritten, and updated_at stays (not an edit).
ADVANCE = (
    update(_SEARCHES)
    .where(_SEARCHES.c.id == bindparam("f_search_id"))
    .values(
        last_window_end=bindparam("f_window_end", type_=_SEARCHES.c.last_window_end.type),
        updated_at=_SEARCHES.c.updated_at,
    )
)
# The same move as a CTE of Postgres' one-statement write (bot/runs/results.py),
# whose parameters are named without the prefix.
ADVANCE_CTE_PG = """
    advanced AS (
        UPDATE searches SET last_window_end = :window_end
        WHERE id = :search_id AND CAST(:advance AS boolean) AND EXISTS (SELECT 1 FROM owned)
    )
"""
