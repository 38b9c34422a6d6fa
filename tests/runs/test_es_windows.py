"""Windows against the real Elasticsearch and OpenSearch: documents inside, on the edges of,
and outside (each test runs once per product: ``search_server``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.definitions.search import DefinitionError, parse_definition
from bot.models import Alert, AlertState, Resolution, RunStatus
from bot.runs.runner import preview_search, run_search
from bot.runtime import Runtime
from tests.memory_source import T0, create_memory_search
from tests.search_servers import SearchServer

MS = timedelta(milliseconds=1)
MIN = timedelta(minutes=1)


def index_docs(server: SearchServer, index: str, docs: dict[str, datetime]) -> None:
    server.create_index(
        index, {"properties": {"@timestamp": {"type": "date"}, "user": {"type": "keyword"}}}
    )
    actions = [
        {
            "_index": index,
            "_id": doc_id,
            "_source": {"@timestamp": ts.isoformat(), "user": doc_id, "event": "ssh"},
        }
        for doc_id, ts in docs.items()
    ]
    server.bulk(actions)


def es_search(runtime: Runtime, index: str, **fields: object) -> int:
    config = {"index": index, "query": fields.pop("query", "event:ssh")}
    return create_memory_search(
        runtime, "unused", source="elasticsearch", source_config=config, **fields
    )


def test_a_window_includes_its_start_and_excludes_its_end(search_server, search_index, es_runtime):
    start, end = T0 - 15 * MIN, T0
    index_docs(
        search_server,
        search_index,
        {
            "before-start": start - MS,
            "at-start": start,
            "inside": start + 7 * MIN,
            "just-before-end": end - MS,
            "at-end": end,
            "after-end": end + MIN,
        },
    )
    search_id = es_search(es_runtime, search_index, lookback="15m", key_fields=["user"])
    first = run_search(es_runtime, search_id, now=T0)
    assert first.status == RunStatus.SUCCEEDED, first.error
    assert (first.window_start, first.window_end) == (start, end)
    from bot.models import Alert

    with es_runtime.sessions() as session:
        keys = sorted(a.dedupe_key for a in session.query(Alert).filter_by(search_id=search_id))
    assert keys == ["user=at-start", "user=inside", "user=just-before-end"]
    second = run_search(es_runtime, search_id, now=T0 + 2 * MIN)
    assert (second.window_start, second.hits, second.alerts_new) == (end, 2, 2)  # at-end, after-end
    third = run_search(es_runtime, search_id, now=T0 + 3 * MIN)
    assert third.hits == 0  # nothing is seen twice


def test_a_query_elasticsearch_rejects_fails_the_run_with_its_reason(
    search_server, search_index, es_runtime
):
    index_docs(search_server, search_index, {"a": T0 - MIN})
    # Well-formed query DSL, but Elasticsearch cannot read "yesterday-ish" as a date.
    config = {
        "index": search_index,
        "query_dsl": {"range": {"@timestamp": {"gte": "yesterday-ish"}}},
    }
    search_id = create_memory_search(
        es_runtime, "unused", source="elasticsearch", source_config=config
    )
    run = run_search(es_runtime, search_id, now=T0)
    assert run.status == RunStatus.FAILED
    assert "rejected the query" in (run.error or "") and "Traceback" not in (run.error or "")
    preview = preview_search(es_runtime, search_id, now=T0)
    assert preview.error and "rejected the query" in preview.error


def test_a_malformed_lucene_query_is_refused_before_it_is_saved():
    raw = {
        "name": "bad",
        "source": "elasticsearch",
        "source_config": {"index": "logs-*", "query": "user:(unclosed"},
    }
    with pytest.raises(DefinitionError) as caught:
        parse_definition(raw)
    assert [e.field for e in caught.value.errors] == ["source_config.query"]


def test_a_count_search_on_elasticsearch_fires_the_dead_man_condition(
    search_server, search_index, es_runtime
):
    index_docs(
        search_server, search_index, {"login": T0 - 2 * timedelta(hours=1)}
    )  # outside the last hour
    config = {"index": search_index, "query": "event:ssh", "mode": "count"}
    search_id = create_memory_search(
        es_runtime,
        "unused",
        source="elasticsearch",
        source_config=config,
        lookback="1h",
        condition="count < 1",
    )
    run = run_search(es_runtime, search_id, now=T0)
    assert (run.status, run.hits, run.alerts_new) == (RunStatus.SUCCEEDED, 0, 1)


def test_a_host_that_went_silent_fires_count_below_one_per_host(
    search_server, search_index, es_runtime
):
    from tests.searches.test_expect_groups import DOCS, NOW

    search_server.index_documents(search_index, DOCS)
    config = {
        "index": search_index,
        "query": "event:login",
        "mode": "terms",
        "group_by": ["host"],
        "expect_groups": "24h",
    }
    search_id = create_memory_search(
        es_runtime,
        "unused",
        source="elasticsearch",
        source_config=config,
        lookback="5m",
        condition="count < 1",
        key_fields=["host"],
        auto_resolve=True,
    )
    run = run_search(es_runtime, search_id, now=NOW)
    assert (run.status, run.alerts_new) == (RunStatus.SUCCEEDED, 1)
    preview = preview_search(es_runtime, search_id, now=NOW)
    [alert] = preview.plan.seen  # the same key again: still one open alert, for web3
    assert alert.key == "host=web3" and alert.fields == {"host": "web3", "count": 0}
    # web3 logs in again: its count is 1, the condition clears, the alert resolves itself.
    back = {**DOCS[0], "id": "w3-back", "host": "web3", "@timestamp": NOW.isoformat()}
    search_server.index_documents(search_index, [back])
    later = run_search(es_runtime, search_id, now=NOW + MIN)
    assert (later.status, later.alerts_new) == (RunStatus.SUCCEEDED, 0)
    with es_runtime.sessions() as session:
        states = session.execute(select(Alert.dedupe_key, Alert.state, Alert.resolution)).all()
    assert [tuple(row) for row in states] == [
        ("host=web3", AlertState.RESOLVED, Resolution.CLEARED)
    ]
