"""Fault injection against real `411 worker` processes: nothing lost, nothing twice.

One scenario on SQLite (one worker) and on a private Postgres (three workers):
events keep arriving in six file-source searches while

1. a worker is SIGKILLed in the middle of a run (the slow search's run is RUNNING);
2. a worker is SIGKILLed while Slack holds its post (a hang), which Slack then accepts:
   the outcome is unknown to the bot;
3. Slack answers 500 to everything for longer than the old give-up span (eight
   attempts of doubling backoff from ``DELIVERY_BASE_BACKOFF``);
4. (Postgres) the database server is stopped for a few seconds and started again.

Then every event has exactly one alert, seen once (no window run twice), posted
exactly once; posts resume within seconds after Slack returns; the killed run's
search runs again, on another worker, within 15 s; the logs stay quiet.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.models import Delivery, DeliveryStatus, RunStatus, utcnow
from standin.faults import ALL, Fault, FaultMode
from tests.faults.harness import PrivatePostgres, Stack, pid_of, postgres_bin, wait_until

BASE_BACKOFF = 0.05
OLD_GIVE_UP_SPAN = BASE_BACKOFF * (2**8 - 1)  # the old 8 attempts: 12.75 s at these settings
OUTAGE = OLD_GIVE_UP_SPAN + 3.0
RESUME_LIMIT = 15.0  # a killed worker's run is resumed within this
# The first post after Slack returns: retries wait at most DELIVERY_MAX_BACKOFF (1 s), but
# posts whose outcome was unknown are looked up first (conversations.history, which Slack
# paces at ~50 a minute), so on a loaded 2-core CI machine it has taken just over 5 s.
BACK_WITHIN = 10.0

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    server = None
    if request.param == "postgres":
        if postgres_bin() is None:  # like the shared Postgres fixtures: fail, never skip
            pytest.fail("PostgreSQL binaries are not installed (apt-get install postgresql)")
        server = PrivatePostgres().start()
        url = server.url
    else:
        url = f"sqlite:///{tmp_path / 'faults.db'}"
    env = {
        "DELIVERY_BASE_BACKOFF": str(BASE_BACKOFF),
        "DELIVERY_MAX_BACKOFF": "1",
        "DELIVERY_GIVE_UP_AFTER": "3600",
    }
    built = Stack(tmp_path, url, env=env).start()
    built.postgres = server  # type: ignore[attr-defined]
    try:
        yield built
    finally:
        built.stop()
        if server is not None:
            server.stop()


class EventFeed:
    """Writes an event every ``every`` seconds, round robin over the searches."""

    def __init__(self, stack: Stack, every: float = 0.3) -> None:
        self.stack, self.every = stack, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> EventFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.stack.write_event()


def _kill_during_a_run(stack: Stack) -> tuple[int, datetime]:
    """SIGKILL the worker running the slow search; the run id and when it died."""
    for _ in range(4):
        found = wait_until(lambda: stack.running_run(0), timeout=25, step=0.01)
        assert found, "the slow search never ran"
        run_id, worker = found
        pid = pid_of(worker)
        assert pid is not None
        stack.kill(pid)
        killed_at = utcnow()
        if stack.run_status(run_id) == RunStatus.RUNNING:  # died mid-run, not just after
            return run_id, killed_at
        time.sleep(0.5)
    raise AssertionError("could not catch a run in progress")


def _kill_while_slack_holds_a_post(stack: Stack) -> None:
    stack.standin.faults.set("chat.postMessage", Fault(FaultMode.HANG, seconds=2.0))
    try:
        found = wait_until(stack.sending_post, timeout=30, step=0.01)
        assert found, "no post was being sent"
        pid = pid_of(found[1])
        assert pid is not None
        stack.kill(pid)
    finally:
        stack.standin.faults.clear()


def _max_attempts(stack: Stack) -> int:
    with stack.runtime.sessions() as session:
        return int(session.scalar(select(func.max(Delivery.attempts))) or 0)


def test_nothing_is_lost_or_posted_twice_through_kills_outages_and_restarts(
    stack: Stack,
) -> None:
    postgres: PrivatePostgres | None = stack.postgres  # type: ignore[attr-defined]
    workers = 3 if postgres else 1
    for _ in range(workers):
        stack.spawn_worker()
    with EventFeed(stack):
        # 1. A worker dies in the middle of a run; another takes the run back and runs it.
        run_id, killed_at = _kill_during_a_run(stack)
        stack.spawn_worker()  # SQLite: the next process; Postgres: back to three
        resumed = wait_until(lambda: stack.succeeded_since(0, killed_at), timeout=RESUME_LIMIT + 5)
        assert resumed, f"the search of run {run_id} did not run again"
        assert (resumed - killed_at).total_seconds() <= RESUME_LIMIT

        # 2. A worker dies while Slack holds its post, which Slack then accepts.
        _kill_while_slack_holds_a_post(stack)
        stack.spawn_worker()

        # 3. Slack is down for longer than the old give-up span.
        stack.standin.faults.set(ALL, Fault(FaultMode.ERROR))
        time.sleep(OUTAGE)
        attempts_during_outage = _max_attempts(stack)
        stack.standin.faults.clear()
        back_at = time.time()
        assert attempts_during_outage > 8, "no delivery outlived the old 8 attempts"

        # 4. Postgres goes away for a while and comes back.
        if postgres is not None:
            postgres.restart(down_for=3.0)
        time.sleep(2.0)
    _settle(stack)

    # Every event: exactly one alert, seen once, posted exactly once.
    alerts = stack.alerts()
    with stack.runtime.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.FAILED)
            )
            == 0
        )
    events = {e.id for e in stack.events}
    assert set(alerts) - {"old"} == events
    assert [e for e, (_, seen) in alerts.items() if seen != 1] == []
    posts = stack.post_times()
    assert {alert_id for alert_id, _ in alerts.values()} == set(posts)
    assert {a: ts for a, ts in posts.items() if len(ts) != 1} == {}
    first_after = min(ts[0] for ts in posts.values() if ts[0] > back_at)
    assert first_after - back_at <= BACK_WITHIN
    _assert_quiet_logs(stack)


def _settle(stack: Stack) -> None:
    """Every event alerted and every post sent (the last events need one more run)."""
    wanted = {e.id for e in stack.events}

    def done() -> bool:
        return wanted <= set(stack.alerts()) and stack.unsent() == 0

    if not wait_until(done, timeout=90, step=0.5):
        with stack.runtime.sessions() as session:
            stuck = session.execute(
                select(
                    Delivery.id, Delivery.status, Delivery.claimed_by, Delivery.last_error
                ).where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
            ).all()
        missing = len(wanted - set(stack.alerts()))
        raise AssertionError(f"{missing} events without an alert; unsent: {stuck}")


def _assert_quiet_logs(stack: Stack) -> None:
    """A 15 s Slack outage: a line when it starts and one when it clears, not one per try;
    the database restart: a line per loop when it starts and when it clears (before, a
    worker wrote ~300 lines a second); tracebacks once per distinct error."""
    for path in sorted(stack.base.glob("worker-*.log")):
        text = path.read_text(errors="replace")
        records = [line for line in text.splitlines() if line[:4].isdigit()]
        slack_lines = [line for line in records if "Slack deliveries" in line]
        assert len(slack_lines) <= 4, (path.name, slack_lines[:6])
        assert len(records) <= 40, (path.name, records)
        lines = text.splitlines()
        with_traceback = [
            line.split(" failing: ", 1)[-1].split(" another error: ", 1)[-1]
            for line, after in itertools.pairwise(lines)
            if line[:4].isdigit() and after.startswith("Traceback")
        ]
        assert len(with_traceback) == len(set(with_traceback)), (path.name, with_traceback)


def test_harness_names_workers_by_pid() -> None:
    assert pid_of(f"host:{os.getpid()}:runs-abc") == os.getpid()
