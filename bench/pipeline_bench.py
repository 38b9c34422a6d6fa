"""Pipeline benchmark against the real Elasticsearch.

    python bench/pipeline_bench.py                  # SQLite and Postgres
    python bench/pipeline_bench.py --only sqlite --runs 20

1. Bot overhead per run: 50 Elasticsearch searches (Lucene query, key fields),
   each run --runs times over consecutive one-minute windows of an index with 30
   documents a minute (about 12 matching hits a run, folded into per-user alerts).
   Each run is timed whole (``run_search``: run row, window, source, pipeline,
   alerts, outbox, commit) and the source call inside it; right after it, the
   same query for the same window is issued directly with the elasticsearch
   client. Overhead = run - source call (budget 5 ms); "vs direct" = run - direct.
2. 10,000 matching hits in one run become deduplicated alerts (budget 2 s on
   SQLite): 1,000 keys, all new; the same keys seen again in the next window; and
   10,000 distinct keys.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from searches_support import (
    database,
    es_client,
    index_logs,
    make_runtime,
    minutes,
    service_url,
    summary,
)
from sqlalchemy import event

from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.runs.claims import claim_runs, create_due_run
from bot.runs.runner import RunStats, run_search
from searches.base import TimeWindow
from searches.elasticsearch import build_query, parse_es_config

OVERHEAD_BUDGET_MS = 5.0
TEN_K_BUDGET_S = 2.0
SEARCHES = 50


def create(runtime, index: str, name: str, **fields: object) -> int:
    raw = {
        "name": name,
        "source": "elasticsearch",
        "source_config": {
            "index": index,
            "query": fields.pop("query", "event:(ssh OR sudo)"),
            "max_hits": fields.pop("max_hits", 500),
        },
        "schedule": "every 1m",
        "channel": "C_ALERTS",
        "owner": "U_ALICE",
        **fields,
    }
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "bench").id


SCENARIOS = [
    # (label, Lucene query): about 11 matching hits a run, and a quiet search (most runs: none)
    ("busy: ~11 hits a run", "event:(ssh OR sudo)"),
    ("quiet: mostly no hit", "event:scp AND host:(web00 OR web01)"),
]


def overhead(kind: str, es_url: str, runs: int) -> bool:
    es = es_client(es_url)
    index = f"bench-overhead-{uuid.uuid4().hex[:8]}"
    base = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    start = base - minutes(runs + 1)
    index_logs(es, index, start, base, 30 * (runs + 1))
    ok = True
    try:
        for label, query in SCENARIOS:
            with database(kind) as url:
                runtime = make_runtime(url, es_url)
                ok = measure(runtime, es, index, kind, label, query, start, runs) and ok
                runtime.engine.dispose()
    finally:
        es.indices.delete(index=index)
        es.close()
    return ok


def measure(
    runtime, es, index: str, kind: str, label: str, query: str, start: datetime, runs: int
) -> bool:
    """Runs as the worker makes them: due runs created and claimed in one transaction, then run."""
    ids = [
        create(runtime, index, f"overhead {i}", query=query, key_fields=["user"], lookback="1m")
        for i in range(SEARCHES)
    ]
    config = parse_es_config({"index": index, "query": query, "max_hits": 500})
    totals, sources, directs, overheads, vs_direct, hits, claims = [], [], [], [], [], [], []
    statements: list[int] = []
    counted = [0]  # statements the run sends to its database (a stable measure, unlike time)
    event.listen(runtime.engine, "before_cursor_execute", lambda *_: _count(counted))
    for step in range(runs):
        now = start + minutes(step + 1)
        began = time.perf_counter()
        with runtime.sessions.begin() as session:
            for search_id in ids:
                create_due_run(session, search_id, now)
            claimed = claim_runs(session, "bench", now, limit=len(ids))
        claim_ms = (time.perf_counter() - began) * 1000 / len(claimed)
        for claim in claimed:
            stats = RunStats()
            counted[0] = 0
            run = run_search(
                runtime,
                claim.search_id,
                claim.scheduled_for,
                run_id=claim.run_id,
                now=now,
                stats=stats,
            )
            assert run.status.value == "succeeded", run.error
            window = TimeWindow(run.window_start, run.window_end)  # type: ignore[arg-type]
            began = time.perf_counter()
            es.search(
                index=index,
                query=build_query(config, window),
                sort=[{"@timestamp": {"order": "asc"}}, {"_doc": {"order": "asc"}}],
                size=500,
                track_total_hits=True,
            )
            direct = (time.perf_counter() - began) * 1000
            if step == 0:
                continue  # the first window of each search: connection warm-up
            totals.append(stats.total_ms + claim_ms)
            sources.append(stats.source_ms)
            directs.append(direct)
            overheads.append(stats.overhead_ms + claim_ms)
            vs_direct.append(stats.total_ms + claim_ms - direct)
            hits.append(run.hits)
            claims.append(claim_ms)
            statements.append(counted[0])
    median_overhead = statistics.median(overheads)
    print(
        f"\n[{kind}] bot overhead per run, {label}: {len(totals)} runs of {SEARCHES} searches, {statistics.mean(hits):.1f} hits a run"
    )
    print(f"  direct elasticsearch query (ms)    {summary(directs)}")
    print(f"  source call inside the run (ms)    {summary(sources)}")
    print(f"  whole run incl. claim (ms)         {summary(totals)}")
    print(f"  claim share per run (ms)           {summary(claims)}")
    print(f"  overhead = run - source call (ms)  {summary(overheads)}")
    print(f"  SQL statements per run (no BEGIN)  {summary(statements)}")
    print(f"  run - direct query (ms)            {summary(vs_direct)}")
    ok = median_overhead < OVERHEAD_BUDGET_MS
    print(
        f"  median overhead {median_overhead:.2f} ms, budget {OVERHEAD_BUDGET_MS} ms: {'OK' if ok else 'OVER BUDGET'}"
    )
    return ok


def _count(counter: list[int]) -> None:
    counter[0] += 1


def ten_thousand(kind: str, es_url: str) -> bool:
    es = es_client(es_url)
    index = f"bench-10k-{uuid.uuid4().hex[:8]}"
    base = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    users = [f"u{n:04d}" for n in range(1000)]
    index_logs(es, index, base - minutes(10), base, 10_000, users)
    index_logs_more(es, index, base, base + minutes(10), users)
    ok = True
    try:
        with database(kind) as url:
            runtime = make_runtime(url, es_url)
            keyed = create(
                runtime,
                index,
                "10k keyed",
                query="*",
                key_fields=["user"],
                lookback="10m",
                max_hits=10000,
            )
            distinct = create(
                runtime, index, "10k distinct", query="*", lookback="10m", max_hits=10000
            )
            print(
                f"\n[{kind}] 10,000 matching hits in one run -> deduplicated alerts (budget {TEN_K_BUDGET_S} s)"
            )
            cases = [
                ("1,000 keys, all new", keyed, base),
                ("same 1,000 keys seen again", keyed, base + minutes(10)),
                ("10,000 distinct keys, all new", distinct, base),
            ]
            for label, search_id, now in cases:
                stats = RunStats()
                run = run_search(runtime, search_id, now=now, stats=stats)
                assert run.status.value == "succeeded", run.error
                pipeline_s = (stats.total_ms - stats.source_ms) / 1000
                within = pipeline_s < TEN_K_BUDGET_S
                ok = ok and within
                print(
                    f"  {label:32} hits {run.hits:6}  new {run.alerts_new:6}  updated {run.alerts_updated:5}  "
                    f"source {stats.source_ms / 1000:5.2f} s  pipeline+store {pipeline_s:5.2f} s  "
                    f"whole run {stats.total_ms / 1000:5.2f} s  {'OK' if within else 'OVER BUDGET'}"
                )
            runtime.engine.dispose()
    finally:
        es.indices.delete(index=index)
        es.close()
    return ok


def index_logs_more(es, index: str, start: datetime, end: datetime, users: list[str]) -> None:
    from elasticsearch import helpers

    step = (end - start) / 10_000
    helpers.bulk(
        es,
        (
            {
                "_index": index,
                "_source": {
                    "@timestamp": (start + i * step).isoformat(),
                    "user": users[i % len(users)],
                    "event": "ssh",
                },
            }
            for i in range(10_000)
        ),
        chunk_size=5000,
        refresh="wait_for",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database kind")
    parser.add_argument("--runs", type=int, default=20, help="runs per search (default 20)")
    args = parser.parse_args()
    es_url = service_url("TEST_ELASTICSEARCH_URL")
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    ok = True
    for kind in kinds:
        ok = overhead(kind, es_url, args.runs) and ok
        ok = ten_thousand(kind, es_url) and ok
    print("\nall within budget" if ok else "\nSOME NUMBERS ARE OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    _ = timedelta
    raise SystemExit(main())
