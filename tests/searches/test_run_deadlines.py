"""A run past its timeout is stopped, not just abandoned: each source's work really ends.

End to end through ``bot.runs.runner.run_search`` on SQLite and Postgres: a search whose
``timeout`` is 1s reads from a source that would take far longer (a cluster that
never answers, a server trickling its body, ``pg_sleep(60)``, a huge log); the run
ends within about a second of its deadline, is recorded TIMED_OUT saying it was
stopped, leaves no alert and does not advance the window, and the source's thread
has ended. A third-party source that ignores the deadline is abandoned instead,
and the run says so.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError

import searches.registry
from bot.config import ClusterConfig, Settings
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.models import Alert, RunStatus, Search, SearchRun
from bot.runs.runner import run_search
from bot.runs.source_call import RunTimeout, run_source
from bot.runtime import Runtime
from searches.base import (
    Deadline,
    ResultKind,
    Source,
    SourceCancelled,
    SourceContext,
    SourceResult,
    TimeWindow,
)
from searches.cluster_client import ClusterClient, ElasticsearchClient, OpenSearchClient
from searches.db_deadline import connect_timeout_args, statement_deadline
from searches.elasticsearch import ElasticsearchSource
from searches.file import FileSource
from searches.sql import SqlSource
from tests.searches.conftest import START, WINDOW

# A run's deadline (1s) plus the stop grace, with room for a loaded test machine.
PROMPT = 2.5


# ------------------------------------------------------------------ helpers


class SilentServer:
    """A loopback TCP server that accepts connections, reads them and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = threading.Event()
        self.closed_by_client = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.set()
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    def _drain(self, connection: socket.socket) -> None:
        with connection:
            while connection.recv(65536):  # b"": the client closed its end
                pass
        self.closed_by_client.set()

    def close(self) -> None:
        self.listener.close()


class Trickle(BaseHTTPRequestHandler):
    """Sends a body one byte every 0.2 s, forever; notes when the client hangs up."""

    hung_up: ClassVar[threading.Event] = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            Trickle.hung_up.set()


@pytest.fixture
def trickle_url() -> Iterator[str]:
    Trickle.hung_up = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def make_runtime(engine: Engine, **settings: Any) -> Runtime:
    return Runtime(settings=Settings(database_url=str(engine.url), **settings), engine=engine)


def make_search(runtime: Runtime, source: str, config: Mapping[str, Any], **fields: Any) -> int:
    raw: dict[str, Any] = {
        "name": f"deadline-{uuid.uuid4().hex[:6]}",
        "source": source,
        "source_config": dict(config),
        "schedule": "every 1m",
        "channel": "C_ALERTS",
        "owner": "U_ALICE",
        "timeout": "1s",
        **fields,
    }
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_ALICE").id


def timed_run(runtime: Runtime, search_id: int) -> tuple[SearchRun, float]:
    started = time.monotonic()
    run = run_search(runtime, search_id)
    return run, time.monotonic() - started


def assert_stopped_cleanly(runtime: Runtime, search_id: int, run: SearchRun, took: float) -> None:
    """TIMED_OUT, stopped (not abandoned), on time, nothing written, the thread gone."""
    assert run.status == RunStatus.TIMED_OUT
    assert "within 1s and was stopped" in (run.error or ""), run.error
    assert took < PROMPT, f"the run took {took:.2f}s"
    with runtime.sessions() as session:
        stored = session.get(SearchRun, run.id)  # what was written, not the object returned
        assert stored is not None and (stored.status, stored.error) == (run.status, run.error)
        search = session.get(Search, search_id)
        assert search is not None and search.last_window_end is None
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    names = {thread.name for thread in threading.enumerate()}
    assert f"source-{search_id}" not in names  # its thread ended, not abandoned


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# ------------------------------------------------------------ the deadline


def test_a_deadline_counts_down_and_stops_when_cancelled() -> None:
    never = Deadline()
    assert never.remaining() == float("inf") and not never.expired()
    assert never.bound(30) == 30
    soon = Deadline.after(10)
    assert 9 < soon.bound(30) <= 10 and soon.bound(2) == 2
    soon.check()  # time is left: nothing happens
    soon.cancel()
    assert soon.expired() and soon.remaining() == 0
    with pytest.raises(SourceCancelled):
        soon.check()
    with pytest.raises(SourceCancelled):
        Deadline.after(0).bound(5)  # no call may start with no time left


def test_a_source_has_no_deadline_until_the_runner_sets_one(tmp_path: Path) -> None:
    source = FileSource(FileSource.parse_config({"path": str(tmp_path)}), SourceContext())
    assert source.deadline.remaining() == float("inf")
    source.deadline = Deadline.after(5)
    assert source.deadline.remaining() <= 5


# ----------------------------------------------------------- elasticsearch


