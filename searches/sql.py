"""SQL: a read-only query against any SQLAlchemy URL; rows become hits (or a count).

Read-only is enforced three ways, because a search is user input:
1. before running, the text must be one ``SELECT``/``WITH`` statement with no writing
   keyword (``INSERT``, ``DELETE``, ``INTO``, ``DROP``...) outside string literals and
   comments, and no known side-effecting function;
2. it runs inside a transaction that is always rolled back;
3. the database is told: ``SET TRANSACTION READ ONLY`` on Postgres (with a
   ``statement_timeout``), ``PRAGMA query_only`` on SQLite (with an interrupt at the
   deadline). Other databases get 1 and 2 only: give the search a read-only user.

The query ends by the run's deadline too: the Postgres ``statement_timeout`` is the
config's ``timeout_seconds`` capped by the run's time left, ``cancel()`` sends the
server a cancel request for the statement in flight (psycopg's ``cancel_safe``), and
on SQLite the progress handler watches the deadline and ``cancel()`` interrupts.

The window reaches the query as bind parameters ``:start`` and ``:end`` (aware UTC
datetimes), e.g. ``WHERE at >= :start AND at < :end``; SQLite has no date type, so
there they are UTC text as SQLAlchemy writes it (``2026-03-01 10:00:00.000000``), which
compares correctly with columns SQLAlchemy wrote. ``time_column`` names the column
that gives each hit its timestamp and ``id_column`` its id. ``count`` mode reads the
first column of the first row.

The URL is either written as ``url`` or, to keep a password out of the definition
(which users can see), read at run time from the environment variable ``url_env``
names.
"""

from __future__ import annotations

import enum
import math
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, create_engine, make_url, pool, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from searches.base import (
    Deadline,
    Hit,
    ResultKind,
    Source,
    SourceCancelled,
    SourceContext,
    SourceError,
    SourceResult,
    TimeWindow,
)
from searches.common import ConfigReader, check_env_name, env_secret, parse_time
from searches.db_deadline import cancel_statement, connect_timeout_args, statement_deadline
from searches.db_url import normalise_url

MAX_ROWS = 10_000

_WRITING = {
    "insert", "update", "delete", "merge", "upsert", "create", "drop", "alter", "truncate",
    "grant", "revoke", "copy", "call", "exec", "execute", "attach", "detach", "pragma",
    "into", "vacuum", "reindex", "prepare", "deallocate",
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "set_config", "lo_import",
    "lo_export", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "dblink", "dblink_exec",
    "load_extension", "nextval", "setval",
}  # fmt: skip
_LEXEMES = re.compile(
    r"""(?P<comment>--[^\n]*|/\*.*?\*/)
      | (?P<literal>'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<semicolon>;)
      | (?P<other>.)""",
    re.S | re.X,
)


class SqlMode(enum.StrEnum):
    HITS = "hits"
    COUNT = "count"


@dataclass(frozen=True)
class SqlConfig:
    url: str  # empty when url_env is given
    query: str
    mode: SqlMode = SqlMode.HITS
    time_column: str | None = None
    id_column: str | None = None
    max_rows: int = 500
    timeout_seconds: float = 30.0
    url_env: str | None = None  # the environment variable holding the URL

    def database_url(self) -> str:
        """The URL to connect to; SourceError naming the field when it cannot be had."""
        if self.url_env is None:
            return self.url
        url = env_secret("url_env", self.url_env)
        problem = url_problem(url)
        if problem:
            raise SourceError(f"url_env: {self.url_env} {problem}", permanent=True)
        return url


