"""A run taken back from a worker (its heartbeat stopped) is stored once, by the worker that runs it again.

The first worker's run goes on after the take-back (a stall, a database outage) and
finishes later; its write must find the run no longer its own and write nothing, on
both the Postgres one-statement path and the portable path.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.models import Alert, AlertEvent, RunStatus, Search, SearchRun
from bot.runs.claims import claim_runs, create_due_run, take_back
from bot.runs.runner import run_search
from searches.base import Hit
from tests.memory_source import T0

NOW = T0 if T0.tzinfo else T0.replace(tzinfo=UTC)


@pytest.mark.parametrize("write", ["usual", "transactional"])
@pytest.mark.parametrize("kind", ["hits", "count"])
def test_a_run_taken_back_from_a_stalled_worker_is_stored_once(
    runtime, dataset, make_search, kind, write
) -> None:
    name, data = dataset
    data.hits = [Hit(id="e1", fields={"user": "bob"}, timestamp=NOW - timedelta(seconds=30))]
    data.count = 3
    extra = {"condition": "count > 1"} if kind == "count" else {"key_fields": ["user"]}
    search_id = make_search(name, kind=kind, **extra)
    if write == "transactional":  # a failure streak to end: Postgres takes the portable path
        with runtime.sessions.begin() as session:
            session.execute(
                update(Search).where(Search.id == search_id).values(consecutive_failures=1)
            )
    with runtime.sessions.begin() as session:
        create_due_run(session, search_id, NOW)
        [first] = claim_runs(session, "worker-a", NOW, limit=1)

    data.sleep = 1.5  # worker A's source is slow: A stalls while holding the run
    stalled: dict[str, SearchRun] = {}
    thread = threading.Thread(
        target=lambda: stalled.setdefault(
            "run", run_search(runtime, search_id, NOW, run_id=first.run_id, now=NOW)
        )
    )
    thread.start()
    time.sleep(0.4)  # A is inside its source call now

    with runtime.sessions.begin() as session:  # A's heartbeat stopped: its run goes back
        assert take_back(session, lambda worker: worker == "worker-a", NOW) == 1
        [again] = claim_runs(session, "worker-b", NOW, limit=1)
    assert again.run_id == first.run_id
    data.sleep = 0.0
    run_search(runtime, search_id, NOW, run_id=again.run_id, now=NOW)  # B runs it for real
    thread.join(10)
    assert not thread.is_alive()

    with runtime.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.search_id == search_id)).all()
        run = session.get(SearchRun, first.run_id)
        events = session.scalar(select(func.count(AlertEvent.id)))
    assert len(alerts) == 1 and alerts[0].occurrences == 1, "A's late write added to B's"
    assert events == 1  # one CREATED event, not two
    assert run is not None and run.status == RunStatus.SUCCEEDED and run.worker == "worker-b"
