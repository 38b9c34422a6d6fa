"""Worker heartbeats, and the one rule for "the worker holding this claim is dead".

Every worker (a search-run executor, a delivery loop) writes its row in
``worker_heartbeats`` every ``interval`` seconds. Its claims carry its name: a run's
``worker``, the prefix of a delivery's ``claimed_by``. A claim belongs to a dead
worker when

- the worker's heartbeat is older than ``dead_after`` (Postgres, many hosts), or
- the worker ran on this host in a process that no longer exists (SQLite's one
  process, and any restart on the same host: known at once, no waiting).

A worker only judges others while its own heartbeat has been written without a
break for ``dead_after``: after a database outage every worker gets the same
chance to beat again before anyone's work is taken from them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.background import BackgroundLoop
from bot.logs import FailureLog
from bot.models import WorkerHeartbeat, utcnow
from bot.runtime import Runtime

log = logging.getLogger(__name__)

HOST = socket.gethostname()
INTERVAL = 2.0  # seconds between beats
DEAD_AFTER = 8.0  # seconds without a beat: dead. With the checks every INTERVAL, work
# held by a killed worker is free again within DEAD_AFTER + 2 * INTERVAL (~12 s).
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are deleted


def worker_name(role: str) -> str:
    """A name unique to this worker: host, process id, and a random part."""
    return f"{HOST}:{os.getpid()}:{role}-{uuid.uuid4().hex[:8]}"


def _host_and_pid(name: str) -> tuple[str, int] | None:
    host, _, rest = name.partition(":")
    pid = rest.split(":", 1)[0]
    return (host, int(pid)) if pid.isdigit() else None


def process_gone(name: str) -> bool:
    """Whether ``name`` ran on this host in a process that has ended."""
    found = _host_and_pid(name)
    if found is None or found[0] != HOST or found[1] == os.getpid():
        return False
    try:
        os.kill(found[1], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass(frozen=True)
class Liveness:
    """What one look at the heartbeats says: the names whose beat is stale."""

    stale: frozenset[str]

    def dead(self, name: str | None) -> bool:
        # A claim without a heartbeat row (a `411 search run` by hand) is judged only by
        # its process: such runs keep their own timeout rule (claims.recover_stale).
        return bool(name) and (name in self.stale or process_gone(name or ""))


def look(runtime: Runtime, now: datetime, dead_after: float = DEAD_AFTER) -> Liveness:
    with runtime.sessions() as session:
        rows = session.execute(select(WorkerHeartbeat.name, WorkerHeartbeat.beat_at)).all()
    limit = now - timedelta(seconds=dead_after)
    return Liveness(frozenset(name for name, beat_at in rows if beat_at < limit))


class Heartbeat(BackgroundLoop):
    """Beats for one worker; after each beat, runs ``on_beat`` (the takeback of dead work)."""

    thread_name = "heartbeat"

    def __init__(
        self,
        runtime: Runtime,
        name: str,
        role: str,
        *,
        interval: float = INTERVAL,
        dead_after: float = DEAD_AFTER,
        on_beat: Iterable[Callable[[Liveness], object]] = (),
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.name = name
        self.role = role
        self.interval = interval
        self.dead_after = dead_after
        self.on_beat = list(on_beat)
        self.healthy_since: float | None = None  # monotonic time of the first beat of a streak
        self.last_beat: float | None = None
        self.failures = FailureLog(log, "heartbeat")

    def start(self) -> None:
        """The first beat, written before the worker claims anything; then the loop."""
        self.beat()
        super().start()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        try:
            with self.runtime.sessions.begin() as session:
                session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == self.name))
        except SQLAlchemyError:
            log.info("%s: could not remove its heartbeat on the way out", self.name)

    @property
    def confident(self) -> bool:
        """Whether this worker has beaten without a break for ``dead_after``: it may judge others."""
        return (
            self.healthy_since is not None
            and time.monotonic() - self.healthy_since >= self.dead_after
        )

    @property
    def stale(self) -> bool:
        """Whether this worker's own last beat is too old to trust its claims: others may be
        judging it dead, so it claims and sends nothing until it beats again."""
        return self.last_beat is None or time.monotonic() - self.last_beat > self.dead_after / 2

    def beat(self) -> bool:
        now = utcnow()
        try:
            with self.runtime.sessions.begin() as session:
                found = session.execute(
                    update(WorkerHeartbeat)
                    .where(WorkerHeartbeat.name == self.name)
                    .values(beat_at=now, role=self.role)
                    .execution_options(synchronize_session=False)
                )
                if found.rowcount == 0:  # type: ignore[attr-defined]
                    session.add(
                        WorkerHeartbeat(
                            name=self.name,
                            role=self.role,
                            host=HOST,
                            pid=os.getpid(),
                            started_at=now,
                            beat_at=now,
                        )
                    )
                session.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER)
                )
        except SQLAlchemyError as exc:
            self.healthy_since = None
            self.failures.failed(exc)
            return False
        self.failures.cleared()
        self.last_beat = time.monotonic()
        if self.healthy_since is None:
            self.healthy_since = self.last_beat
        return True

    def takeback(self) -> None:
        """Run the ``on_beat`` hooks with what the heartbeats say now."""
        liveness = look(self.runtime, utcnow(), self.dead_after)
        if not self.confident:  # only definite deaths (a gone process) until then
            liveness = Liveness(frozenset())
        for hook in self.on_beat:
            hook(liveness)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.beat():
                try:
                    self.takeback()
                except SQLAlchemyError as exc:
                    self.failures.failed(exc)
