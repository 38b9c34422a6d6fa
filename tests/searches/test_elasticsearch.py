"""The Elasticsearch source against the real test cluster."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import pytest

from searches.base import FieldError, ResultKind, SourceConfigError, SourceContext, SourceError
from searches.elasticsearch import ElasticsearchSource, build_query, error_reason
from tests.searches.conftest import END, INSIDE, START, WINDOW


def source(context: SourceContext, **raw: Any) -> ElasticsearchSource:
    return ElasticsearchSource(ElasticsearchSource.parse_config(raw), context)


def ids(result: Any) -> list[str]:
    return [hit.id for hit in result.hits]


def test_it_returns_the_hits_of_the_window_oldest_first_with_start_in_and_end_out(
    loaded_index: str, es_context: SourceContext
) -> None:
    result = source(es_context, index=loaded_index).run(WINDOW)
    assert result.kind is ResultKind.HITS
    assert ids(result) == INSIDE
    assert result.hits[0].timestamp == START
    assert result.hits[-1].timestamp is not None and result.hits[-1].timestamp < END
    assert not result.truncated


def test_it_filters_with_a_lucene_query(loaded_index: str, es_context: SourceContext) -> None:
    query = 'msg:"failed password" AND NOT user:carol'
    result = source(es_context, index=loaded_index, query=query).run(WINDOW)
    assert ids(result) == ["mid-1"]


def test_it_accepts_query_dsl_as_an_object_or_json_text(
    loaded_index: str, es_context: SourceContext
) -> None:
    dsl = {"range": {"bytes": {"gte": 200}}}
    as_object = source(es_context, index=loaded_index, query_dsl=dsl).run(WINDOW)
    as_text = source(es_context, index=loaded_index, query_dsl='{"range": {"bytes": {"gte": 200}}}')
    assert ids(as_object) == ids(as_text.run(WINDOW)) == ["mid-1", "mid-4"]


def test_it_keeps_only_the_fields_asked_for(loaded_index: str, es_context: SourceContext) -> None:
    result = source(es_context, index=loaded_index, fields=["user", "src.ip"]).run(WINDOW)
    assert result.hits[0].fields == {"user": "alice", "src": {"ip": "10.0.0.1"}}
    assert result.hits[3].fields == {"user": "carol smith", "src": {"ip": "192.168.1.9"}}


def test_it_caps_hits_and_says_the_result_was_truncated(
    loaded_index: str, es_context: SourceContext
) -> None:
    result = source(es_context, index=loaded_index, max_hits=2).run(WINDOW)
    assert ids(result) == INSIDE[:2]
    assert result.truncated


def test_it_counts_with_the_count_api(loaded_index: str, es_context: SourceContext) -> None:
    everything = source(es_context, index=loaded_index, mode="count").run(WINDOW)
    failures = source(es_context, index=loaded_index, mode="count", query="status:>=500")
    assert everything.kind is ResultKind.COUNT and everything.count == len(INSIDE)
    assert failures.run(WINDOW).count == 3


def test_it_counts_zero_for_the_dead_man_case(loaded_index: str, es_context: SourceContext) -> None:
    result = source(es_context, index=loaded_index, mode="count", query="user:nobody").run(WINDOW)
    assert result.count == 0


def test_it_groups_by_one_text_field_through_its_keyword_sub_field(
    loaded_index: str, es_context: SourceContext
) -> None:
    result = source(es_context, index=loaded_index, mode="terms", group_by=["user"]).run(WINDOW)
    assert result.kind is ResultKind.BUCKETS
    assert [(b.key, b.count) for b in result.buckets] == [
        ({"user": "Bob"}, 2),  # equal counts: by key, as the keyword sub-field sorts
        ({"user": "alice"}, 2),
        ({"user": "carol smith"}, 1),
        ({"user": "dave"}, 1),
    ]
    assert not result.hits  # an aggregation: no document is downloaded


def test_it_groups_by_several_fields_with_a_minimum_count(
    loaded_index: str, es_context: SourceContext
) -> None:
    raw = {"mode": "terms", "group_by": ["user", "status"], "min_doc_count": 2}
    result = source(es_context, index=loaded_index, **raw).run(WINDOW)
    assert [(b.key, b.count) for b in result.buckets] == [({"user": "Bob", "status": 500}, 2)]


def test_it_caps_buckets(loaded_index: str, es_context: SourceContext) -> None:
    raw = {"mode": "terms", "group_by": ["host"], "max_buckets": 2}
    result = source(es_context, index=loaded_index, **raw).run(WINDOW)
    assert [b.key["host"] for b in result.buckets] == ["web1", "web2"]
    assert result.truncated


def test_it_searches_a_cluster_by_its_name(loaded_index: str, es_context: SourceContext) -> None:
    result = source(es_context, index=loaded_index, cluster="logs", mode="count").run(WINDOW)
    assert result.count == len(INSIDE)


def test_it_reports_a_rejected_query_permanently_with_the_reason(
    loaded_index: str, es_context: SourceContext
) -> None:
    config = replace(ElasticsearchSource.parse_config({"index": loaded_index}), query="user:(alice")
    with pytest.raises(SourceError) as raised:  # as if the syntax check had let it through
        ElasticsearchSource(config, es_context).run(WINDOW)
    assert raised.value.permanent
    message = str(raised.value)
    assert "ssh failures" in message and "rejected the query" in message
    assert "Failed to parse query [user:(alice]" in message
    assert "Cannot parse" in message and "Traceback" not in message


def test_it_refuses_broken_lucene_before_asking_the_cluster() -> None:
    # A pattern matching no index yet would let the cluster accept anything.
    with pytest.raises(SourceConfigError) as raised:
        ElasticsearchSource.parse_config({"index": "logs-*", "query": "user:(alice"})
    (error,) = raised.value.errors
    assert error.field == "query" and "is not valid Lucene syntax" in error.message
    ElasticsearchSource.parse_config({"index": "logs-*", "query": 'user:"x"~2 && !a^2'})


def test_it_reports_a_missing_index_permanently(es_context: SourceContext) -> None:
    with pytest.raises(SourceError) as raised:
        source(es_context, index="no-such-index-a1").run(WINDOW)
    assert raised.value.permanent
    assert "index pattern no-such-index-a1 matches no index on cluster default" in str(raised.value)


def test_it_reports_an_unreachable_cluster_as_transient(es_context: SourceContext) -> None:
    with pytest.raises(SourceError) as raised:
        source(es_context, index="logs-*", cluster="down", timeout_seconds=2).run(WINDOW)
    assert not raised.value.permanent
    assert "'down' unreachable" in str(raised.value)


def test_it_refuses_an_unknown_cluster_naming_the_known_ones(es_context: SourceContext) -> None:
    with pytest.raises(SourceError) as raised:
        source(es_context, index="logs-*", cluster="nope").run(WINDOW)
    assert raised.value.permanent
    assert "unknown Elasticsearch cluster 'nope' (known: default, logs, down)" in str(raised.value)


def test_it_builds_a_url_encoded_link_to_the_raw_data(
    loaded_index: str, es_context: SourceContext
) -> None:
    template = "https://kibana/app/discover#/?_a=(query:'{query}')&_g=(time:(from:'{start}',to:'{end}'))&i={index}"
    query = 'msg:"failed password" & x'
    result = source(
        es_context, index=loaded_index, query=query, link_template=template, mode="count"
    ).run(WINDOW)
    assert result.link is not None
    assert "msg%3A%22failed%20password%22%20%26%20x" in result.link
    assert "from:'2026-03-01T10%3A00%3A00.000Z'" in result.link
    assert unquote(result.link).endswith(f"i={loaded_index}")


def test_it_reports_every_config_problem_naming_its_field() -> None:
    raw = {
        "query": "a",
        "query_dsl": "{not json",
        "mode": "histogram",
        "max_hits": 0,
        "link_template": "{query}{nope}",
        "qeury": "typo",
    }
    with pytest.raises(SourceConfigError) as raised:
        ElasticsearchSource.parse_config(raw)
    fields = {e.field for e in raised.value.errors}
    assert fields == {"index", "query_dsl", "mode", "max_hits", "link_template", "qeury"}
    assert FieldError("index", "is required") in raised.value.errors


def test_it_requires_group_by_in_terms_mode_and_one_query_kind() -> None:
    raw = {"index": "logs", "mode": "terms", "query": "a", "query_dsl": {"match_all": {}}}
    with pytest.raises(SourceConfigError) as raised:
        ElasticsearchSource.parse_config(raw)
    assert {e.field for e in raised.value.errors} == {"group_by", "query"}


def test_it_cuts_the_window_at_milliseconds_start_inclusive_end_exclusive() -> None:
    config = ElasticsearchSource.parse_config({"index": "logs", "time_field": "ts"})
    query = build_query(config, WINDOW)
    time_range = query["bool"]["filter"][0]["range"]["ts"]
    assert time_range["gte"] == "2026-03-01T10:00:00.000Z"
    assert time_range["lt"] == "2026-03-01T11:00:00.000Z"
    assert query["bool"]["filter"][1] == {"match_all": {}}


def test_it_extracts_the_root_cause_from_an_error_body() -> None:
    body = {"error": {"root_cause": [{"reason": "bad"}], "caused_by": {"reason": "worse\nmore"}}}
    assert error_reason(body) == "bad: worse"
    assert error_reason("not json") is None
