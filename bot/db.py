"""Engines and sessions for SQLite (the embedded default) and Postgres."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import DatabaseError
from searches.db_url import normalise_url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine, or raise DatabaseError with a one-line reason."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        else:
            kwargs.setdefault("connect_args", {"connect_timeout": 10})
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"DATABASE_URL is not a usable database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection is pinged before use only if it sat idle this long: one used a
# moment ago is alive, and a ping per checkout is a round trip per search run. One that
# died meanwhile fails its statement; the pool replaces it (invalidated on disconnect).
PING_AFTER_IDLE_SECONDS = 5.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle = time.monotonic() - record.info.get("checked_in", float("-inf"))
    if idle < PING_AFTER_IDLE_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()  # no transaction left open by the ping
    except Exception:
        # The pool drops this connection and checks out another (a few tries).
        raise DisconnectionError("the pooled connection is gone") from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web and worker threads read while one writes; foreign keys are
    # off by default in SQLite; busy_timeout waits for a writer instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Raise DatabaseError with a one-line reason if the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"cannot reach the database {safe_url(engine)}: {reason}") from None


def safe_url(engine_or_url: Engine | str) -> str:
    """The URL with its password masked, for messages and logs."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit if the block finishes, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def autocommit_on_postgres(session: Session, connection: Connection) -> Iterator[bool]:
    """Postgres: each statement in the block commits on its own; yields whether that is so.

    For reads and single-statement writes, which are consistent and atomic on their
    own: it saves the BEGIN and COMMIT round trips. ``session`` is bound to
    ``connection``; the connection is back to transactions when the block ends.
    Other databases: the block runs in the session's usual transaction.
    """
    if connection.dialect.name != "postgresql":
        yield False
        return
    connection.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield True
        session.commit()  # ends SQLAlchemy's bookkeeping; the statements committed already
    finally:
        if session.in_transaction():
            session.rollback()
        connection.execution_options(isolation_level=connection.default_isolation_level)


# psycopg caches the conversion of a statement's text (its %(name)s placeholders) only
# for texts of at most this many characters; a longer one is parsed again on every call.
PSYCOPG_CACHED_LENGTH = 4096
_SQL_LAYOUT = re.compile(r"\s*([(),=])\s*|\s+")


def compact_sql(sql: str) -> str:
    """A statement's text without layout: one space between words, none around ( ) , =.

    For statements run on every search run, so that they stay under
    :data:`PSYCOPG_CACHED_LENGTH`. Not for texts whose string literals hold those
    characters next to spaces (ours do not).
    """
    return _SQL_LAYOUT.sub(lambda m: m.group(1) or " ", sql).strip()
