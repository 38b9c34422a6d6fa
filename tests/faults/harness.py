"""A fault-injection stack: real `411 worker` processes, file-source searches, the Slack
stand-in over HTTP, and a database (SQLite, or a private throwaway Postgres that may be
restarted). Shared by the fault test (tests/faults) and the recovery bench (bench/recovery.py).

Workers are subprocesses so that SIGKILL is a real crash: no `finally`, no clean
shutdown, claims left behind. Every event written to a search's log file carries a
unique ``event_id`` (the search's ``id_field``), so its alert's dedupe key is
``id:<event_id>`` and the post's idempotency key names the alert.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.config import Settings
from bot.db import make_engine
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.migrate import upgrade
from bot.models import Alert, Delivery, DeliveryKind, DeliveryStatus, RunStatus, SearchRun
from bot.runtime import Runtime
from standin import RateLimits, SlackStandIn

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-fault-test"
SECRET = "fault-test-secret"
SERVICE_USER = "four11"  # servers do not run as root (as in scripts/services)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; that value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def pid_of(worker_name: str | None) -> int | None:
    """Worker names are ``host:pid:role-xxxx`` (bot/heartbeat.py)."""
    parts = (worker_name or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


# ------------------------------------------------------------------ Postgres


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throwaway Postgres server of our own (never the shared test server): it may be
    restarted or stopped without disturbing anyone else."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.bin = bin_dir
        # Its own folder, not below the test's tmp_path: the service user must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="411-private-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_service_user(self, *command: str) -> list[str]:
        if os.geteuid() != 0:
            return list(command)
        return ["runuser", "-u", SERVICE_USER, "--", *command]

    def _run(self, *command: str) -> None:
        subprocess.run(
            self._as_service_user(*command),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, SERVICE_USER, SERVICE_USER)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                "unix_socket_directories = ''\nmax_connections = 100\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        self.up()
        return self

    def up(self) -> None:
        log = str(self.dir / "postgres.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "start")

    def down(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (dropping every connection), stay down ``down_for`` seconds, start again."""
        self.down()
        time.sleep(down_for)
        self.up()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.down()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the stack


@dataclass
class Event:
    id: str
    search: int  # index into Stack.files
    written_at: float  # wall clock (seconds since the epoch)


