""" "Open in Discover" links, read back and asked of the real Elasticsearch (and OpenSearch).

A link is only right if Kibana, opening it, would show the documents behind the
alert: so each link is parsed (rison), its query run with its time range on its
index, and the documents found compared with the run's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from bot.config import Settings, load_settings
from searches import rison
from searches.base import SourceContext
from searches.discover import DiscoverQuery, discover_url
from searches.elasticsearch import ElasticsearchSource
from tests.search_servers import SearchServer
from tests.searches.conftest import END, START, WINDOW

KIBANA = "https://kibana.example.com:5601/base"


@pytest.fixture
def kibana_context(search_server: SearchServer) -> SourceContext:
    cluster = search_server.cluster(kibana_url=KIBANA)
    return SourceContext(
        search_id=1, search_name="d", settings=Settings(clusters={"default": cluster})
    )


def read_link(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The link's global (_g) and app (_a) state, as Kibana reads them."""
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == f"{KIBANA}/app/discover"
    assert parsed.fragment.startswith("/?")
    params = dict(part.split("=", 1) for part in parsed.fragment[2:].split("&"))
    return rison.loads(unquote(params["_g"])), rison.loads(unquote(params["_a"]))


def documents_behind(server: SearchServer, url: str) -> list[str]:
    """What Discover shows for the link: its query, over its time range, on its data view."""
    global_state, app_state = read_link(url)
    time = global_state["time"]
    query = app_state["query"]
    assert query["language"] == "lucene"
    clauses: list[dict[str, Any]] = [
        {"range": {"@timestamp": {"gte": time["from"], "lt": time["to"]}}},
        *[f["query"] for f in app_state["filters"]],
    ]
    if query["query"]:
        clauses.append({"query_string": {"query": query["query"]}})
    body = {"query": {"bool": {"filter": clauses}}, "size": 100}
    response = server.client.search(index=app_state["dataSource"]["dataViewId"], body=body)
    return sorted(hit["_id"] for hit in response["hits"]["hits"])


def test_a_hits_searchs_link_shows_the_alerts_documents_in_the_runs_window(
    loaded_index: str, kibana_context: SourceContext, search_server: SearchServer
) -> None:
    config = ElasticsearchSource.parse_config(
        {"index": loaded_index, "query": "status:[500 TO 599]"}
    )
    result = ElasticsearchSource(config, kibana_context).run(WINDOW)
    assert result.link_for is not None and result.link is not None
    global_state, app_state = read_link(result.link)
    assert global_state["time"] == {
        "from": "2026-03-01T10:00:00.000Z",
        "to": "2026-03-01T11:00:00.000Z",
    }
    assert app_state["index"] == app_state["dataSource"]["dataViewId"] == loaded_index
    assert app_state["query"]["query"] == "status:[500 TO 599]"
    assert documents_behind(search_server, result.link) == sorted(hit.id for hit in result.hits)
    # One alert per user (key field "user"): its link narrows to that user's documents.
    by_user: dict[str, list[str]] = {}
    for hit in result.hits:
        by_user.setdefault(hit.fields["user"], []).append(str(hit.id))
    assert set(by_user) == {"Bob", "carol smith"}
    for user, expected in by_user.items():
        link = result.link_for({"user": user})
        assert read_link(link)[1]["query"]["query"] == f'(status:[500 TO 599]) AND user:"{user}"'
        assert documents_behind(search_server, link) == sorted(expected)


def test_a_terms_searchs_link_shows_each_buckets_documents(
    loaded_index: str, kibana_context: SourceContext, search_server: SearchServer
) -> None:
    config = ElasticsearchSource.parse_config(
        {"index": loaded_index, "mode": "terms", "group_by": ["host"], "query": "NOT status:200"}
    )
    result = ElasticsearchSource(config, kibana_context).run(WINDOW)
    assert result.link_for is not None and len(result.buckets) == 4
    for bucket in result.buckets:
        link = result.link_for(bucket.key)
        global_state, app_state = read_link(link)
        assert (global_state["time"]["from"], global_state["time"]["to"]) == (
            START.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            END.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        assert app_state["index"] == loaded_index
        assert len(documents_behind(search_server, link)) == bucket.count


def test_a_query_dsl_search_travels_as_a_filter_and_values_cannot_break_the_query(
    loaded_index: str, search_server: SearchServer
) -> None:
    dsl = {"range": {"bytes": {"gte": 200}}}
    spec = DiscoverQuery(KIBANA, loaded_index, WINDOW, None, dsl, {"user": 'Bob" OR user:*'})
    url = discover_url(spec)
    _, app_state = read_link(url)
    assert app_state["filters"][0]["query"] == dsl
    assert documents_behind(search_server, url) == []  # the quote stayed inside the value
    bob = discover_url(replace(spec, keys={"user": "Bob"}))
    assert documents_behind(search_server, bob) == ["mid-1", "mid-4"]


def test_the_kibana_url_is_read_per_cluster_and_is_no_cluster_itself() -> None:
    settings = load_settings(
        {
            "ELASTICSEARCH_URL": "http://127.0.0.1:9200",
            "ELASTICSEARCH_KIBANA_URL": "https://kibana.example.com",
            "ELASTICSEARCH_LOGS_URL": "http://127.0.0.1:9201",
            "ELASTICSEARCH_LOGS_KIBANA_URL": "https://dashboards.example.com",
        }
    )
    assert set(settings.clusters) == {"default", "logs"}
    assert settings.clusters["default"].kibana_url == "https://kibana.example.com"
    assert settings.clusters["logs"].kibana_url == "https://dashboards.example.com"
