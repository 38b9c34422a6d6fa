"""A claimed batch of runs, prepared together: one read, one multi-search, then each run alone.

The worker claims runs a few at a time (bot/runs/claims.py). Before handing them to
its threads it prepares them together:

1. one SELECT reads every run's search and run row (not one per run);
2. each run's source is opened and its window computed, at the batch's clock;
3. the searches that can travel together are sent in one ``_msearch`` per cluster
   (searches/multi_search.py), and each source keeps its answer.

Each run then goes on alone in :func:`bot.runs.runner.run_search` with what was
prepared: its source call is answered from the batch's, its pipeline and its
write are as always. A search whose last query was slow, or whose batch failed, is
queried alone (:class:`QueriedAlone`) so it does not hold the others' batches.
Preparing is an optimisation only: when it fails, each run reads and queries on
its own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select

from bot.db import autocommit_on_postgres
from bot.definitions.search import definition_from_search
from bot.metrics import BATCHED_SEARCHES
from bot.models import Search, SearchRun, utcnow
from bot.runs.claims import Claimed
from bot.runs.runner import Opened, Prepared, not_to_run, open_run
from bot.runtime import Runtime
from searches.base import SourceError
from searches.multi_search import prefetch

# A search whose source took longer than this is queried alone on its next run.
SLOW_SOURCE_MS = 500.0

# Built once (bound per batch).
_READ_BATCH = (
    select(Search, SearchRun)
    .join(SearchRun, SearchRun.search_id == Search.id)
    .where(SearchRun.id.in_(bindparam("run_ids", expanding=True)))
)


class QueriedAlone:
    """The searches kept out of batches: slow on their last run, or in a batch that failed."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._lock = threading.Lock()

    def __contains__(self, search_id: int) -> bool:
        with self._lock:
            return search_id in self._ids

    def ran(self, search_id: int, source_ms: float) -> None:
        """A run's source time: slow keeps the search alone, fast lets it join batches again."""
        with self._lock:
            if source_ms > SLOW_SOURCE_MS:
                self._ids.add(search_id)
            else:
                self._ids.discard(search_id)

    def add(self, search_ids: Sequence[int]) -> None:
        with self._lock:
            self._ids.update(search_ids)


def prepare_batch(
    runtime: Runtime, claims: Sequence[Claimed], alone: QueriedAlone, now: datetime | None = None
) -> dict[int, Prepared]:
    """Each claimed run (by run id) read, its source opened and, where it can be, answered.

    The windows end at ``now`` (the batch's clock; tests inject it).
    """
    now = now or utcnow()
    prepared = {
        run.id: _opened(runtime, search, run, now) for search, run in _read(runtime, claims)
    }
    jobs = [
        (p.opened.source, p.opened.window)
        for p in prepared.values()
        if p.opened is not None and p.search.id not in alone
    ]
    outcome = prefetch(jobs)
    alone.add([s.context.search_id for s in outcome.failed if s.context.search_id is not None])
    BATCHED_SEARCHES.labels("answered").inc(len(outcome.answered))
    BATCHED_SEARCHES.labels("failed").inc(len(outcome.failed))
    for item in prepared.values():
        if item.opened is not None:
            # The cluster's own time for this search: a slow one is then queried alone.
            item.fetch_ms = outcome.took_ms.get(id(item.opened.source), 0.0)
    return prepared


def _read(runtime: Runtime, claims: Sequence[Claimed]) -> list[tuple[Search, SearchRun]]:
    """The claimed runs and their searches, in one SELECT (no transaction on Postgres)."""
    with runtime.engine.connect() as connection, runtime.sessions(bind=connection) as session:
        with autocommit_on_postgres(session, connection):
            rows = session.execute(_READ_BATCH, {"run_ids": [c.run_id for c in claims]}).all()
        session.commit()  # other databases: end the read
        session.expunge_all()  # each run's own session takes its objects
    return [(search, run) for search, run in rows]


def _opened(runtime: Runtime, search: Search, run: SearchRun, now: datetime) -> Prepared:
    if not_to_run(search, scheduled=True):
        return Prepared(search, run, None)  # the run records itself skipped
    defn = definition_from_search(search)
    try:
        opened: Opened | None = open_run(runtime, defn, search.id, search.last_window_end, now)
    except SourceError:
        opened = None  # the run opens it again and records why it failed
    return Prepared(search, run, opened)
