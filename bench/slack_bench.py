"""Slack benchmarks, through the local stand-in over HTTP:

1. `/411` ack latency with 20 concurrent commands while a search run is in progress
   (target: p99 < 300 ms).
2. A burst of 1,000 alerts delivered (one summary + its thread listing), and 1,000
   individual alert posts over 10 channels, with the delivery loop deliberately
   pacing faster than the stand-in allows: every HTTP 429 must be honoured (no call to
   a limited lane before its Retry-After ran out) and no delivery lost or doubled.
   For the 1,000 posts it prints the delivery loop's own CPU per post.

    python bench/slack_bench.py [--database-url URL] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from waitress.server import create_server

from bot.alerts import bursts
from bot.config import Settings
from bot.db import make_engine
from bot.deliveries import outbox
from bot.deliveries.loop import DeliveryLoop
from bot.migrate import upgrade
from bot.models import Alert, Delivery, DeliveryStatus, Priority, Search
from bot.runs import runner
from bot.runtime import Runtime
from bot.slack.app import build_app
from bot.slack.web import build_wsgi_app
from bot.text.refs import Ref
from standin import RateLimits, SlackStandIn

SECRET, TOKEN = "bench-secret", "xoxb-bench"
CHANNELS = [f"C_BENCH{i}" for i in range(10)]


def runtime_for(url: str, api_url: str) -> Runtime:
    settings = Settings(
        database_url=url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        admins=("U_ALICE",),
    )
    return Runtime(settings=settings, engine=make_engine(url))


CREATED: list[str] = []  # Postgres databases made by this run, dropped at the end


def drop_created(base: str | None) -> None:
    if base is None or not CREATED:
        return
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def fresh_db(base: str | None, tmp: Path, name: str) -> str:
    if base is None:
        url = f"sqlite:///{tmp / name}.db"
    else:  # a Postgres server: one new database per scenario
        from sqlalchemy import create_engine, make_url, text

        admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
        db = f"bench_{name}_{int(time.time())}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        CREATED.append(db)
        url = make_url(base).set(database=db).render_as_string(hide_password=False)
    upgrade(url)
    return url


def log_file(tmp: Path, lines: int) -> Path:
    path = tmp / "auth.log"
    now = datetime.now(UTC)
    with path.open("w") as out:
        for i in range(lines):
            stamp = (now - timedelta(seconds=(i % 800))).isoformat()
            out.write(
                json.dumps(
                    {
                        "@timestamp": stamp,
                        "event": "login",
                        "outcome": "failure",
                        "user": f"user{i % 5000}",
                        "ip": f"10.0.{i % 250}.{i % 200}",
                    }
                )
                + "\n"
            )
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ----------------------------------------------------------------- 1. ack latency


def serve_bot(url: str, api_url: str, ready: Any) -> None:
    runtime = runtime_for(url, api_url)
    server = create_server(
        build_wsgi_app(runtime, build_app(runtime)), host="127.0.0.1", port=0, threads=32
    )
    ready.put(getattr(server, "effective_port"))  # noqa: B009  (a TcpWSGIServer here)
    server.run()


def keep_running(url: str, api_url: str, search_id: int, stop: Any, runs: Any) -> None:
    runtime = runtime_for(url, api_url)
    while not stop.is_set():
        runner.run_search(runtime, search_id)
        with runs.get_lock():
            runs.value += 1


def bench_ack(db_base: str | None, tmp: Path, rounds: int) -> bool:
    url = fresh_db(db_base, tmp, "ack")
    with SlackStandIn(SECRET, TOKEN) as standin:
        runtime = runtime_for(url, standin.api_url)
        log = log_file(tmp, 300_000)
        with runtime.sessions.begin() as session:
            search = Search(
                name="bench logins",
                source="file",
                source_config={"path": str(log), "query": "outcome:failure"},
                schedule="every 5m",
                channel="C_ALERTS",
                owner="U_ALICE",
                key_fields=["user"],
                lookback_seconds=900,
            )
            session.add(search)
            session.flush()
            search_id = search.id
        # The bot in its own process (as `411 serve`), like Slack and the worker are elsewhere.
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Queue()
        bot = ctx.Process(target=serve_bot, args=(url, standin.api_url, ready))
        bot.start()
        standin.set_bot_url(f"http://127.0.0.1:{ready.get(timeout=60)}/slack/events")
        standin.send_command("U_ALICE", "C_ALERTS", "help")  # warm-up
        # A search run in progress throughout, in its own process as `411 worker` runs it.
        stop = ctx.Event()
        runs = ctx.Value("i", 0)
        worker = ctx.Process(
            target=keep_running, args=(url, standin.api_url, search_id, stop, runs)
        )
        worker.start()
        time.sleep(0.5)
        commands = [
            "help",
            "search list",
            "alerts",
            f"search show {search_id}",
            f"search test {search_id}",
            "suppressions",
            "alerts mine",
            "search lsit",
        ]
        latencies: list[float] = []
        failures = 0
        failed_texts: Counter[str] = Counter()
        with ThreadPoolExecutor(max_workers=20) as pool:
            for r in range(rounds):
                batch = [commands[(r + i) % len(commands)] for i in range(20)]
                replies = pool.map(
                    lambda text: standin.send_command("U_ALICE", "C_ALERTS", text), batch
                )
                for text, reply in zip(batch, replies, strict=True):
                    if reply.ok:
                        latencies.append(reply.elapsed * 1000)
                    else:
                        failures += 1
                        failed_texts[f"{text}: {reply.status} {reply.error}"] += 1
        stop.set()
        worker.join(timeout=120)
        run_count = runs.value
        time.sleep(2)  # let the last answers arrive before the stand-in goes
        bot.terminate()
        runtime.engine.dispose()
    p50, p99 = pct(latencies, 0.50), pct(latencies, 0.99)
    print("== /411 ack latency: 20 concurrent commands while a search run is in progress")
    print(
        f"   commands {len(latencies)} ok, {failures} failed; search runs (300k log lines each) during the test: {run_count}"
    )
    print(
        f"   ack latency ms: p50 {p50:.1f}  p90 {pct(latencies, 0.9):.1f}  p99 {p99:.1f}  max {max(latencies):.1f}"
    )
    if failed_texts:
        print(f"   failed: {dict(failed_texts)}")
    ok = p99 < 300 and failures == 0
    print(f"   target p99 < 300 ms: {'PASS' if ok else 'FAIL'}")
    return ok


# ------------------------------------------------------------- 2. bursts and 429s


class RecordingClient(WebClient):
    """Logs every call's time, lane and outcome, to check that each Retry-After was honoured."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log: list[tuple[float, str, int, float]] = []  # (time, lane, status, retry_after)
        self.lock = threading.Lock()

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        body = kwargs.get("json") or kwargs.get("params") or kwargs.get("data") or {}
        lane = f"post:{body.get('channel')}" if api_method == "chat.postMessage" else api_method
        started = time.monotonic()
        try:
            response = super().api_call(api_method, **kwargs)
            status, retry = 200, 0.0
            return response
        except SlackApiError as exc:
            status = exc.response.status_code
            retry = float(exc.response.headers.get("Retry-After", 0) or 0) if status == 429 else 0.0
            raise
        finally:
            with self.lock:
                self.log.append((started, lane, status, retry))


