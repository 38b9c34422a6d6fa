"""The scheduler lease: only its holder creates due runs.

On Postgres it is a session-level advisory lock held on a dedicated connection:
when the holder dies its connection closes and the lock is released, so another
worker takes over on its next attempt. No home-made consensus, no expiry clock.
On SQLite there is one process, and it holds the lease.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# An arbitrary constant that names "the 411 scheduler" among advisory locks (0x411 5C4ED).
LEASE_KEY = 0x4115C4ED


class Lease:
    def __init__(self, engine: Engine, key: int = LEASE_KEY):
        self.engine = engine
        self.key = key
        self.connection: Connection | None = None
        self.held = False

    @property
    def shared(self) -> bool:
        """Whether other processes compete for it (Postgres); SQLite has one process."""
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if not self.shared:
            self.held = True
            return True
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            got = self.connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except SQLAlchemyError as exc:
            log.warning("scheduler lease: cannot ask Postgres: %s", exc)
            self._drop_connection()
            return False
        self.held = bool(got)
        return self.held

    def check(self) -> bool:
        """Whether the lease is still ours (the connection may have died under us)."""
        if not self.held or not self.shared:
            return self.held
        assert self.connection is not None
        try:
            mine = self.connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": self.key},
            )
        except SQLAlchemyError as exc:
            log.warning("scheduler lease lost: %s", exc)
            mine = 0
        if not mine:
            self.held = False
            self._drop_connection()
        return self.held

    def release(self) -> None:
        if self.shared and self.held and self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # closing the connection releases it anyway
                self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self.held = False
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                log.debug("closing the lease connection failed", exc_info=True)
            self.connection = None
