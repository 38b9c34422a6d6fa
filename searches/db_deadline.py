"""Database statements that end by a run's deadline (the sql, alerts and push sources).

Postgres is told ``statement_timeout`` (and ``connect_timeout``: libpq waits forever by
default); SQLite gets a progress handler. ``cancel_statement`` stops a statement in
flight from the runner's thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, make_url
from sqlalchemy.exc import ArgumentError

from searches.base import Deadline
from searches.db_url import normalise_url

log = logging.getLogger(__name__)
CANCEL_WAIT_SECONDS = 1.0  # how long a cancel request may wait for the server to take it
LIBPQ = ("psycopg", "psycopg2")  # drivers taking libpq's connect_timeout


@contextmanager
def statement_deadline(
    connection: Connection, deadline: Deadline, cap: float = math.inf
) -> Iterator[None]:
    """Statements run on ``connection`` meanwhile end by ``deadline`` and ``cap`` seconds.

    Call it inside a transaction. Postgres: ``SET LOCAL statement_timeout`` (ends with
    the transaction). SQLite: a progress handler that interrupts the statement once the
    time is up or the deadline is cancelled (removed afterwards: the connection may go
    back to a pool). Other databases: nothing.
    """
    seconds = deadline.bound(cap)
    raw = connection.connection.dbapi_connection
    dialect = connection.dialect.name
    if not math.isfinite(seconds):
        yield
    elif dialect == "postgresql":
        timeout_ms = max(1, math.ceil(seconds * 1000))
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")
        yield
    elif dialect == "sqlite" and raw is not None:
        until = time.monotonic() + seconds
        expired = deadline.cancelled.is_set
        # Every 10,000 virtual machine steps: a clock read costs nothing at that rate.
        raw.set_progress_handler(lambda: int(expired() or time.monotonic() > until), 10_000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
    else:
        yield


def cancel_statement(raw: Any) -> None:
    """Cancel what a DBAPI connection is running, from another thread; never raises."""
    try:
        if hasattr(raw, "cancel_safe"):  # psycopg 3.2+: no signal, bounded wait
            raw.cancel_safe(timeout=CANCEL_WAIT_SECONDS)
        elif hasattr(raw, "cancel"):  # older psycopg, psycopg2
            raw.cancel()
        elif hasattr(raw, "interrupt"):  # sqlite3: thread-safe by design
            raw.interrupt()
    except Exception as exc:  # the statement may have ended meanwhile
        log.info("cancelling a SQL statement failed: %s", exc)


def connect_timeout_args(url: str, seconds: float) -> dict[str, Any]:
    """Postgres ``connect_timeout`` (libpq's default is none) within ``seconds``.

    libpq counts whole seconds and at least 2; a smaller one in the URL stays.
    """
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):
        return {}
    libpq = parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in LIBPQ
    if not libpq or not math.isfinite(seconds):
        return {}
    limit = max(2, math.ceil(seconds))
    given = parsed.query.get("connect_timeout")
    if isinstance(given, str) and given.isdigit():
        limit = min(limit, int(given))
    return {"connect_timeout": limit}
