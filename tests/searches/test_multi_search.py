"""Searches sent together in one _msearch find what each finds alone (Elasticsearch and OpenSearch).

The batched sources reach the real server through a small recording proxy, so
the tests see which requests went out: one ``_msearch`` for the batch, and no
search of their own when a source had its answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.config import ClusterConfig, Settings
from searches.base import SourceContext, SourceError, SourceResult
from searches.elasticsearch import ElasticsearchSource
from searches.multi_search import prefetch
from tests.search_servers import SearchServer, answer_as
from tests.searches.conftest import WINDOW

pytestmark = pytest.mark.elasticsearch


FORWARDED = ("content-type", "accept")


@dataclass
class Recorder:
    url: str = ""
    requests: list[str] = field(default_factory=list)
    refuse_msearch: bool = False  # answer 503 to every _msearch (a failing batch)


@pytest.fixture
def proxy(search_server: SearchServer) -> Iterator[Recorder]:
    """The real server behind a proxy that records each request's method and path."""
    upstream = httpx.Client(base_url=search_server.url, timeout=30)
    recorder = Recorder()

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            recorder.requests.append(f"{self.command} {path}")
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if recorder.refuse_msearch and path.endswith("/_msearch"):
                status, kind, data = 503, "text/plain", b"unavailable"
            else:
                forward = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
                answer = upstream.request(self.command, self.path, content=body, headers=forward)
                status, data = answer.status_code, answer.content
                kind = answer.headers.get("content-type", "application/json")
            answer_as(self, search_server.product, status, kind, data)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()
    upstream.close()


@pytest.fixture
def settings(search_server: SearchServer, proxy: Recorder) -> Settings:
    proxied = ClusterConfig(name="proxied", url=proxy.url, product=search_server.product)
    return Settings(clusters={"default": search_server.cluster("default"), "proxied": proxied})


def make(settings: Settings, cluster: str, name: str, **raw: Any) -> ElasticsearchSource:
    context = SourceContext(search_id=hash(name) % 10_000, search_name=name, settings=settings)
    config = ElasticsearchSource.parse_config({"cluster": cluster, **raw})
    return ElasticsearchSource(config, context)


def seen(result: SourceResult) -> tuple[Any, ...]:
    """What a run acts on, comparable."""
    buckets = [(b.key, b.count) for b in result.buckets]
    return result.kind, result.count, [h.id for h in result.hits], buckets, result.truncated


SHAPES: dict[str, dict[str, Any]] = {
    "count": {"mode": "count", "query": "status:500"},
    "count all": {"mode": "count"},
    "hits": {"mode": "hits", "query": "msg:password", "fields": ["user", "id"]},
    "hits capped": {"mode": "hits", "max_hits": 2},
    "terms": {"mode": "terms", "group_by": ["user"]},
    "terms latest": {"mode": "terms", "group_by": ["host"], "latest_document": True},
    "terms threshold": {"mode": "terms", "group_by": ["host"], "min_doc_count": 2},
}


def test_a_batch_answers_each_search_as_alone_in_one_request(
    loaded_index: str, settings: Settings, proxy: Recorder
) -> None:
    alone = {
        name: make(settings, "proxied", name, index=loaded_index, **raw).run(WINDOW)
        for name, raw in SHAPES.items()
    }  # the terms searches' keyword fields are known from here on, as after a first run
    proxy.requests.clear()
    batched = [make(settings, "proxied", n, index=loaded_index, **raw) for n, raw in SHAPES.items()]
    outcome = prefetch([(source, WINDOW) for source in batched])
    assert len(outcome.answered) == len(SHAPES) and outcome.failed == []
    assert set(outcome.took_ms) == {id(source) for source in batched}  # the cluster's own time
    assert proxy.requests == ["POST /_msearch"]
    for name, source in zip(SHAPES, batched, strict=True):
        assert seen(source.run(WINDOW)) == seen(alone[name]), name
    assert proxy.requests == ["POST /_msearch"]  # no run asked on its own
    assert alone["count"].count == 2 and alone["hits capped"].truncated
    assert [b.count for b in alone["terms threshold"].buckets] == [2, 2]