@dataclass
class Stack:
    base: Path
    db_url: str
    searches: int = 6
    slow_lines: int = 60_000  # padding that makes search 0's runs take a while (to kill)
    env: dict[str, str] = field(default_factory=dict)
    standin: SlackStandIn = field(init=False)
    runtime: Runtime = field(init=False)
    files: list[Path] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    search_ids: list[int] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # -- setting up

    def start(self) -> Stack:
        upgrade(self.db_url)
        self.standin = SlackStandIn(
            SECRET,
            TOKEN,
            rate_limits=RateLimits(post_burst=20, post_per_channel_per_second=20),
        ).start()
        settings = Settings(
            database_url=self.db_url, slack_bot_token=TOKEN, slack_api_url=self.standin.api_url
        )
        self.runtime = Runtime(settings=settings, engine=make_engine(self.db_url))
        logs = self.base / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for i in range(self.searches):
            channel = f"C_FAULT{i}"
            self.standin.add_channel(channel, f"fault-{i}")
            self.channels.append(channel)
            path = logs / f"search-{i}.ndjson"
            path.touch()
            self.files.append(path)
            self.search_ids.append(self._create_search(i, path, channel))
        if self.slow_lines:
            self._pad(logs / "search-0-padding.ndjson")
        return self

    def _create_search(self, i: int, path: Path, channel: str) -> int:
        pattern = str(path.parent / f"search-{i}*.ndjson") if i == 0 else str(path)
        raw = {
            "name": f"fault-{i}",
            "source": "file",
            "source_config": {"path": pattern, "query": "kind:event", "id_field": "event_id"},
            "schedule": "every 10s",
            "channel": channel,
            "owner": "U_ALICE",
            "lookback": "10m",
            "timeout": "60s",
            "title": "event {{ event_id }}",
        }
        with self.runtime.sessions.begin() as session:
            return create_search(session, parse_definition(raw), "U_ALICE").id

    def _pad(self, path: Path) -> None:
        """Lines that match the query's words but lie outside any window: parsed, then skipped."""
        old = "2001-01-01T00:00:00Z"
        line = json.dumps({"@timestamp": old, "kind": "event", "event_id": "old", "pad": "x" * 40})
        path.write_text((line + "\n") * self.slow_lines)

    def worker_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.db_url,
            "SLACK_API_URL": self.standin.api_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "BURST_THRESHOLD": "1000",
            "THREAD_REPLIES": "false",
            "LOG_LEVEL": "INFO",
            **self.env,
        }
        return env

    def spawn_worker(self, threads: int = 2) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        log = (self.base / f"worker-{n}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker", "--threads", str(threads), "--ops-port", "0"],
            env=self.worker_env(),
            cwd=str(self.base),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        return process

    def kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for process in self.workers:
            if process.pid == pid:
                process.wait(10)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.standin.stop()
        self.runtime.engine.dispose()

    @property
    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.workers if p.poll() is None]

    # -- events

    def write_event(self, search: int | None = None) -> Event:
        index = len(self.events) % self.searches if search is None else search
        event = Event(f"e{len(self.events):05d}", index, time.time())
        stamp = datetime.fromtimestamp(event.written_at, UTC).isoformat(timespec="milliseconds")
        line = {"@timestamp": stamp.replace("+00:00", "Z"), "kind": "event", "event_id": event.id}
        with self.files[index].open("a") as stream:
            stream.write(json.dumps(line) + "\n")
        self.events.append(event)
        return event

    # -- looking at the database and at "Slack"

    def running_run(self, search: int) -> tuple[int, str] | None:
        with self.runtime.sessions() as session:
            row = session.execute(
                select(SearchRun.id, SearchRun.worker).where(
                    SearchRun.search_id == self.search_ids[search],
                    SearchRun.status == RunStatus.RUNNING,
                )
            ).first()
        return (row[0], row[1]) if row and row[1] else None

    def run_status(self, run_id: int) -> RunStatus | None:
        with self.runtime.sessions() as session:
            return session.scalar(select(SearchRun.status).where(SearchRun.id == run_id))

    def succeeded_since(self, search: int, since: datetime) -> datetime | None:
        """When the first run of ``search`` started after ``since`` and succeeded."""
        with self.runtime.sessions() as session:
            return session.scalar(
                select(func.min(SearchRun.started_at)).where(
                    SearchRun.search_id == self.search_ids[search],
                    SearchRun.status == RunStatus.SUCCEEDED,
                    SearchRun.started_at > since,
                )
            )

    def sending_post(self) -> tuple[int, str] | None:
        with self.runtime.sessions() as session:
            row = session.execute(
                select(Delivery.id, Delivery.claimed_by).where(
                    Delivery.status == DeliveryStatus.SENDING,
                    Delivery.kind == DeliveryKind.POST,
                )
            ).first()
        return (row[0], row[1]) if row and row[1] else None

    def unsent(self) -> int:
        with self.runtime.sessions() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
                    )
                )
                or 0
            )

    def alerts(self) -> dict[str, tuple[int, int]]:
        """Alerts by event id: (alert id, occurrences)."""
        with self.runtime.sessions() as session:
            rows = session.execute(select(Alert.dedupe_key, Alert.id, Alert.occurrences)).all()
        return {key.removeprefix("id:"): (alert_id, n) for key, alert_id, n in rows}

    def posts(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every message the bot posted, with the channel it is in."""
        for channel in self.channels:
            for message in self.standin.messages(channel):
                yield channel, message

    def post_times(self) -> dict[int, list[float]]:
        """Alert id -> the ts of each message posting it (more than one would be a duplicate)."""
        found: dict[int, list[float]] = {}
        for _, message in self.posts():
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            parts = key.split(":")
            if len(parts) == 4 and parts[0] == "alert" and parts[2] == "post":
                found.setdefault(int(parts[1]), []).append(float(message["ts"]))
        return found
