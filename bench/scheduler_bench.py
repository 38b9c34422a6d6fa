"""Scheduler benchmark: 10,000 searches on a one-minute schedule against the real Elasticsearch.

    python bench/scheduler_bench.py                 # short form: 1 min warm-up, 2 min measured
    python bench/scheduler_bench.py --full          # the full form: 1 min warm-up, 10 min measured
    python bench/scheduler_bench.py --only postgres --searches 2000 --minutes 1
    BENCH_THREADS=1 python bench/scheduler_bench.py  # run threads per worker (default 4)

Each configuration runs real ``411 worker`` processes (the lease, the batched
scheduler, claims, 4 run threads each) on a fresh database: SQLite with one
worker, Postgres with one and with two. The searches are the demo's four
shapes replicated (per-hit keyed alerts, a count dead-man, two terms
aggregations), every one ``every 1m``, over an index that receives documents
throughout. Printed per configuration, in one line and then in detail:

- due: fire times inside the measured span (from each search's phase);
- ran: those whose run started; covered: those given up as missed (a run left
  waiting past its fire time while a later one was due); never started: the rest
  (no run row, or still pending at the end);
- throughput: runs started per second of the span (any fire time): what the
  workers managed; at 10,000 searches keeping up is 167 runs/s;
- lateness p50/p99: started_at - scheduled_for of the runs that ran;
- CPU ms per run: the worker processes' CPU time over the measured span divided
  by the runs started in it; RSS: the largest worker's peak;
- raw: the CPU time of the raw elasticsearch client issuing the same queries
  (same index, query and window as a sample of the runs), per search, measured in
  this process right after; ratio = CPU per run / raw CPU per search;
- Slack: the searches post to 50 channels of the Slack stand-in (started in this
  process, with Slack's limits: ~1 post a second per channel), and the first worker
  process also runs the delivery loop, as ``411 serve --deliver`` would: its CPU is
  in "CPU per run". Printed: the chat.postMessage and chat.update calls answered
  in the measured span, and the deliveries still waiting at the end.

Budgets (issue 14): 0 covered, 0 never started, lateness p99 < 2 s, CPU <= 2 ms
per run (Slack delivery included), RSS < 150 MB, ratio <= 3. On a shared 2-core
machine the numbers move with whatever else runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from searches_support import (
    database,
    es_client,
    index_logs,
    make_runtime,
    percentile,
    rss_mb,
    service_url,
)
from sqlalchemy import Table, func, select, text

from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.deliveries.loop import DeliveryLoop
from bot.models import Delivery, DeliveryStatus, RunStatus, Search, SearchRun
from bot.runs.scheduler import phase
from searches.base import TimeWindow
from searches.elasticsearch import build_query, parse_es_config
from standin import SlackStandIn, state

state.MAX_RECORDED_CALLS = 10_000_000  # every call of the run kept, so the counts are whole

INTERVAL = 60
BUDGETS = {"lateness_p99_s": 2.0, "cpu_ms_per_run": 2.0, "rss_mb": 150.0, "ratio": 3.0}
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CHANNELS = 50  # Slack takes about a post a second per channel
SLACK_TOKEN = "xoxb-bench"
SLACK_SECRET = "bench-secret"

# The demo's four shapes (bot/demo/searches), on the benchmark's log documents.
SHAPES = [
    {
        "name": "ssh on web07",
        "source_config": {"mode": "hits", "query": "event:ssh AND host:web07"},
        "key_fields": ["user"],
        "lookback": "5m",
    },
    {
        "name": "logins stopped",
        "source_config": {"mode": "count", "query": "event:login"},
        "condition": "count < 1",
        "lookback": "5m",
        "auto_resolve": True,
    },
    {
        "name": "busy users",
        "source_config": {"mode": "terms", "query": "event:sudo", "group_by": ["user"]},
        "condition": "count > 50",
        "key_fields": ["user"],
        "lookback": "2m",
    },
    {
        "name": "busy hosts",
        "source_config": {"mode": "terms", "query": "*", "group_by": ["host"]},
        "condition": "count > 100",
        "key_fields": ["host"],
        "lookback": "2m",
    },
]


@dataclass
class Measured:
    label: str
    due: int
    ran: int
    covered: int
    never_started: int
    lateness: list[float]
    cpu_ms_per_run: float
    gc_ms_per_run: float  # of which the garbage collector
    rss_mb: float
    raw_cpu_ms: float
    throughput: float  # runs started per second of the measured span, whatever their fire time
    slack_posts: int  # chat.postMessage calls answered ok in the measured span
    slack_updates: int  # chat.update calls answered ok in the measured span
    slack_refused: int  # calls answered HTTP 429 (rate limited) in the measured span
    undelivered: int  # deliveries still waiting (pending or retrying) at the end

    @property
    def ratio(self) -> float:
        return self.cpu_ms_per_run / self.raw_cpu_ms if self.raw_cpu_ms else float("nan")

    def line(self) -> str:
        return (
            f"[{self.label}] due {self.due}  ran {self.ran}  covered {self.covered}  "
            f"never started {self.never_started}  throughput {self.throughput:.0f} runs/s  "
            f"lateness p50 {percentile(self.lateness, 50):.2f} s "
            f"p99 {percentile(self.lateness, 99):.2f} s  CPU {self.cpu_ms_per_run:.2f} ms/run "
            f"(GC {self.gc_ms_per_run:.2f})  "
            f"RSS {self.rss_mb:.0f} MB  raw client {self.raw_cpu_ms:.2f} ms/search "
            f"(ratio {self.ratio:.1f}x)  Slack {self.slack_posts} posts {self.slack_updates} "
            f"updates {self.slack_refused} refused (429), {self.undelivered} waiting at the end"
        )

    def within_budget(self) -> bool:
        return (
            self.covered == 0
            and self.never_started == 0
            and percentile(self.lateness, 99) < BUDGETS["lateness_p99_s"]
            and self.cpu_ms_per_run <= BUDGETS["cpu_ms_per_run"]
            and self.rss_mb < BUDGETS["rss_mb"]
            and self.ratio <= BUDGETS["ratio"]
        )


# ------------------------------------------------------------------ set-up


def create_searches(runtime, index: str, count: int) -> list[int]:
    """The four shapes, then copied in the database up to ``count`` searches (fast set-up)."""
    with runtime.sessions.begin() as session:
        for shape in SHAPES:
            raw = {
                **shape,
                "name": f"{shape['name']} 0",
                "source": "elasticsearch",
                "source_config": {**shape["source_config"], "index": index},  # type: ignore[dict-item]
                "schedule": "every 1m",
                "channel": None,
                "owner": None,
            }
            create_search(session, parse_definition(raw), "bench")
        table: Table = Search.__table__  # type: ignore[assignment]
        columns = [c.name for c in table.columns if c.name not in ("id", "name")]
        copies = (count - len(SHAPES)) // len(SHAPES)
        session.execute(
            text(
                f"""
                WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)
                INSERT INTO searches (name, {", ".join(columns)})
                SELECT replace(t.name, ' 0', ' ' || CAST(seq.i AS TEXT)), {", ".join("t." + c for c in columns)}
                FROM searches t CROSS JOIN seq
                ORDER BY seq.i, t.id
                """
            ),
            {"n": copies},
        )
        # Spread over the stand-in's channels, as a team's searches post to several.
        session.execute(
            text(f"UPDATE searches SET channel = 'C_BENCH' || CAST(id % {CHANNELS} AS TEXT)")
        )
        return list(session.scalars(select(Search.id).order_by(Search.id)))


def expected_fires(ids: list[int], start: datetime, end: datetime) -> set[tuple[int, datetime]]:
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    fires = set()
    for search_id in ids:
        first = epoch + timedelta(seconds=phase(search_id, INTERVAL))
        k = int((start - first).total_seconds() // INTERVAL)
        at = first + timedelta(seconds=k * INTERVAL)
        while at < end:
            if at >= start:
                fires.add((search_id, at))
            at += timedelta(seconds=INTERVAL)
    return fires


# ------------------------------------------------------------------ a worker process


def worker_main(args: argparse.Namespace) -> int:
    """One `411 worker` process; prints its CPU seconds over [begin, end) and its peak RSS."""
    from bot.runs.worker import Worker

    logging.basicConfig(level=logging.WARNING)
    runtime = make_runtime(
        args.db, args.es, slack_bot_token=SLACK_TOKEN, slack_api_url=args.slack_url
    )
    worker = Worker(runtime, threads=args.threads, name=f"bench-{os.getpid()}")
    worker.start()
    delivery = DeliveryLoop(runtime) if args.deliver else None
    if delivery is not None:
        delivery.start()
    peak = [rss_mb()]
    stop = threading.Event()
    collecting = GcClock()

    def sample() -> None:
        while not stop.wait(1.0):
            peak[0] = max(peak[0], rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    time.sleep(max(0.0, args.begin - time.time()))
    cpu_begin, gc_begin = time.process_time(), collecting.seconds
    time.sleep(max(0.0, args.end - time.time()))
    cpu, gc_s = time.process_time() - cpu_begin, collecting.seconds - gc_begin
    time.sleep(10)  # runs of the last fire times finish; they are not counted
    stop.set()
    worker.stop()
    if delivery is not None:
        delivery.stop()
    runtime.engine.dispose()
    print(json.dumps({"cpu_s": cpu, "gc_s": gc_s, "rss_peak_mb": peak[0]}), flush=True)
    return 0


class GcClock:
    """Seconds the garbage collector ran in this process (its CPU: it holds the GIL)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