def early_retries(log: list[tuple[float, str, int, float]]) -> int:
    """Calls made to a lane before the Retry-After of its last 429 had run out."""
    blocked: dict[str, float] = {}
    early = 0
    for at, lane, status, retry in sorted(log):
        if at < blocked.get(lane, 0.0) - 0.01:
            early += 1
        if status == 429:
            blocked[lane] = at + retry
    return early


def deliver(runtime: Runtime, client: RecordingClient, timeout: float) -> tuple[float, float]:
    """Seconds until the outbox is empty, and the CPU seconds the loop's thread spent."""
    # The loop paces at 3 posts/s per channel, above the stand-in's 1/s: 429s will come.
    loop = DeliveryLoop(runtime, client=client, posts_per_second=3.0, post_burst=5)
    started = time.monotonic()
    loop.start()
    assert loop._thread is not None and loop._thread.ident is not None
    clock = time.pthread_getcpuclockid(loop._thread.ident)  # the loop's thread alone
    cpu = 0.0
    try:
        while time.monotonic() - started < timeout:
            with runtime.sessions() as session:
                busy = session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
                )
            cpu = time.clock_gettime(clock)
            if not busy:
                break
            time.sleep(0.2)
    finally:
        loop.stop()
    return time.monotonic() - started, cpu


def add_alerts(runtime: Runtime, count: int, channel_of: Any) -> tuple[int, list[int]]:
    with runtime.sessions.begin() as session:
        search = Search(
            name=f"bench burst {time.monotonic_ns()}",
            source="file",
            source_config={"path": "/dev/null"},
            schedule="every 5m",
            channel=CHANNELS[0],
            owner="U_ALICE",
            key_fields=["user"],
        )
        session.add(search)
        session.flush()
        now = datetime.now(UTC)
        alerts = [
            Alert(
                search_id=search.id,
                dedupe_key=f"user=u{i}",
                title=f"u{i} failed to log in <!channel>",
                body="x",
                content={"user": f"u{i}"},
                priority=Priority.HIGH,
                first_seen=now,
                last_seen=now,
            )
            for i in range(count)
        ]
        session.add_all(alerts)
        session.flush()
        for i, alert in enumerate(alerts):
            if channel_of is not None:
                outbox.enqueue_alert_post(session, alert, channel_of(i))
        return search.id, [a.id for a in alerts]


