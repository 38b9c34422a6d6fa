"""Why the 8.x Elasticsearch client: it speaks to 8.x servers and, through REST API
compatibility, to 9.x servers, while a 9.x client is refused by 8.x servers.

Both kinds of server run here (`scripts/services`): 9.5.4, the newest 9.x served on
Maven Central, and 8.19.21, the newest 8.x. The project's client (8.19.x, through
``searches.elasticsearch.es_client``) indexes documents into each and queries them
back. Underneath, a client marks each request ``compatible-with=<its major>``; a
server of major N accepts N and N-1 and refuses anything else. Raw HTTP shows it:
9.5.4 accepts 8 (our client) and 9, and 8.19.21 refuses 9, which is what every
request of a 9.x client would get from an 8.x cluster. Our client's own marker is
read off its real requests.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import elasticsearch
import httpx
import pytest
from elasticsearch import Elasticsearch, helpers

from bot.config import ClusterConfig
from searches.elasticsearch import es_client
from tests.conftest import unique_name


@dataclass(frozen=True)
class Server:
    url: str
    version: str


@pytest.fixture(params=["9.5.4", "8.19.21"])
def server(request: pytest.FixtureRequest) -> Server:
    """Each real server in turn: the 9.x the suite runs on, and the 8.x."""
    url_fixture = "es_url" if request.param.startswith("9.") else "es8_url"
    return Server(url=request.getfixturevalue(url_fixture), version=request.param)


@pytest.fixture
def client(server: Server) -> Iterator[Elasticsearch]:
    """The project's own client (8.x) for the server."""
    client = es_client(ClusterConfig(name="default", url=server.url))
    yield client
    client.close()


@pytest.fixture
def index(client: Elasticsearch) -> Iterator[str]:
    name = unique_name("test-line-")
    yield name
    client.indices.delete(index=name, ignore_unavailable=True)


def _compat_response(url: str, major: int) -> httpx.Response:
    mime = f"application/vnd.elasticsearch+json; compatible-with={major}"
    headers = {"Accept": mime, "Content-Type": mime}
    return httpx.get(f"{url}/_cluster/health", headers=headers, timeout=10)


def test_it_uses_the_8x_client_line() -> None:
    assert elasticsearch.__versionstr__.startswith("8.")


def test_our_client_reaches_each_server_and_reads_its_version(
    server: Server, client: Elasticsearch
) -> None:
    # The integ-test-zip has no `GET /`; the nodes API tells the version too.
    versions = {node["version"] for node in client.nodes.info()["nodes"].values()}
    assert versions == {server.version}


def test_our_client_indexes_and_queries_documents_on_each_server(
    client: Elasticsearch, index: str
) -> None:
    documents = [
        ("1", "2026-11-29T10:00:00Z", "failed password for root", "web1"),
        ("2", "2026-11-29T10:05:00Z", "failed password for admin", "web2"),
        ("3", "2026-11-29T10:30:00Z", "accepted password for alice", "web1"),
        ("4", "2026-11-28T09:00:00Z", "failed password for bob", "web1"),
    ]
    actions = [
        {"_index": index, "_id": i, "_source": {"@timestamp": at, "message": msg, "host": host}}
        for i, at, msg, host in documents
    ]
    assert helpers.bulk(client, actions, refresh="wait_for") == (4, [])

    window = {
        "range": {"@timestamp": {"gte": "2026-11-29T10:30:00Z||-1h", "lt": "2026-11-29T11:00:00Z"}}
    }
    failed = {"query_string": {"query": "message:failed AND NOT host:web2"}}
    response = client.search(index=index, query={"bool": {"filter": [window, failed]}})
    assert [hit["_id"] for hit in response["hits"]["hits"]] == ["1"]

    assert client.count(index=index, query={"query_string": {"query": "failed"}})["count"] == 3
    aggs = {"hosts": {"terms": {"field": "host.keyword", "min_doc_count": 2}}}
    response = client.search(index=index, size=0, aggs=aggs)
    buckets = response["aggregations"]["hosts"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in buckets] == [("web1", 3)]


def test_the_9x_server_accepts_requests_marked_for_8_and_for_9(es_url: str) -> None:
    assert _compat_response(es_url, 8).status_code == 200
    assert _compat_response(es_url, 9).status_code == 200


def test_the_8x_server_refuses_requests_marked_for_9_as_a_9x_client_sends(es8_url: str) -> None:
    assert _compat_response(es8_url, 8).status_code == 200
    refused = _compat_response(es8_url, 9)
    assert refused.status_code == 400
    cause = refused.json()["error"]["caused_by"]["reason"]
    assert "Accept version must be either version 8 or 7, but found 9" in cause


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.headers.get("Accept", ""))
        body = b'{"count": 0, "_shards": {"total": 0, "successful": 0, "skipped": 0, "failed": 0}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=8")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_our_client_marks_its_requests_compatible_with_8(recorder: str) -> None:
    client = es_client(ClusterConfig(name="default", url=recorder))
    client.count(index="logs")
    assert _Recorder.seen
    assert all("compatible-with=8" in accept for accept in _Recorder.seen)