def test_a_run_on_a_cluster_that_never_answers_is_stopped_at_its_deadline(
    engine: Engine, silent_server: SilentServer
) -> None:
    cluster = ClusterConfig(name="default", url=f"http://127.0.0.1:{silent_server.port}")
    runtime = make_runtime(engine, clusters={"default": cluster})
    config = {"index": "logs-*", "query": "user:root", "timeout_seconds": 30}
    search_id = make_search(runtime, "elasticsearch", config)
    run, took = timed_run(runtime, search_id)
    assert silent_server.accepted.is_set()  # the request really went out
    assert_stopped_cleanly(runtime, search_id, run, took)
    assert silent_server.closed_by_client.wait(1), "the client never dropped the connection"


def test_a_deadline_nearer_than_the_config_timeout_still_lets_a_quick_search_succeed(
    es_context: SourceContext, loaded_index: str
) -> None:
    # The deadline (5s) is nearer than the config's 30s: requests use a bounded client.
    raw = {"index": loaded_index, "mode": "count", "timeout_seconds": 30}
    source = ElasticsearchSource(ElasticsearchSource.parse_config(raw), es_context)
    result = run_source(source, WINDOW, 5)
    assert result.kind is ResultKind.COUNT and result.count == 6


def test_requests_get_the_time_left_only_when_the_deadline_is_nearer_than_the_config(
    es_context: SourceContext,
) -> None:
    raw = {"index": "logs-*", "timeout_seconds": 30}
    source = ElasticsearchSource(ElasticsearchSource.parse_config(raw), es_context)
    shared = source.client()
    assert shared.timeout == 30
    source.deadline = Deadline.after(120)
    assert source._bounded(shared) is shared  # the cached client: no per-run set-up
    source.deadline = Deadline.after(2)
    bounded = source._bounded(shared)
    assert type(bounded) is type(shared) and 0 < bounded.timeout <= 2
    assert _connections(bounded) is _connections(shared)  # the same pool, not a new one
    source.deadline.cancel()
    with pytest.raises(SourceCancelled):
        source._bounded(shared)


def _connections(client: ClusterClient) -> object:
    if isinstance(client, ElasticsearchClient):
        return client.raw.transport.node_pool
    assert isinstance(client, OpenSearchClient)
    return client.raw.transport.connection_pool


# --------------------------------------------------------------------- http


def test_a_body_trickling_in_forever_is_cut_at_the_run_deadline(
    engine: Engine, trickle_url: str
) -> None:
    runtime = make_runtime(engine, http_allow_hosts=("127.0.0.1",))
    config = {"url": trickle_url, "body_regex": "ERROR", "timeout_seconds": 60}
    search_id = make_search(runtime, "http", config)
    run, took = timed_run(runtime, search_id)
    assert_stopped_cleanly(runtime, search_id, run, took)
    assert Trickle.hung_up.wait(1.5), "the server kept sending: the client never hung up"


# ---------------------------------------------------------------------- sql


def slow_query(engine: Engine, marker: str) -> str:
    if engine.dialect.name == "postgresql":
        return f"SELECT pg_sleep(60) AS {marker}"
    return (
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        f"WHERE i < 1000000000) SELECT count(*) AS {marker} FROM n"
    )