def bench_bursts(db_base: str | None, tmp: Path) -> bool:
    url = fresh_db(db_base, tmp, "burst")
    limits = RateLimits(
        post_per_channel_per_second=1.0, post_burst=4, post_per_minute_workspace=600
    )
    ok = True
    with SlackStandIn(SECRET, TOKEN, rate_limits=limits) as standin:
        for channel in CHANNELS:
            standin.add_channel(channel, channel.lower(), members=("U_ALICE",))
        runtime = runtime_for(url, standin.api_url)

        # (a) one run's burst of 1,000 alerts: a summary and 100 thread replies in one channel
        search_id, ids = add_alerts(runtime, 1000, None)
        with runtime.sessions.begin() as session:
            bursts.create(
                session, key="run:1:burst", search_id=search_id, channel=CHANNELS[0], alert_ids=ids
            )
        client = RecordingClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[])
        elapsed, _ = deliver(runtime, client, timeout=400)
        (summary,) = standin.messages(CHANNELS[0])
        replies = standin.replies(CHANNELS[0], summary["ts"])
        # A listing's text names its alerts: "Alerts, ..."
        listed = Counter(
            number
            for r in replies
            for part in r["text"].split()
            if (number := Ref.ALERT.parse(part.rstrip(","))) is not None
        )
        lost = len(set(ids) - set(listed))
        doubled = sum(1 for n in listed.values() if n > 1)
        limited = sum(1 for *_, status, _ in client.log if status == 429)
        early = early_retries(client.log)
        print(
            "== burst of 1,000 alerts: one summary + 100 thread replies (10 alerts each), one channel"
        )
        print(
            f"   delivered in {elapsed:.1f} s; posts {len(replies) + 1}; 429s received {limited}; retries before Retry-After {early}"
        )
        print(f"   alerts listed {len(listed)}/1000, lost {lost}, listed twice {doubled}")
        ok &= lost == 0 and doubled == 0 and early == 0 and len(replies) == 100

        # (b) 1,000 individual posts over 10 channels
        _, ids = add_alerts(runtime, 1000, lambda i: CHANNELS[i % len(CHANNELS)])
        client = RecordingClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[])
        elapsed, cpu = deliver(runtime, client, timeout=600)
        keys: Counter[str] = Counter()
        for channel in CHANNELS:
            for message in standin.messages(channel):
                key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
                if key and key.endswith(":post:new"):
                    keys[key] += 1
        expected = {f"alert:{i}:post:new" for i in ids}
        with runtime.sessions() as session:
            failed = session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.FAILED)
            )
            recorded = session.scalar(
                select(func.count())
                .select_from(Alert)
                .where(Alert.id.in_(ids), Alert.message_ts.is_not(None))
            )
        limited = sum(1 for *_, status, _ in client.log if status == 429)
        early = early_retries(client.log)
        lost, doubled = len(expected - set(keys)), sum(1 for n in keys.values() if n > 1)
        print(
            "== 1,000 alert posts over 10 channels (the loop pushes 3/s per channel; Slack allows ~1/s)"
        )
        print(
            f"   delivered in {elapsed:.1f} s ({1000 / elapsed:.1f} posts/s); 429s received {limited}; retries before Retry-After {early}"
        )
        print(
            f"   posts in channels {sum(keys.values())}, lost {lost}, doubled {doubled}, failed {failed}, ts recorded {recorded}/1000"
        )
        print(f"   the delivery loop's thread: {cpu * 1000 / len(ids):.2f} ms CPU per post")
        ok &= lost == 0 and doubled == 0 and early == 0 and failed == 0 and recorded == 1000
        runtime.engine.dispose()
    print(f"   no loss, no doubles, every 429 honoured: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="a Postgres server URL (default: SQLite files)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 20 concurrent commands")
    parser.add_argument("--only", choices=["ack", "burst"], help="run one benchmark")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        try:
            if args.only in (None, "ack"):
                results.append(bench_ack(args.database_url, Path(tmp), args.rounds))
            if args.only in (None, "burst"):
                results.append(bench_bursts(args.database_url, Path(tmp)))
        finally:
            drop_created(args.database_url)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