def check_read_only(sql: str) -> str | None:
    """Why ``sql`` is not a single read-only SELECT, or None if it is."""
    words: list[str] = []
    after_semicolon = False
    for match in _LEXEMES.finditer(sql):
        kind = match.lastgroup
        if kind == "semicolon":
            after_semicolon = True
        elif kind in ("word", "literal", "other") and not match.group().isspace():
            if after_semicolon:
                return "only one statement is allowed"
            if kind == "word":
                words.append(match.group().lower())
    if not words or words[0] not in ("select", "with"):
        return "must be a SELECT (or WITH ... SELECT) statement"
    writing = sorted(set(words) & _WRITING)
    if writing:
        return f"must only read; it uses {', '.join(w.upper() for w in writing)}"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable SQLAlchemy URL (without repeating it: it may hold a
    password), or None."""
    try:
        make_url(normalise_url(url)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        return "is not a usable SQLAlchemy URL: " + str(exc).replace(url, "<the URL>")
    return None


def _read_url(reader: ConfigReader) -> tuple[str, str | None]:
    url, url_env = reader.text("url", None), reader.value("url_env")
    if url is None and url_env is None:
        reader.error("url", "is required (or url_env: the environment variable holding it)")
    elif url is not None and url_env is not None:
        reader.error("url_env", "give either url or url_env, not both")
    elif url_env is not None:
        return "", url_env if check_env_name(reader, "url_env", url_env) else None
    elif url and (problem := url_problem(url)):
        reader.error("url", problem)
    return url or "", None


def parse_sql_config(raw: Mapping[str, Any]) -> SqlConfig:
    reader = ConfigReader(raw)
    url, url_env = _read_url(reader)
    query = reader.text("query")
    if query:
        problem = check_read_only(query)
        if problem:
            reader.error("query", problem)
    config = SqlConfig(
        url=url,
        url_env=url_env,
        query=query,
        mode=reader.choice("mode", SqlMode, SqlMode.HITS),
        time_column=reader.text("time_column", None),
        id_column=reader.text("id_column", None),
        max_rows=reader.integer("max_rows", 500, low=1, high=MAX_ROWS),
        timeout_seconds=reader.number("timeout_seconds", 30.0, low=0.1, high=600),
    )
    reader.finish()
    return config


class SqlSource(Source):
    name = "sql"
    privileged = True
    description = "a read-only SQL query; rows become hits"
    config: SqlConfig

    def __init__(self, config: SqlConfig, context: SourceContext):
        super().__init__(config, context)
        # The DBAPI connection while a statement runs, for cancel() from another thread
        # (a plain attribute: reading and writing a reference is atomic).
        self._live: Any = None

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> SqlConfig:
        return parse_sql_config(raw)

    def result_kind(self) -> ResultKind:
        return ResultKind.COUNT if self.config.mode is SqlMode.COUNT else ResultKind.HITS

    def run(self, window: TimeWindow) -> SourceResult:
        problem = check_read_only(self.config.query)  # again: the config may not be parsed
        if problem:
            raise SourceError(f"query {problem}", permanent=True)
        url = self.config.database_url()
        try:
            engine = create_engine(
                normalise_url(url),
                poolclass=pool.NullPool,
                connect_args=connect_timeout_args(url, self.deadline.bound(math.inf)),
            )
        except (ArgumentError, ImportError, ValueError) as exc:
            reason = str(exc).replace(url, "<the URL>")
            raise SourceError(f"cannot use the database URL: {reason}", permanent=True) from None
        try:
            try:
                connection = engine.connect()
            except SQLAlchemyError as exc:
                self.deadline.check()
                raise SourceError(f"cannot connect: {_reason(exc)}", permanent=False) from None
            with connection:
                return self._query(connection, window)
        finally:
            engine.dispose()

    def cancel(self) -> None:
        """Ask the database to stop the statement in flight (from the runner's thread)."""
        live = self._live
        if live is not None:
            cancel_statement(live)

    def _query(self, connection: Connection, window: TimeWindow) -> SourceResult:
        config = self.config
        started = time.monotonic()
        # The run's deadline, not the config's timeout, is what would stop this statement.
        run_bound = self.deadline.remaining() < config.timeout_seconds
        self._live = connection.connection.dbapi_connection
        try:
            rows, columns = execute_read_only(
                connection, config.query, _params(config.query, window), config, self.deadline
            )
        except SQLAlchemyError as exc:
            statement_timeout = "statement timeout" in str(exc)
            if self.deadline.expired() or (run_bound and statement_timeout):
                raise SourceCancelled("the query was stopped at the run's deadline") from None
            timed_out = time.monotonic() - started >= config.timeout_seconds * 0.9
            if timed_out or statement_timeout:
                raise SourceError(
                    f"query timed out after {config.timeout_seconds:g}s", permanent=False
                ) from None
            raise SourceError(f"query failed: {_reason(exc)}", permanent=True) from None
        finally:
            self._live = None
        truncated = len(rows) > config.max_rows
        rows = rows[: config.max_rows]
        if config.mode is SqlMode.COUNT:
            return SourceResult(ResultKind.COUNT, count=_count(rows))
        hits = [self._hit(dict(zip(columns, row, strict=True))) for row in rows]
        return SourceResult(ResultKind.HITS, hits=hits, truncated=truncated)

    def _hit(self, row: dict[str, Any]) -> Hit:
        fields = {name: json_safe(value) for name, value in row.items()}
        timestamp = None
        if self.config.time_column:
            value = row.get(self.config.time_column)
            timestamp = parse_time(value.isoformat() if isinstance(value, datetime) else value)
        hit_id = None
        if self.config.id_column and row.get(self.config.id_column) is not None:
            hit_id = str(row[self.config.id_column])
        return Hit(hit_id, timestamp, fields)


def execute_read_only(
    connection: Connection,
    sql: str,
    params: dict[str, Any],
    config: SqlConfig,
    deadline: Deadline | None = None,
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Run ``sql`` in a transaction the database knows is read-only, then roll it back.

    The statement ends by ``config.timeout_seconds`` and by ``deadline`` (the run's).
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None:
            raw.execute("PRAGMA query_only = ON")
    transaction = connection.begin()
    try:
        if dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        with statement_deadline(connection, deadline or Deadline(), config.timeout_seconds):
            statement = text(sql)
            for name in params:
                statement = statement.bindparams(bindparam(name, type_=DateTime(timezone=True)))
            result = connection.execute(statement, params)
            columns = list(result.keys())
            rows = [tuple(row) for row in result.fetchmany(config.max_rows + 1)]
        return rows, columns
    finally:
        transaction.rollback()


def _params(sql: str, window: TimeWindow) -> dict[str, Any]:
    names = set(text(sql).compile().params)
    return {k: v for k, v in (("start", window.start), ("end", window.end)) if k in names}


def _count(rows: list[tuple[Any, ...]]) -> int:
    if not rows or not rows[0]:
        raise SourceError("count mode needs the query to return one row with a number")
    value = rows[0][0]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise SourceError(f"count mode needs a number in the first column, not {value!r}")
    return round(value)


def json_safe(value: Any) -> Any:
    """A column value as JSON can hold it (alerts store their fields as JSON)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0]
