"""Digest benchmark: the figures and chart data over 1,000,000 alerts, on SQLite and Postgres.

    python bench/digest_bench.py                 # both databases, 1,000,000 alerts
    python bench/digest_bench.py --alerts 200000 --only sqlite

Postgres comes from TEST_DATABASE_URL (environment or `.services/env`, written by
`scripts/services start`); the benchmark creates and drops its own database there.
SQLite uses a temporary file. Both are migrated to head with `bot.migrate.upgrade`,
so the indexes measured are the ones production has.

The data: 200 searches, alerts spread over --days days (busier on weekdays), about
97% of older alerts resolved with realistic delays, two audit events per alert
(created, resolved), and a run every 15 minutes per search with ~2% failures. Rows go
in with executemany (SQLite) and COPY (Postgres). Then the statistics are refreshed
(ANALYZE, as autovacuum / a periodic ANALYZE would) and the digest's queries run: the
first (cold) run and the best of --repeat runs are printed, with the budget of 1 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from searches_support import database  # noqa: E402

from bot.db import make_engine, session_factory  # noqa: E402
from bot.digest.chart import day_series, render_chart  # noqa: E402
from bot.digest.figures import compute_figures  # noqa: E402

BUDGET_SECONDS = 1.0
SEARCHES = 200
USERS = [f"U{n:08d}" for n in range(12)]
PRIORITIES = (["low"] * 40) + (["medium"] * 35) + (["high"] * 20) + (["critical"] * 5)
RESOLUTIONS = (
    (["action_taken"] * 30) + (["not_an_issue"] * 45) + (["too_old"] * 10) + (["cleared"] * 15)
)
ALERT_COLUMNS = (
    "id, search_id, dedupe_key, state, resolution, priority, escalated, assignee, title, body, "
    "content, occurrences, first_seen, last_seen, acknowledged_at, resolved_at, resolved_by, "
    "created_at, updated_at, channel, message_ts, delivery_failed"
)
EVENT_COLUMNS = "id, alert_id, action, actor, at, detail"
RUN_COLUMNS = "search_id, scheduled_for, status, window_start, window_end, hits, alerts_new, alerts_updated, suppressed, error"


# ------------------------------------------------------------------ data


def alert_rows(count: int, days: int, now: datetime, seed: int = 411) -> Iterator[tuple]:
    rng = random.Random(seed)
    span = days * 86400.0
    weights = [1.0 / (i + 1) for i in range(SEARCHES)]  # a few noisy searches, a long tail
    search_ids = rng.choices(range(1, SEARCHES + 1), weights=weights, k=count)
    for i in range(1, count + 1):
        created = now - timedelta(seconds=rng.random() * span)
        if created.weekday() >= 5 and rng.random() < 0.5:  # quieter weekends
            created -= timedelta(days=2)
            created = max(created, now - timedelta(days=days))
        age = (now - created).total_seconds()
        ack = created + timedelta(seconds=rng.expovariate(1 / 1800))
        resolved_at = ack + timedelta(seconds=rng.expovariate(1 / 7200))
        p_resolved = 0.97 if age > 86400 else 0.6
        state, resolution, resolved_by, assignee = "new", None, None, None
        acknowledged: datetime | None = None
        resolved_or_none: datetime | None = resolved_at
        if resolved_at < now and rng.random() < p_resolved:
            state, resolution = "resolved", rng.choice(RESOLUTIONS)
            resolved_by = "system" if resolution in ("too_old", "cleared") else rng.choice(USERS)
            acknowledged = ack
        elif ack < now and rng.random() < 0.5:
            state, assignee, acknowledged = "in_progress", rng.choice(USERS), ack
            resolved_or_none = None
        else:
            resolved_or_none = None
        sid = search_ids[i - 1]
        yield (
            i,
            sid,
            f"k{i}",
            state,
            resolution,
            rng.choice(PRIORITIES),
            False,
            assignee,
            f"alert {i} of search {sid}",
            "",
            "{}",
            1 + int(rng.expovariate(1 / 3)),
            created,
            created,
            acknowledged,
            resolved_or_none,
            resolved_by,
            created,
            resolved_or_none or created,
            "C_ALERTS",
            f"{created.timestamp():.6f}",
            False,
        )


def event_rows(alerts: list[tuple]) -> Iterator[tuple]:
    event_id = 0
    for row in alerts:
        event_id += 1
        yield (event_id, row[0], "created", "system", row[17], "{}")
        if row[15] is not None:
            event_id += 1
            yield (event_id, row[0], "resolved", row[16], row[15], "{}")


def run_rows(days: int, now: datetime, seed: int = 411) -> Iterator[tuple]:
    rng = random.Random(seed + 1)
    start = now - timedelta(days=days)
    for sid in range(1, SEARCHES + 1):
        at = start + timedelta(minutes=rng.randrange(15))
        while at < now:
            failed = rng.random() < 0.02
            yield (
                sid,
                at,
                ("timed_out" if rng.random() < 0.3 else "failed") if failed else "succeeded",
                at - timedelta(minutes=15),
                at,
                0,
                0,
                0,
                0,
                "ConnectionTimeout: es01:9200" if failed else None,
            )
            at += timedelta(minutes=15)


def insert_searches(engine: Engine, now: datetime) -> None:
    from bot.models import Search

    with session_factory(engine)() as session:
        for sid in range(1, SEARCHES + 1):
            session.add(
                Search(id=sid, name=f"search-{sid:03d}", source="elasticsearch", schedule="15m")
            )
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('searches_id_seq', :n)"), {"n": SEARCHES})


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):  # SQLAlchemy's storage format for SQLite DATETIME
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def bulk_insert(engine: Engine, table: str, columns: str, rows: Iterator[tuple]) -> int:
    raw = engine.raw_connection()
    count = 0
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns.split(","))
            batch: list[tuple] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= 50_000:
                    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
                    count += len(batch)
                    batch = []
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
            count += len(batch)
        else:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        raw.commit()
    finally:
        raw.close()
    return count


def load(engine: Engine, alerts: int, days: int, now: datetime) -> None:
    started = time.perf_counter()
    insert_searches(engine, now)
    rows = list(alert_rows(alerts, days, now))
    n_alerts = bulk_insert(engine, "alerts", ALERT_COLUMNS, iter(rows))
    n_events = bulk_insert(engine, "alert_events", EVENT_COLUMNS, event_rows(rows))
    n_runs = bulk_insert(engine, "search_runs", RUN_COLUMNS, run_rows(days, now))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('alerts_id_seq', :n)"), {"n": n_alerts})
            conn.execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    print(
        f"  loaded {n_alerts:,} alerts, {n_events:,} events, {n_runs:,} runs "
        f"in {time.perf_counter() - started:.1f} s"
    )


# ----------------------------------------------------------------- timing


def measure(engine: Engine, now: datetime, repeat: int) -> list[tuple[str, float]]:
    tz = ZoneInfo("Europe/Paris")
    start, end = now - timedelta(days=1), now
    week_start = now - timedelta(days=7)
    sessions = session_factory(engine)
    results: list[tuple[str, float]] = []

    def timed(label: str, fn: Callable[[Session], Any]) -> Any:
        times = []
        value = None
        for _ in range(repeat):
            with sessions() as session:
                t0 = time.perf_counter()
                value = fn(session)
                times.append(time.perf_counter() - t0)
        results.append((f"{label} (cold)", times[0]))
        results.append((f"{label} (best of {repeat})", min(times)))
        return value

    figures = timed("daily figures", lambda s: compute_figures(s, start, end, now=now))
    timed("weekly figures", lambda s: compute_figures(s, week_start, end, now=now))
    series = timed("chart data, 14 days", lambda s: day_series(s, now, tz))

    def digest(session: Session) -> Any:
        compute_figures(session, start, end, now=now)
        return day_series(session, now, tz)

    timed("whole daily digest SQL", digest)

    def weekly_digest(session: Session) -> Any:
        compute_figures(session, week_start, end, now=now)
        return day_series(session, now, tz)

    timed("whole weekly digest SQL", weekly_digest)
    t0 = time.perf_counter()
    png = render_chart(series)
    results.append((f"chart PNG render ({len(png):,} bytes, not SQL)", time.perf_counter() - t0))
    print(
        f"  sanity: {figures.current.new.total:,} new, {figures.current.resolved.total:,} resolved, "
        f"{figures.current.open_at_end.total:,} open in the last day"
    )
    return results


# ---------------------------------------------------------------- databases


def run(kind: str, args: argparse.Namespace, now: datetime) -> list[tuple[str, float]]:
    """Load and measure on a fresh database of ``kind`` (a temp SQLite file or a Postgres one)."""
    with database(kind) as url:
        engine = make_engine(url)
        try:
            load(engine, args.alerts, args.days, now)
            return measure(engine, now, args.repeat)
        finally:
            engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    over_budget = False
    for kind in ("sqlite", "postgres"):
        if args.only and args.only != kind:
            continue
        print(f"{kind}: {args.alerts:,} alerts over {args.days} days")
        for label, seconds in run(kind, args, now):
            flag = ""
            if "SQL" in label and "best" in label:
                flag = "  OK (< 1 s)" if seconds < BUDGET_SECONDS else "  OVER BUDGET"
                over_budget |= seconds >= BUDGET_SECONDS
            print(f"  {label:<48} {seconds * 1000:8.1f} ms{flag}")
    return 1 if over_budget else 0


if __name__ == "__main__":
    raise SystemExit(main())