# ------------------------------------------------------------------ one configuration


def bench(kind: str, workers: int, args: argparse.Namespace, es_url: str) -> Measured:
    label = f"{kind}, {workers} worker{'s' if workers > 1 else ''}"
    es = es_client(es_url)
    index = f"bench-sched-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    span = args.warmup + args.minutes + 1
    docs = int(60 * (span + 10))  # a document a second
    index_logs(es, index, now - timedelta(minutes=10), now + timedelta(minutes=span), docs)
    slack = SlackStandIn(SLACK_SECRET, SLACK_TOKEN).start()
    for n in range(CHANNELS):
        slack.add_channel(f"C_BENCH{n}", f"bench-{n}")
    try:
        with database(kind) as url:
            runtime = make_runtime(url, es_url)
            ids = create_searches(runtime, index, args.searches)
            begin = time.time() + 20 + args.warmup * 60  # the workers start, sync, warm up
            end = begin + args.minutes * 60
            command = [sys.executable, __file__, "worker", "--db", url, "--es", es_url]
            command += ["--threads", str(THREADS), "--begin", str(begin), "--end", str(end)]
            command += ["--slack-url", slack.api_url]
            procs = [  # the first worker process also delivers to Slack
                subprocess.Popen(
                    command + (["--deliver"] if n == 0 else []),
                    stdout=subprocess.PIPE,
                    cwd=Path(__file__).parent,
                )
                for n in range(workers)
            ]
            slack_at_begin = _answered(slack, begin)
            slack_at_end = _answered(slack, end)
            reports = [json.loads((p.communicate()[0] or b"{}").decode() or "{}") for p in procs]
            start_at = datetime.fromtimestamp(begin, UTC)
            end_at = datetime.fromtimestamp(end, UTC)
            with runtime.sessions() as session:
                runs = session.execute(
                    select(
                        SearchRun.search_id,
                        SearchRun.scheduled_for,
                        SearchRun.status,
                        SearchRun.started_at,
                        SearchRun.window_start,
                        SearchRun.window_end,
                    ).where(SearchRun.scheduled_for >= start_at - timedelta(minutes=6))
                ).all()
                configs = {
                    search_id: config
                    for search_id, config in session.execute(
                        select(Search.id, Search.source_config)
                    )
                }
                undelivered = session.scalar(
                    select(func.count()).where(
                        Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
                    )
                )
            runtime.engine.dispose()
        expected = expected_fires(ids, start_at, end_at)
        by_fire = {(r.search_id, r.scheduled_for): r for r in runs}
        ran = [by_fire[f] for f in expected if f in by_fire and by_fire[f].started_at is not None]
        covered = [f for f in expected if f in by_fire and by_fire[f].status == RunStatus.SKIPPED]
        started_in_span = [r for r in runs if r.started_at and start_at <= r.started_at < end_at]
        cpu_s = sum(r.get("cpu_s", 0.0) for r in reports)
        gc_s = sum(r.get("gc_s", 0.0) for r in reports)
        sample = random.Random(411).sample(ran, min(len(ran), args.raw_sample))
        return Measured(
            label=label,
            due=len(expected),
            ran=len(ran),
            covered=len(covered),
            never_started=len(expected) - len(ran) - len(covered),
            lateness=[(r.started_at - r.scheduled_for).total_seconds() for r in ran],
            cpu_ms_per_run=cpu_s * 1000 / max(1, len(started_in_span)),
            gc_ms_per_run=gc_s * 1000 / max(1, len(started_in_span)),
            rss_mb=max((r.get("rss_peak_mb", 0.0) for r in reports), default=0.0),
            raw_cpu_ms=raw_client_cpu_ms(es, index, sample, configs),
            throughput=len(started_in_span) / (args.minutes * 60),
            slack_posts=slack_at_end[0] - slack_at_begin[0],
            slack_updates=slack_at_end[1] - slack_at_begin[1],
            slack_refused=slack_at_end[2] - slack_at_begin[2],
            undelivered=undelivered or 0,
        )
    finally:
        slack.stop()
        es.indices.delete(index=index)
        es.close()