def test_a_rejected_query_fails_only_its_own_run_with_the_message_it_gets_alone(
    loaded_index: str, settings: Settings, proxy: Recorder
) -> None:
    bad = {"mode": "count", "query_dsl": {"range": {"@timestamp": {"gte": "not a date"}}}}
    with pytest.raises(SourceError) as alone:
        make(settings, "proxied", "bad", index=loaded_index, **bad).run(WINDOW)
    proxy.requests.clear()
    good = make(settings, "proxied", "good", index=loaded_index, mode="count")
    rejected = make(settings, "proxied", "bad", index=loaded_index, **bad)
    prefetch([(good, WINDOW), (rejected, WINDOW)])
    assert good.run(WINDOW).count == 6
    with pytest.raises(SourceError) as batched:
        rejected.run(WINDOW)
    assert batched.value.permanent and alone.value.permanent
    assert str(batched.value) == str(alone.value)
    assert "not a date" in str(batched.value)
    assert proxy.requests == ["POST /_msearch"]


def test_a_missing_index_reads_as_it_does_alone(
    loaded_index: str, settings: Settings, proxy: Recorder
) -> None:
    """A named index that does not exist, and a pattern that matches none, in one batch."""
    missing = f"test-missing-{uuid.uuid4().hex[:8]}"
    searches = [
        make(settings, "proxied", "named", index=missing, mode="count"),
        make(settings, "proxied", "pattern", index=f"{missing}-*", mode="count"),
        make(settings, "proxied", "present", index=loaded_index, mode="count"),
    ]
    prefetch([(source, WINDOW) for source in searches])
    for source in searches[:2]:
        with pytest.raises(SourceError) as raised:
            source.run(WINDOW)
        assert raised.value.permanent and raised.value.field == "index"
        assert "matches no index" in str(raised.value)
    assert searches[2].run(WINDOW).count == 6
    # The empty pattern's run asked whether any index matches (as alone); nothing else did.
    assert proxy.requests == ["POST /_msearch", f"POST /{missing}-*/_field_caps"]


def test_when_the_batch_fails_each_search_asks_alone_and_finds_the_same(
    loaded_index: str, settings: Settings, proxy: Recorder
) -> None:
    proxy.refuse_msearch = True
    alone = make(settings, "default", "c", index=loaded_index, mode="count", query="status:500")
    expected = alone.run(WINDOW).count
    sources = [
        make(settings, "proxied", "c", index=loaded_index, mode="count", query="status:500"),
        make(settings, "proxied", "h", index=loaded_index, mode="hits"),
    ]
    outcome = prefetch([(source, WINDOW) for source in sources])
    assert outcome.answered == [] and outcome.failed == sources
    assert sources[0].run(WINDOW).count == expected == 2
    assert len(sources[1].run(WINDOW).hits) == 6
    # The clients retry a 503 a few times; then each search went on its own.
    assert set(proxy.requests[:-2]) == {"POST /_msearch"}
    assert proxy.requests[-2:] == [f"POST /{loaded_index}/_count", f"POST /{loaded_index}/_search"]


def test_searches_that_cannot_be_planned_are_left_to_ask_alone(
    loaded_index: str, settings: Settings, proxy: Recorder
) -> None:
    """A lone search, several group_by fields, a comparing mode: no batch, no answer."""
    lone = make(settings, "proxied", "lone", index=loaded_index, mode="count")
    composite = make(
        settings, "proxied", "two", index=loaded_index, mode="terms", group_by=["user", "host"]
    )
    outcome = prefetch([(lone, WINDOW), (composite, WINDOW)])
    assert outcome.answered == [] and outcome.failed == []
    assert proxy.requests == []
    assert lone.run(WINDOW).count == 6
