"""The Elasticsearch source against an 8.x cluster: the compatibility subset.

The whole suite runs against the newest 9.x; users also run 8.x clusters, so each
mode of the source, and a query the cluster rejects, is run once more here against
the newest 8.x (8.19.21), on the same sample documents and window as
test_elasticsearch.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import ClusterConfig, Settings
from searches.base import ResultKind, SourceContext, SourceError
from searches.elasticsearch import ElasticsearchSource
from tests.search_servers import SearchServer
from tests.searches.conftest import INSIDE, START, WINDOW, sample_documents


@pytest.fixture(scope="module")
def es8_loaded_index(es8_server: SearchServer) -> Iterator[str]:
    """The sample documents in an index of the 8.x server (read only by the tests)."""
    name = f"test-es8-{uuid.uuid4().hex[:12]}"
    es8_server.index_documents(name, sample_documents())
    yield name
    es8_server.delete_indices(name)


@pytest.fixture
def es8_context(es8_url: str) -> SourceContext:
    settings = Settings(clusters={"legacy": ClusterConfig(name="legacy", url=es8_url)})
    return SourceContext(search_id=1, search_name="ssh failures", settings=settings)


def run(context: SourceContext, index: str, **raw: Any) -> Any:
    config = ElasticsearchSource.parse_config({"index": index, "cluster": "legacy", **raw})
    return ElasticsearchSource(config, context).run(WINDOW)


def test_it_returns_the_hits_of_the_window_from_an_8x_cluster(
    es8_loaded_index: str, es8_context: SourceContext
) -> None:
    result = run(es8_context, es8_loaded_index)
    assert result.kind is ResultKind.HITS
    assert [hit.id for hit in result.hits] == INSIDE
    assert result.hits[0].timestamp == START
    assert not result.truncated


def test_it_filters_with_a_lucene_query_on_an_8x_cluster(
    es8_loaded_index: str, es8_context: SourceContext
) -> None:
    result = run(es8_context, es8_loaded_index, query='msg:"failed password" AND NOT user:carol')
    assert [hit.id for hit in result.hits] == ["mid-1"]


def test_it_groups_by_one_field_on_an_8x_cluster(
    es8_loaded_index: str, es8_context: SourceContext
) -> None:
    result = run(es8_context, es8_loaded_index, mode="terms", group_by=["user"])
    assert result.kind is ResultKind.BUCKETS
    assert [(b.key, b.count) for b in result.buckets] == [
        ({"user": "Bob"}, 2),
        ({"user": "alice"}, 2),
        ({"user": "carol smith"}, 1),
        ({"user": "dave"}, 1),
    ]


def test_it_groups_by_several_fields_on_an_8x_cluster(
    es8_loaded_index: str, es8_context: SourceContext
) -> None:
    raw = {"mode": "terms", "group_by": ["user", "status"], "min_doc_count": 2}
    result = run(es8_context, es8_loaded_index, **raw)
    assert [(b.key, b.count) for b in result.buckets] == [({"user": "Bob", "status": 500}, 2)]


def test_it_counts_on_an_8x_cluster(es8_loaded_index: str, es8_context: SourceContext) -> None:
    everything = run(es8_context, es8_loaded_index, mode="count")
    failures = run(es8_context, es8_loaded_index, mode="count", query="status:>=500")
    assert everything.kind is ResultKind.COUNT
    assert (everything.count, failures.count) == (len(INSIDE), 3)


def test_it_reports_a_query_the_8x_cluster_rejects_clearly(
    es8_loaded_index: str, es8_context: SourceContext
) -> None:
    # Valid Lucene for the config check, refused by ES: an unescaped / starts a regex there.
    with pytest.raises(SourceError) as raised:
        run(es8_context, es8_loaded_index, query="msg:admin/login.php")
    assert raised.value.permanent
    message = str(raised.value)
    assert "search 'ssh failures': Elasticsearch cluster 'legacy' rejected the query" in message
    assert "Failed to parse query [msg:admin/login.php]" in message
    assert "Cannot parse" in message and "Traceback" not in message


def test_silent_groups_count_zero_on_an_8x_cluster(es8_server: SearchServer) -> None:
    from tests.searches.test_expect_groups import BY_HOST_AND_DC, DOCS
    from tests.searches.test_expect_groups import WINDOW as NOW_WINDOW

    name = f"test-es8-expect-{uuid.uuid4().hex[:12]}"
    es8_server.index_documents(name, DOCS)
    try:
        settings = Settings(clusters={"default": es8_server.cluster()})
        raw = {
            "index": name,
            "query": "event:login",
            "mode": "terms",
            "group_by": ["host", "dc"],
            "expect_groups": "24h",
        }
        source = ElasticsearchSource(
            ElasticsearchSource.parse_config(raw), SourceContext(settings=settings)
        )
        assert source.run(NOW_WINDOW).buckets == BY_HOST_AND_DC
    finally:
        es8_server.delete_indices(name)