def _answered(slack: SlackStandIn, at: float) -> tuple[int, int, int]:
    """At ``at`` (waited for): the chat.postMessage and chat.update calls answered ok so far,
    and the calls refused as rate limited."""
    time.sleep(max(0.0, at - time.time()))
    calls = slack.calls()
    posts, updates = (
        sum(1 for call in calls if call.ok and call.method == method)
        for method in ("chat.postMessage", "chat.update")
    )
    return posts, updates, slack.rate_limited_count


def raw_client_cpu_ms(es, index: str, runs, configs) -> float:
    """CPU per search of the raw client issuing the runs' own queries (same index and window)."""
    calls = []
    for run in runs:
        if run.window_start is None or run.window_end is None:
            continue
        config = parse_es_config({**configs[run.search_id], "index": index})
        query = build_query(config, TimeWindow(run.window_start, run.window_end))
        calls.append((config, query))
    if not calls:
        return float("nan")
    for config, query in calls[:20]:  # the connection pool warmed, as the workers' was
        _raw(es, index, config, query)
    began = time.process_time()
    for config, query in calls:
        _raw(es, index, config, query)
    return (time.process_time() - began) * 1000 / len(calls)


def _raw(es, index: str, config, query) -> None:
    mode = config.mode.value
    if mode == "count":
        es.count(index=index, query=query)
    elif mode == "terms":
        aggs = {"g": {"terms": {"field": config.group_by[0], "size": config.max_buckets}}}
        es.search(index=index, query=query, size=0, aggs=aggs)
    else:
        es.search(
            index=index,
            query=query,
            sort=[{"@timestamp": {"order": "asc"}}, {"_doc": {"order": "asc"}}],
            size=config.max_hits,
            track_total_hits=config.max_hits + 1,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker", help="(internal) one worker process")
    worker.add_argument("--db", required=True)
    worker.add_argument("--es", required=True)
    worker.add_argument("--threads", type=int, default=THREADS)
    worker.add_argument("--begin", type=float, required=True)
    worker.add_argument("--end", type=float, required=True)
    worker.add_argument("--slack-url", required=True)
    worker.add_argument("--deliver", action="store_true", help="also run the delivery loop")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database kind")
    parser.add_argument("--full", action="store_true", help="10 measured minutes (the goal's run)")
    parser.add_argument("--minutes", type=float, help="measured minutes (default 2, --full 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up minutes (default 1)")
    parser.add_argument("--searches", type=int, default=10_000, help="searches (default 10,000)")
    parser.add_argument("--raw-sample", type=int, default=2000, help="queries for the raw client")
    args = parser.parse_args()
    if args.command == "worker":
        return worker_main(args)
    args.minutes = args.minutes or (10.0 if args.full else 2.0)
    logging.basicConfig(level=logging.WARNING)
    es_url = service_url("TEST_ELASTICSEARCH_URL")
    configs = [("sqlite", 1), ("postgres", 1), ("postgres", 2)]
    configs = [c for c in configs if args.only in (None, c[0])]
    form = "full" if args.full else "short"
    print(
        f"{args.searches} searches every {INTERVAL}s, {THREADS} run threads per worker, "
        f"{args.warmup:g} min warm-up, {args.minutes:g} min measured ({form} form); "
        f"{os.cpu_count()} cores, shared"
    )
    results = []
    for kind, workers in configs:
        measured = bench(kind, workers, args, es_url)
        print(measured.line(), flush=True)
        results.append(measured)
    ok = all(m.within_budget() for m in results)
    print("all within budget" if ok else "SOME BUDGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
