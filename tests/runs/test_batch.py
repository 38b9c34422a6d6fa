"""A claimed batch, prepared together (one read, one _msearch), records what each run records alone.

Twin searches (the same definition twice) run once through a prepared batch and
once each on their own, at the same clock, on both databases and both search
products: their run records and alerts must match, and the batch's searches must
have been answered by the multi-search.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.metrics import BATCHED_SEARCHES
from bot.models import Alert, RunStatus, SearchRun
from bot.runs.batch import QueriedAlone, prepare_batch
from bot.runs.claims import claim_runs, create_due_run
from bot.runs.runner import run_search
from bot.runtime import Runtime
from tests.memory_source import T0, create_memory_search
from tests.runs.test_es_windows import index_docs
from tests.search_servers import SearchServer

pytestmark = pytest.mark.elasticsearch

MIN = timedelta(minutes=1)

SHAPES: list[dict[str, Any]] = [
    {"config": {"query": "event:ssh"}, "key_fields": ["user"]},  # hits: an alert per user
    {"config": {"mode": "count", "query": "event:ssh"}, "condition": "count > 2"},
    {"config": {"mode": "terms", "group_by": ["user"]}, "key_fields": ["user"]},
]


def create(runtime: Runtime, index: str, shape: dict[str, Any]) -> int:
    fields = {k: v for k, v in shape.items() if k != "config"}
    config = {"index": index, **shape["config"]}
    return create_memory_search(
        runtime, "unused", source="elasticsearch", source_config=config, lookback="15m", **fields
    )


def outcome(runtime: Runtime, search_id: int) -> tuple[Any, ...]:
    """What a run recorded: status, hits, new alerts, notes, window, and the alerts' keys."""
    with runtime.sessions() as session:
        run = session.scalars(select(SearchRun).where(SearchRun.search_id == search_id)).one()
        keys = sorted(session.scalars(select(Alert.dedupe_key).where(Alert.search_id == search_id)))
    return run.status, run.hits, run.alerts_new, run.error, run.window_start, run.window_end, keys


def answered() -> float:
    return BATCHED_SEARCHES.labels("answered")._value.get()  # type: ignore[no-any-return]


def test_a_prepared_batch_records_what_each_run_records_alone(
    search_server: SearchServer, search_index: str, es_runtime: Runtime
) -> None:
    runtime = es_runtime
    docs = {f"u{n}": T0 - (n + 1) * MIN for n in range(5)} | {"u5": T0 - 20 * MIN}
    index_docs(search_server, search_index, docs)
    # A first run of a terms search tells which field to count by (kept a few minutes),
    # as in a running worker; the batch then carries the terms searches too.
    warm_up = create(runtime, search_index, SHAPES[2])
    assert run_search(runtime, warm_up, T0, now=T0).status is RunStatus.SUCCEEDED
    batched = [create(runtime, search_index, shape) for shape in SHAPES]
    alone = [create(runtime, search_index, shape) for shape in SHAPES]
    with runtime.sessions.begin() as session:
        for search_id in batched:
            create_due_run(session, search_id, T0)
    with runtime.sessions.begin() as session:
        claims = claim_runs(session, "batch-test", T0, 10)
    assert sorted(c.search_id for c in claims) == batched

    before = answered()
    prepared = prepare_batch(runtime, claims, QueriedAlone(), now=T0)
    assert answered() - before == len(SHAPES)  # one _msearch answered them all
    for claim in claims:
        run = run_search(
            runtime, claim.search_id, T0, run_id=claim.run_id, prepared=prepared[claim.run_id]
        )
        assert run.status is RunStatus.SUCCEEDED, run.error
    for search_id in alone:
        run_search(runtime, search_id, T0, now=T0)

    for twin_batched, twin_alone in zip(batched, alone, strict=True):
        assert outcome(runtime, twin_batched) == outcome(runtime, twin_alone)
    hits = outcome(runtime, batched[0])
    assert hits[1] == 5 and hits[6] == [f"user=u{n}" for n in range(5)]  # u5: before the window
    assert outcome(runtime, batched[1])[2] == 1  # the count (5 > 2) alerted
    assert outcome(runtime, batched[2])[1] == 5


def test_a_search_kept_alone_is_not_batched_until_it_is_fast_again() -> None:
    alone = QueriedAlone()
    alone.ran(7, 800.0)
    alone.add([8])
    assert 7 in alone and 8 in alone
    alone.ran(7, 20.0)
    assert 7 not in alone and 8 in alone
