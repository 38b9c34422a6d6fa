"""The Elasticsearch source's own overhead per run, next to the same query sent directly.

Run: ``python bench/es_overhead.py [--runs 200]`` with the test cluster up
(``scripts/services start``; the URL comes from TEST_ELASTICSEARCH_URL or
``.services/env``). Indexes 10,000 documents into a throw-away index, then for each
mode runs the identical request both ways, interleaved, and prints medians and p95:
``direct`` is the elasticsearch client alone, ``source`` is ElasticsearchSource.run
(query building, the request, and turning the response into hits/buckets/count);
their difference is what the source adds.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers
from searches_support import service_url

from bot.config import ClusterConfig, Settings
from searches.base import SourceContext, TimeWindow
from searches.elasticsearch import ElasticsearchSource, build_query

START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = TimeWindow(START, START + timedelta(hours=3))


def es_url() -> str:
    return service_url("TEST_ELASTICSEARCH_URL")


def load(client: Elasticsearch, index: str) -> None:
    users = ["alice", "bob", "carol", "dave", "root"]
    actions = (
        {
            "_index": index,
            "_source": {
                "@timestamp": (START + timedelta(seconds=n)).isoformat(),
                "user": users[n % 5],
                "status": [200, 404, 500][n % 3],
                "msg": f"request {n} {'failed' if n % 7 == 0 else 'ok'}",
            },
        }
        for n in range(10_000)
    )
    helpers.bulk(client, actions, refresh="wait_for")


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def report(label: str, direct: list[float], source: list[float]) -> None:
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    overhead = statistics.median(source) - statistics.median(direct)
    print(
        f"{label:<34} direct median {statistics.median(direct):6.2f} ms p95 {p95(direct):6.2f} | "
        f"source median {statistics.median(source):6.2f} ms p95 {p95(source):6.2f} | "
        f"overhead {overhead:+.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    url = es_url()
    client = Elasticsearch(url, request_timeout=30)
    index = f"bench-overhead-{uuid.uuid4().hex[:8]}"
    load(client, index)
    settings = Settings(clusters={"default": ClusterConfig(name="default", url=url)})
    context = SourceContext(search_name="bench", settings=settings)
    modes: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], Any]]] = [
        ("hits: msg:failed, 100 hits", {"query": "msg:failed", "max_hits": 100},
         lambda q: client.search(index=index, query=q, size=100, track_total_hits=True,
                                 sort=[{"@timestamp": {"order": "asc"}}, {"_doc": {"order": "asc"}}])),
        ("count: status:500", {"query": "status:500", "mode": "count"},
         lambda q: client.count(index=index, query=q)),
        ("terms: user (text -> .keyword)", {"mode": "terms", "group_by": ["user"]},
         lambda q: client.search(index=index, query=q, size=0, aggs={"g": {"terms": {
             "field": "user.keyword", "size": 500, "min_doc_count": 1,
            "order": [{"_count": "desc"}, {"_key": "asc"}]}}})),
        ("terms: user, status (composite)", {"mode": "terms", "group_by": ["user", "status"]},
         lambda q: client.search(index=index, query=q, size=0, aggs={"g": {"composite": {
             "size": 1000, "sources": [{"user": {"terms": {"field": "user.keyword"}}},
                                       {"status": {"terms": {"field": "status"}}}]}}})),
    ]  # fmt: skip
    try:
        print(f"{client.count(index=index)['count']} documents in {index}; {args.runs} runs each")
        for label, raw, direct_call in modes:
            source = ElasticsearchSource(
                ElasticsearchSource.parse_config({"index": index, **raw}), context
            )
            query = build_query(source.config, WINDOW)
            direct, through_source = [], []
            for _ in range(args.runs):
                direct.append(timed(lambda: direct_call(query)))  # noqa: B023
                through_source.append(timed(lambda: source.run(WINDOW)))  # noqa: B023
            report(label, direct, through_source)
    finally:
        client.indices.delete(index=index)
        client.close()


if __name__ == "__main__":
    main()
