"""Recovery: how fast 411 is back after crashes and after a Slack outage.

1. Event-to-post latency across N kills: `411 worker` processes (subprocesses) run six
   file-source searches (every 10 s) while events arrive every 0.25 s; every few
   seconds a random worker is SIGKILLed and another started. Latency = the post's ts
   minus the moment the event was written (it includes waiting for the next run, up
   to the 10 s schedule). Also counted: events without a post, duplicate posts.
2. Backlog drain: Slack answers 500 to everything while 1,000 alert posts are queued
   (spread over 50 channels; Slack allows about one post per second per channel);
   then Slack returns. Measured: from Slack's return to an empty backlog. A 500 leaves
   each post's outcome unknown, so each channel is searched for earlier posts first
   (conversations.history: ~50 calls a minute for the workspace), which bounds the
   drain from below at about a minute for 50 channels.

    bench/run recovery                       # SQLite, 4 kills
    python bench/recovery.py --db postgres --kills 6   # a private Postgres, 3 workers
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.deliveries import outbox  # noqa: E402
from bot.deliveries.loop import DeliveryLoop  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import (  # noqa: E402
    Alert,
    AlertState,
    Delivery,
    DeliveryStatus,
    Priority,
    Search,
)
from bot.runtime import Runtime  # noqa: E402
from standin import SlackStandIn  # noqa: E402
from standin.faults import ALL, Fault, FaultMode  # noqa: E402
from tests.faults.harness import (  # noqa: E402
    SECRET,
    TOKEN,
    PrivatePostgres,
    Stack,
    wait_until,
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ------------------------------------------------------------------ kills


def kills(base: Path, db: str, count: int, every: float) -> None:
    server = PrivatePostgres().start() if db == "postgres" else None
    url = server.url if server else f"sqlite:///{base / 'kills.db'}"
    workers = 3 if server else 1
    env = {"DELIVERY_BASE_BACKOFF": "0.5", "DELIVERY_MAX_BACKOFF": "5"}
    stack = Stack(base / "kills", url, slow_lines=0, env=env).start()
    stop = threading.Event()

    def feed() -> None:
        while not stop.wait(0.25):
            stack.write_event()

    try:
        for _ in range(workers):
            stack.spawn_worker()
        time.sleep(3)
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        for _ in range(count):
            time.sleep(every)
            victim = random.choice(stack.live_workers)
            stack.kill(victim.pid)
            stack.spawn_worker()
        time.sleep(every)
        stop.set()
        writer.join()
        wanted = {e.id for e in stack.events}
        wait_until(lambda: wanted <= set(stack.alerts()) and stack.unsent() == 0, 120, 0.5)
        alerts = stack.alerts()
        posts = stack.post_times()
        latencies = []
        missing = duplicates = 0
        for event in stack.events:
            alert = alerts.get(event.id)
            times = posts.get(alert[0], []) if alert else []
            if not times:
                missing += 1
                continue
            duplicates += len(times) - 1
            latencies.append(min(times) - event.written_at)
        print(
            f"kills ({db}, {workers} worker{'s' if workers > 1 else ''}, {count} SIGKILLs, "
            f"one every {every:g}s): {len(stack.events)} events, {missing} without a post, "
            f"{duplicates} duplicate posts"
        )
        print(
            f"  event-to-post latency: p50 {statistics.median(latencies):.1f}s, "
            f"p99 {percentile(latencies, 99):.1f}s, max {max(latencies):.1f}s "
            "(includes up to 10 s waiting for the search's next run)"
        )
    finally:
        stop.set()
        stack.stop()
        if server:
            server.stop()


# ---------------------------------------------------------------- backlog


def backlog(base: Path, posts: int, channels: int, outage: float) -> None:
    url = f"sqlite:///{base / 'backlog.db'}"
    upgrade(url)
    standin = SlackStandIn(SECRET, TOKEN).start()  # Slack's limits: ~1 post/s per channel
    names = [f"C_BACKLOG{i:02d}" for i in range(channels)]
    for name in names:
        standin.add_channel(name, name.lower())
    settings = Settings(database_url=url, slack_bot_token=TOKEN, slack_api_url=standin.api_url)
    runtime = Runtime(settings=settings, engine=make_engine(url))
    loop = DeliveryLoop(runtime, base_backoff=0.5, max_backoff=2.0)
    try:
        standin.faults.set(ALL, Fault(FaultMode.ERROR))
        with runtime.sessions.begin() as session:
            search = Search(name="backlog", source="file", schedule="every 1h", owner="U_ALICE")
            session.add(search)
            session.flush()
            for i in range(posts):
                alert = Alert(
                    search_id=search.id,
                    dedupe_key=f"k{i}",
                    state=AlertState.NEW,
                    priority=Priority.MEDIUM,
                    title=f"backlog alert {i}",
                )
                session.add(alert)
                session.flush()
                outbox.enqueue_alert_post(session, alert, names[i % channels])
        loop.start()
        time.sleep(outage)  # every post tried and failed at least once: ambiguous now
        standin.faults.clear()
        back = time.monotonic()
        looked_before = len(standin.calls("conversations.history"))
        done = wait_until(lambda: _unsent(runtime) == 0, timeout=600, step=0.2)
        drained = time.monotonic() - back
        loop.stop()
        sent = sum(len(standin.messages(name)) for name in names)
        print(
            f"backlog: {posts} posts over {channels} channels, Slack down {outage:g}s (HTTP 500): "
            f"empty {drained:.1f}s after Slack returned{'' if done else ' (NOT drained)'}; "
            f"{sent} messages in Slack ({sent - posts} duplicates); "
            f"{len(standin.calls('conversations.history')) - looked_before} conversations.history "
            "look-ups after Slack returned (Slack allows ~50 a minute)"
        )
    finally:
        loop.stop()
        standin.stop()
        runtime.engine.dispose()


def _unsent(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        unsent = Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        return int(session.scalar(select(func.count()).where(unsent)) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--every", type=float, default=6.0, help="seconds between kills")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--outage", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="411-recovery-") as tmp:
        kills(Path(tmp), args.db, args.kills, args.every)
        backlog(Path(tmp), args.posts, args.channels, args.outage)


if __name__ == "__main__":
    main()
