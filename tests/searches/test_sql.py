"""The sql source on real SQLite and Postgres databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, create_engine, pool, text

from searches.base import ResultKind, SourceConfigError, SourceContext, SourceError
from searches.sql import SqlSource, check_read_only, execute_read_only, parse_sql_config
from tests.searches.conftest import END, MS, START, WINDOW

ROWS = [
    ("before", START - MS, "alice", True),
    ("on-start", START, "alice", False),
    ("middle", START + timedelta(minutes=30), "bob", False),
    ("last-ms", END - MS, "carol", True),
    ("on-end", END, "dave", False),
]
WINDOWED = "SELECT name, at, username, ok FROM logins WHERE at >= :start AND at < :end ORDER BY at"


@pytest.fixture
def sql_url(db_url: str) -> str:
    """A database (SQLite and Postgres) holding a ``logins`` table of user data.

    Written through SQLAlchemy, so SQLite holds times as SQLAlchemy writes them (UTC text).
    """
    engine = create_engine(db_url, poolclass=pool.NullPool)
    logins = Table(
        "logins",
        MetaData(),
        Column("name", String(20)),
        Column("at", DateTime(timezone=True)),
        Column("username", String(20)),
        Column("ok", Boolean),
    )
    with engine.begin() as connection:
        logins.create(connection)
        names = ("name", "at", "username", "ok")
        connection.execute(logins.insert(), [dict(zip(names, row, strict=True)) for row in ROWS])
    engine.dispose()
    return db_url


def run(url: str, **raw: Any) -> Any:
    return SqlSource(SqlSource.parse_config({"url": url, **raw}), SourceContext()).run(WINDOW)


def row_count(url: str) -> int:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM logins")).scalar_one()
    engine.dispose()
    return int(count)


def test_it_turns_the_rows_of_the_window_into_hits(sql_url: str) -> None:
    result = run(sql_url, query=WINDOWED, time_column="at", id_column="name")
    assert result.kind is ResultKind.HITS
    assert [h.id for h in result.hits] == ["on-start", "middle", "last-ms"]
    assert result.hits[0].timestamp == START
    assert result.hits[1].fields["username"] == "bob"
    assert not result.truncated


def test_it_counts_with_the_first_column(sql_url: str) -> None:
    query = "SELECT count(*) FROM logins WHERE ok = :no AND at >= :start AND at < :end"
    query = query.replace(":no", "false") if "postgres" in sql_url else query.replace(":no", "0")
    result = run(sql_url, query=query, mode="count")
    assert result.kind is ResultKind.COUNT and result.count == 2


def test_it_caps_rows(sql_url: str) -> None:
    result = run(sql_url, query="SELECT name FROM logins ORDER BY at", max_rows=2)
    assert [h.fields["name"] for h in result.hits] == ["before", "on-start"]
    assert result.truncated


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM logins",
        "SELECT 1; DELETE FROM logins",
        "/* harmless */ UPDATE logins SET ok = true",
        "WITH gone AS (DELETE FROM logins RETURNING *) SELECT * FROM gone",
        "SELECT * INTO copy_of_logins FROM logins",
    ],
)
def test_it_refuses_anything_but_one_select_before_running_it(sql_url: str, query: str) -> None:
    with pytest.raises(SourceConfigError) as raised:
        parse_sql_config({"url": sql_url, "query": query})
    assert [e.field for e in raised.value.errors] == ["query"]
    assert row_count(sql_url) == len(ROWS)


def test_it_accepts_keywords_inside_literals_and_comments() -> None:
    assert check_read_only("SELECT 'DROP TABLE x; --' AS a -- DELETE\n FROM t") is None
    assert check_read_only("WITH t AS (SELECT 1 AS n) SELECT n FROM t;") is None


def test_the_database_refuses_writes_even_if_the_check_were_bypassed(sql_url: str) -> None:
    config = parse_sql_config({"url": sql_url, "query": "SELECT 1"})
    engine = create_engine(sql_url, poolclass=pool.NullPool)
    with engine.connect() as connection, pytest.raises(Exception) as raised:
        execute_read_only(connection, "DELETE FROM logins", {}, config)
    engine.dispose()
    assert "read-only" in str(raised.value) or "readonly" in str(raised.value)
    assert row_count(sql_url) == len(ROWS)


def test_it_stops_a_query_at_its_timeout(sql_url: str) -> None:
    if "postgres" in sql_url:
        query = "SELECT pg_sleep(5)"
    else:
        query = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                 "WHERE i < 100000000) SELECT count(*) FROM n")  # fmt: skip
    with pytest.raises(SourceError) as raised:
        run(sql_url, query=query, timeout_seconds=0.5)
    assert not raised.value.permanent
    assert "timed out after 0.5s" in str(raised.value)


def test_a_bad_query_is_a_permanent_error_with_the_reason(sql_url: str) -> None:
    with pytest.raises(SourceError) as raised:
        run(sql_url, query="SELECT nope FROM logins")
    assert raised.value.permanent and "nope" in str(raised.value)


def test_an_unreachable_database_is_a_transient_error() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    with pytest.raises(SourceError) as raised:
        run(url, query="SELECT 1")
    assert not raised.value.permanent and "cannot connect" in str(raised.value)


def test_it_reports_every_config_problem_naming_its_field() -> None:
    raw = {"url": "nosuchdb://x", "query": "", "max_rows": 0, "mode": "rows"}
    with pytest.raises(SourceConfigError) as raised:
        SqlSource.parse_config(raw)
    assert {e.field for e in raised.value.errors} == {"url", "query", "max_rows", "mode"}


def test_it_reads_the_url_from_the_variable_url_env_names(
    sql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_411_SQL_URL", sql_url)
    raw = {"url_env": "TEST_411_SQL_URL", "query": WINDOWED}
    result = SqlSource(SqlSource.parse_config(raw), SourceContext()).run(WINDOW)
    assert [h.fields["name"] for h in result.hits] == ["on-start", "middle", "last-ms"]


def test_an_unset_url_env_variable_fails_the_run_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_411_UNSET_URL", raising=False)
    config = parse_sql_config({"url_env": "TEST_411_UNSET_URL", "query": "SELECT 1"})
    with pytest.raises(SourceError) as raised:
        SqlSource(config, SourceContext()).run(WINDOW)
    assert str(raised.value).startswith("url_env: environment variable TEST_411_UNSET_URL")
    assert raised.value.permanent


def test_a_bad_url_in_the_environment_is_reported_without_repeating_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_411_BAD_URL", "nodriver://reader:S3cretPw@db/app")
    config = parse_sql_config({"url_env": "TEST_411_BAD_URL", "query": "SELECT 1"})
    with pytest.raises(SourceError) as raised:
        SqlSource(config, SourceContext()).run(WINDOW)
    assert "url_env: TEST_411_BAD_URL is not a usable SQLAlchemy URL" in str(raised.value)
    assert "S3cretPw" not in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"url": "sqlite://", "url_env": "X"}, "url_env", "either url or url_env"),
        ({}, "url", "is required (or url_env"),
        ({"url_env": "not a name"}, "url_env", "must name an environment variable"),
    ],
)
def test_it_wants_exactly_one_of_url_and_url_env(
    raw: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(SourceConfigError) as raised:
        parse_sql_config({**raw, "query": "SELECT 1"})
    [error] = raised.value.errors
    assert error.field == field and message in error.message
