"""The file source answers like Elasticsearch: the same queries over the same documents.

Each query runs through the Elasticsearch source against the real cluster and through
the file source over a file holding the same documents; hits, counts and buckets must
be identical. This is the proof that a search moves from a laptop to a cluster
unchanged (within the subset documented in searches/lucene.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from searches.base import SourceContext, SourceResult
from searches.elasticsearch import ElasticsearchSource
from searches.file import FileSource
from tests.searches.conftest import WINDOW

QUERIES = [
    "*",
    "user:alice",
    "user:ALICE",
    "user:bob",
    "user.keyword:Bob",
    "user.keyword:bob",
    "user:carol",
    'user:"carol smith"',
    'msg:"failed password"',
    'msg:"password failed"',
    "msg:fail*",
    "msg:Fail*",
    "host:web?",
    "msg:/pass.*/",
    "status:500",
    "status:[400 TO 499]",
    "status:{404 TO 503]",
    "status:>=500",
    "status:<404",
    "bytes:[100 TO *]",
    "NOT user:alice",
    "-user:alice",
    "user:alice AND status:200",
    "user:alice OR status:503",
    "user:(alice OR dave)",
    "+user:alice status:404",
    "user:alice -status:404",
    "user:bob OR NOT status:500",
    "(user:alice OR user:bob) AND NOT host:web2",
    "_exists_:error",
    "_exists_:error.code",
    "_exists_:tags",
    "error.code:E42",
    "error.code:e42",
    "error.text:timeout",
    "src.ip:10.0.0.1",
    "src.port:22",
    "tags:ssh",
    "tags:(login OR admin)",
    "timeout",
    "password",
    "admin",
    "10.0.0.2",
    r"msg:admin\/login.php",
    "msg:foo-password",
    "@timestamp:[2026-03-01T10:05:00Z TO 2026-03-01T10:20:00Z}",
    "@timestamp:[2026-03-01 TO 2026-03-01]",
    "@timestamp:{2026-02-28 TO *}",
    "host:web1^2 OR host:db1",
    "user:alice AND status:404 OR host:db1",  # no precedence: +a +b c
    "host:db1 OR user:alice AND status:404",  # a +b +c
    "NOT user:alice AND host:web2",
    "user:carol OR NOT status:500 AND host:db1",
]


@pytest.fixture
def run_both(loaded_index: str, log_file: Path, es_context: SourceContext) -> Any:
    def run(**raw: Any) -> tuple[SourceResult, SourceResult]:
        es = ElasticsearchSource(
            ElasticsearchSource.parse_config({"index": loaded_index, **raw}), es_context
        )
        file = FileSource(
            FileSource.parse_config({"path": str(log_file), "id_field": "id", **raw}),
            SourceContext(),
        )
        return es.run(WINDOW), file.run(WINDOW)

    return run


@pytest.mark.parametrize("query", QUERIES)
def test_it_finds_the_same_hits_as_elasticsearch(run_both: Any, query: str) -> None:
    es_result, file_result = run_both(query=query)
    es_ids = [h.id for h in es_result.hits]
    assert [h.id for h in file_result.hits] == es_ids
    assert [h.timestamp for h in file_result.hits] == [h.timestamp for h in es_result.hits]


def test_the_queries_are_not_trivial(run_both: Any) -> None:
    """Most parity queries select something and leave something out, so parity means much."""
    selective = 0
    for query in QUERIES:
        es_result, _ = run_both(query=query)
        selective += 0 < len(es_result.hits) < 6
    assert selective >= len(QUERIES) - 6


@pytest.mark.parametrize("query", ["*", "status:>=500", "msg:password", "NOT user:alice"])
def test_it_counts_the_same_as_elasticsearch(run_both: Any, query: str) -> None:
    es_result, file_result = run_both(query=query, mode="count")
    assert file_result.count == es_result.count


@pytest.mark.parametrize(
    "group_by",
    [["user"], ["status"], ["host"], ["user", "status"], ["tags"], ["src.ip", "host"]],
)
def test_it_groups_the_same_as_elasticsearch(run_both: Any, group_by: list[str]) -> None:
    es_result, file_result = run_both(mode="terms", group_by=group_by)
    as_pairs = lambda result: [(b.key, b.count) for b in result.buckets]  # noqa: E731
    assert as_pairs(file_result) == as_pairs(es_result)
    assert es_result.buckets


def test_it_applies_min_doc_count_and_caps_like_elasticsearch(run_both: Any) -> None:
    es_result, file_result = run_both(mode="terms", group_by=["host"], min_doc_count=2)
    assert [(b.key, b.count) for b in file_result.buckets] == [
        (b.key, b.count) for b in es_result.buckets
    ]
    es_capped, file_capped = run_both(max_hits=3)
    assert [h.id for h in file_capped.hits] == [h.id for h in es_capped.hits]
    assert file_capped.truncated and es_capped.truncated
