"""``expect_groups``: a group that went silent counts 0, so "count < 1" per host can fire.

Against the real Elasticsearch and OpenSearch (one field: terms; two fields:
composite), the file source with the same documents, and a real run through the
pipeline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from searches.base import Bucket, SourceConfigError, SourceContext, TimeWindow
from searches.elasticsearch import ElasticsearchSource
from searches.file import FileSource
from tests.search_servers import SearchServer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow(NOW - timedelta(minutes=5), NOW)


def _login(doc_id: str, minutes_ago: float, host: str, dc: str) -> dict[str, Any]:
    at = NOW - timedelta(minutes=minutes_ago)
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": doc_id, "@timestamp": stamp, "event": "login", "host": host, "dc": dc}


# web1 and web2 log in now; web3 did an hour ago and went silent; web4 only two days
# ago (outside the 24 h expected span); a failed event is not a login at all.
DOCS = [
    _login("w1-now", 1, "web1", "east"),
    _login("w1-now-2", 2, "web1", "east"),
    _login("w2-now", 4, "web2", "west"),
    _login("w2-old", 300, "web2", "west"),
    _login("w3-old", 60, "web3", "east"),
    _login("w3-older", 600, "web3", "east"),
    _login("w4-gone", 2 * 24 * 60, "web4", "west"),
    {**_login("w5-failed", 3, "web5", "east"), "event": "failed"},
]
BY_HOST = [
    Bucket({"host": "web1"}, 2),
    Bucket({"host": "web2"}, 1),
    Bucket({"host": "web3"}, 0),
]
BY_HOST_AND_DC = [
    Bucket({"host": "web1", "dc": "east"}, 2),
    Bucket({"host": "web2", "dc": "west"}, 1),
    Bucket({"host": "web3", "dc": "east"}, 0),
]


@pytest.fixture(scope="module")
def logins(search_server: SearchServer) -> Any:
    name = f"test-expect-{NOW:%H%M}-{id(DOCS)}"
    search_server.index_documents(name, DOCS)
    yield name
    search_server.delete_indices(name)


@pytest.fixture
def logins_file(tmp_path: Path) -> Path:
    path = tmp_path / "logins.log"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return path


def _raw(group_by: list[str], **extra: Any) -> dict[str, Any]:
    return {"query": "event:login", "mode": "terms", "group_by": group_by, **extra}


@pytest.mark.parametrize(
    ("group_by", "expected"), [(["host"], BY_HOST), (["host", "dc"], BY_HOST_AND_DC)]
)
def test_a_silent_group_counts_zero_in_elasticsearch(
    logins: str, es_context: SourceContext, group_by: list[str], expected: list[Bucket]
) -> None:
    raw = _raw(group_by, index=logins, expect_groups="24h")
    result = ElasticsearchSource(ElasticsearchSource.parse_config(raw), es_context).run(WINDOW)
    assert result.buckets == expected


@pytest.mark.parametrize(
    ("group_by", "expected"), [(["host"], BY_HOST), (["host", "dc"], BY_HOST_AND_DC)]
)
def test_the_file_source_counts_silent_groups_as_elasticsearch_does(
    logins_file: Path, group_by: list[str], expected: list[Bucket]
) -> None:
    raw = _raw(group_by, path=str(logins_file), expect_groups="24h")
    result = FileSource(FileSource.parse_config(raw), SourceContext()).run(WINDOW)
    assert result.buckets == expected


def test_without_expect_groups_only_groups_with_documents_in_the_window_count(
    logins: str, es_context: SourceContext, logins_file: Path
) -> None:
    es_raw = _raw(["host"], index=logins)
    es_result = ElasticsearchSource(ElasticsearchSource.parse_config(es_raw), es_context)
    file_raw = _raw(["host"], path=str(logins_file))
    file_result = FileSource(FileSource.parse_config(file_raw), SourceContext())
    assert es_result.run(WINDOW).buckets == BY_HOST[:2] == file_result.run(WINDOW).buckets


def test_expect_groups_is_checked_naming_the_field() -> None:
    bad_mode = {"index": "logs", "mode": "count", "expect_groups": "24h"}
    with pytest.raises(SourceConfigError, match="expect_groups: only applies in terms mode"):
        ElasticsearchSource.parse_config(bad_mode)
    with pytest.raises(SourceConfigError, match="expect_groups: 'soon' is not a duration"):
        FileSource.parse_config(_raw(["host"], path="x.log", expect_groups="soon"))
    with pytest.raises(SourceConfigError, match="expect_groups: must be between 1m and"):
        FileSource.parse_config(_raw(["host"], path="x.log", expect_groups="10s"))