def running_queries(engine: Engine, marker: str) -> int:
    """Backends still running a statement that mentions ``marker`` (Postgres)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND query LIKE :pattern AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        return int(connection.execute(query, {"pattern": f"%{marker}%"}).scalar_one())


def test_a_slow_sql_query_is_stopped_in_the_database_at_the_run_deadline(engine: Engine) -> None:
    runtime = make_runtime(engine)
    marker = f"m_{uuid.uuid4().hex[:10]}"
    config = {"url": url_of(engine), "query": slow_query(engine, marker), "mode": "count"}
    search_id = make_search(runtime, "sql", {**config, "timeout_seconds": 300})
    run, took = timed_run(runtime, search_id)
    assert_stopped_cleanly(runtime, search_id, run, took)
    if engine.dialect.name == "postgresql":
        assert running_queries(engine, marker) == 0  # the backend stopped, not just the client


def test_cancelling_a_sql_source_stops_its_statement_long_before_its_own_timeout(
    engine: Engine,
) -> None:
    marker = f"m_{uuid.uuid4().hex[:10]}"
    raw = {"url": url_of(engine), "query": slow_query(engine, marker), "mode": "count"}
    source = SqlSource(SqlSource.parse_config({**raw, "timeout_seconds": 300}), SourceContext())
    source.deadline = deadline = Deadline()  # no deadline: only cancel() can stop it
    outcome: dict[str, BaseException] = {}

    def target() -> None:
        try:
            source.run(WINDOW)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    time.sleep(0.5)
    if engine.dialect.name == "postgresql":
        assert running_queries(engine, marker) == 1
    deadline.cancel()
    source.cancel()
    thread.join(2)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), SourceCancelled)
    if engine.dialect.name == "postgresql":
        assert running_queries(engine, marker) == 0


def test_postgres_connections_get_a_connect_timeout_within_the_time_left() -> None:
    url = "postgresql+psycopg://reader@db.example/app"
    assert connect_timeout_args(url, 7.2) == {"connect_timeout": 8}  # whole seconds, rounded up
    assert connect_timeout_args(url, 0.3) == {"connect_timeout": 2}  # libpq's smallest
    assert connect_timeout_args(url + "?connect_timeout=3", 60) == {"connect_timeout": 3}
    assert connect_timeout_args(url, float("inf")) == {}
    assert connect_timeout_args("postgresql+pg8000://reader@db/app", 5) == {}  # not libpq
    assert connect_timeout_args("sqlite:///app.db", 5) == {}


def test_statements_on_the_bots_own_database_end_by_the_deadline(engine: Engine) -> None:
    """What the alerts and push sources use around their queries."""
    slow = slow_query(engine, "own_db")
    deadline = Deadline.after(0.5)
    started = time.monotonic()
    with (
        engine.connect() as connection,
        connection.begin(),
        pytest.raises(OperationalError),  # Postgres: statement timeout; SQLite: interrupted
        statement_deadline(connection, deadline),
    ):
        connection.execute(text(slow))
    assert time.monotonic() - started < 1.5
    if engine.dialect.name == "sqlite":  # the progress handler is gone afterwards
        with engine.connect() as connection:
            quick = (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
            )
            assert connection.execute(text(quick + " SELECT count(*) FROM n")).scalar() == 200000


def test_the_alerts_and_push_sources_run_with_a_deadline(engine: Engine) -> None:
    runtime = make_runtime(engine)
    alerts_id = make_search(runtime, "alerts", {"mode": "count"}, timeout="10s")
    push_id = make_search(runtime, "push", {}, timeout="10s")
    for search_id in (alerts_id, push_id):
        run = run_search(runtime, search_id)
        assert (run.status, run.error) == (RunStatus.SUCCEEDED, None)


# --------------------------------------------------------------------- file


@pytest.fixture(scope="module")
def huge_logs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """~1.2 GB of matching NDJSON to scan: one 12 MB file behind 100 links (cheap to make)."""
    folder = tmp_path_factory.mktemp("huge-logs")
    line = json.dumps({"@timestamp": START.isoformat(), "user": "root", "msg": "x" * 80}) + "\n"
    target = folder / "base.data"
    target.write_text(line * 100_000)
    for number in range(100):
        (folder / f"app-{number:03}.log").symlink_to(target)
    return str(folder / "*.log")


def test_a_scan_of_huge_logs_stops_at_a_half_second_deadline(huge_logs: str) -> None:
    source = FileSource(
        FileSource.parse_config({"path": huge_logs, "mode": "count"}), SourceContext()
    )
    started = time.monotonic()
    with pytest.raises(RunTimeout) as raised:
        run_source(source, WINDOW, 0.5)
    assert time.monotonic() - started < 1.5  # stopped within the block it was reading
    assert not raised.value.abandoned and "was stopped" in str(raised.value)
    assert 0 < source.lines_read < 100 * 100_000


def test_a_file_search_over_huge_logs_is_stopped_at_its_deadline(
    engine: Engine, huge_logs: str
) -> None:
    runtime = make_runtime(engine)
    search_id = make_search(runtime, "file", {"path": huge_logs, "query": "user:root"})
    run, took = timed_run(runtime, search_id)
    assert_stopped_cleanly(runtime, search_id, run, took)


# --------------------------------------------------- a source that ignores it


class Stubborn(Source):
    """A third-party source written before deadlines: it sleeps through them."""

    name = "stubborn"
    events: ClassVar[list[str]] = []
    closed: ClassVar[threading.Event] = threading.Event()

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        return dict(raw)

    def result_kind(self) -> ResultKind:
        return ResultKind.HITS

    def run(self, window: TimeWindow) -> SourceResult:
        time.sleep(float(self.config.get("sleep", 2.5)))
        Stubborn.events.append("run returned")
        return SourceResult(ResultKind.HITS)

    def close(self) -> None:
        Stubborn.events.append("closed")
        Stubborn.closed.set()


@pytest.fixture
def stubborn(monkeypatch: pytest.MonkeyPatch) -> type[Stubborn]:
    original = searches.registry.load_sources
    monkeypatch.setattr(
        searches.registry, "load_sources", lambda: {**original(), "stubborn": Stubborn}
    )
    Stubborn.events = []
    Stubborn.closed = threading.Event()
    return Stubborn


def test_a_source_that_ignores_its_deadline_is_abandoned_and_the_run_says_so(
    engine: Engine, stubborn: type[Stubborn]
) -> None:
    runtime = make_runtime(engine)
    search_id = make_search(runtime, "stubborn", {"sleep": 4})
    run, took = timed_run(runtime, search_id)
    assert run.status == RunStatus.TIMED_OUT and "abandoned" in (run.error or "")
    assert took < PROMPT + 1  # the worker is free at deadline + grace (2 s), not at 4 s
    assert stubborn.events == []  # still sleeping
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None and search.last_window_end is None
    assert stubborn.closed.wait(4)
    assert stubborn.events == ["run returned", "closed"]  # closed once, after run ended
