"""Pooled Postgres connections are pinged only after sitting idle; a dead one is replaced."""

from __future__ import annotations

from sqlalchemy import event, text

import bot.db
from bot.db import make_engine


def test_a_busy_connection_is_not_pinged_and_an_idle_dead_one_is_replaced(pg_url, monkeypatch):
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with engine.connect() as connection:
            pid = connection.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as connection:  # used a moment ago: no ping, the same backend
            assert connection.scalar(text("SELECT pg_backend_pid()")) == pid
        with make_engine(pg_url).connect() as admin:  # the server ends it while it is idle
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(bot.db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if idle for long
        with engine.connect() as connection:  # the ping finds it dead: a new one serves
            assert connection.scalar(text("SELECT pg_backend_pid()")) != pid
        assert statements == ["SELECT pg_backend_pid()"] * 3  # the pings bypass SQLAlchemy
    finally:
        engine.dispose()
