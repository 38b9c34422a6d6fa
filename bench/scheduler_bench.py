"""Scheduler benchmark: 1,000 enabled searches on a one-minute schedule, against the real ES.

    python bench/scheduler_bench.py                        # SQLite and Postgres, 3 minutes each
    python bench/scheduler_bench.py --only postgres --minutes 5

A shortened run (default 3 minutes instead of an hour) of the real `411 worker`
machinery in this process: the lease, APScheduler with one job per search, due
runs inserted at fire time, claimed and executed by a pool of 4 threads. Each
search is an Elasticsearch query (Lucene, one-minute windows) over an index that
receives documents throughout. Printed: runs expected (every fire time inside
the measured span), runs made, missed and coalesced ones, schedule lateness
(started_at - scheduled_for) percentiles, run durations, and the process RSS
with the 1,000 searches loaded. Budgets: no missed run, lateness p99 < 2 s,
RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from searches_support import (
    database,
    es_client,
    index_logs,
    make_runtime,
    percentile,
    rss_mb,
    service_url,
    summary,
)
from sqlalchemy import select

from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.models import RunStatus, SearchRun
from bot.runs.scheduler import phase
from bot.runs.worker import Worker

SEARCHES = 1000
INTERVAL = 60
LATENESS_BUDGET_S = 2.0
RSS_BUDGET_MB = 150.0


def create_searches(runtime, index: str) -> list[int]:
    ids = []
    with runtime.sessions.begin() as session:
        for i in range(SEARCHES):
            raw = {
                "name": f"scheduled {i:04d}",
                "source": "elasticsearch",
                "source_config": {"index": index, "query": f"event:ssh AND host:web{i % 30:02d}"},
                "schedule": "every 1m",
                "lookback": "5m",
                "key_fields": ["user"],
                "channel": "C_ALERTS",
            }
            ids.append(create_search(session, parse_definition(raw), "bench").id)
    return ids


def expected_fires(
    search_ids: list[int], start: datetime, end: datetime
) -> set[tuple[int, datetime]]:
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    fires = set()
    for search_id in search_ids:
        first = epoch + timedelta(seconds=phase(search_id, INTERVAL))
        k = int((start - first).total_seconds() // INTERVAL) + 1
        at = first + timedelta(seconds=k * INTERVAL)
        while at < end:
            if at >= start:
                fires.add((search_id, at))
            at += timedelta(seconds=INTERVAL)
    return fires


def bench(kind: str, es_url: str, minutes: float) -> bool:
    es = es_client(es_url)
    index = f"bench-sched-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    index_logs(
        es,
        index,
        now - timedelta(minutes=10),
        now + timedelta(minutes=minutes + 2),
        int(30 * (minutes + 12)),
    )
    try:
        with database(kind) as url:
            runtime = make_runtime(url, es_url)
            ids = create_searches(runtime, index)
            worker = Worker(
                runtime, threads=4, poll_interval=1.0, sync_interval=5.0, name=f"bench-{kind}"
            )
            worker.start()
            while len(worker.scheduler.jobs) < SEARCHES:  # the lease is taken and every job added
                time.sleep(0.1)
            begin = datetime.now(UTC)
            loaded_rss = rss_mb()
            peak = [loaded_rss]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(1.0):
                    peak[0] = max(peak[0], rss_mb())

            threading.Thread(target=sample, daemon=True).start()
            time.sleep(minutes * 60)
            cut = datetime.now(UTC) - timedelta(seconds=10)  # fires after this may still run
            time.sleep(10)
            stop.set()
            worker.stop()
            with runtime.sessions() as session:
                runs = session.execute(
                    select(
                        SearchRun.search_id,
                        SearchRun.scheduled_for,
                        SearchRun.status,
                        SearchRun.started_at,
                        SearchRun.duration_ms,
                        SearchRun.error,
                    )
                ).all()
            runtime.engine.dispose()
    finally:
        es.indices.delete(index=index)
        es.close()
    expected = expected_fires(ids, begin, cut)
    by_fire = {(r.search_id, r.scheduled_for): r for r in runs}
    succeeded = [
        by_fire[f] for f in expected if f in by_fire and by_fire[f].status == RunStatus.SUCCEEDED
    ]
    coalesced = [f for f in expected if f in by_fire and by_fire[f].status == RunStatus.SKIPPED]
    failed = [
        by_fire[f]
        for f in expected
        if f in by_fire and by_fire[f].status in (RunStatus.FAILED, RunStatus.TIMED_OUT)
    ]
    missing = [f for f in expected if f not in by_fire]
    lateness = [(r.started_at - r.scheduled_for).total_seconds() for r in succeeded]
    durations = [float(r.duration_ms or 0) for r in succeeded]
    p99 = percentile(lateness, 99)
    print(
        f"\n[{kind}] {SEARCHES} searches every {INTERVAL}s for {minutes:g} min (a shortened run), 4 run threads"
    )
    print(f"  fire times in the measured span      {len(expected)}")
    print(f"  runs succeeded                       {len(succeeded)}")
    print(f"  missed (no run)                      {len(missing)}")
    print(f"  coalesced into a later run           {len(coalesced)}")
    print(
        f"  failed / timed out                   {len(failed)}"
        + (f"  e.g. {failed[0].error}" if failed else "")
    )
    print(f"  schedule lateness (s)                {summary(lateness)}")
    print(
        f"  run duration (ms)                    {summary(durations)}  mean {statistics.mean(durations) if durations else 0:.1f}"
    )
    print(
        f"  RSS with {SEARCHES} searches loaded     {loaded_rss:.1f} MB (peak while running {peak[0]:.1f} MB)"
    )
    ok = (
        not missing
        and not coalesced
        and not failed
        and p99 < LATENESS_BUDGET_S
        and peak[0] < RSS_BUDGET_MB
    )
    print(
        f"  budgets: no missed run, p99 < {LATENESS_BUDGET_S} s, RSS < {RSS_BUDGET_MB:g} MB: {'OK' if ok else 'NOT MET'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database kind")
    parser.add_argument("--minutes", type=float, default=3.0, help="measured span (default 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    es_url = service_url("TEST_ELASTICSEARCH_URL")
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    results = [bench(kind, es_url, args.minutes) for kind in kinds]
    print("\nall within budget" if all(results) else "\nSOME BUDGETS NOT MET")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
