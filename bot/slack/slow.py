"""Slow work after the ack, in worker processes: searches tried or run from Slack.

A `/411 search test` may scan a large log file (CPU) or wait for a slow
Elasticsearch. Run on Bolt's listener threads it would hold them (and the GIL)
and delay the acks of every other request; here it runs in a small process pool
with its own database connections, and the answer reaches the user through the
command's ``response_url`` when it is ready.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

_runtime: Runtime | None = None


def child_runtime(settings: Settings) -> Runtime:
    """In a worker process: one Runtime for its jobs, made on first use."""
    global _runtime
    if _runtime is None or _runtime.settings != settings:
        from bot.db import make_engine
        from bot.runtime import Runtime

        _runtime = Runtime(settings=settings, engine=make_engine(settings.database_url))
    return _runtime


def _watch_parent(parent: int) -> None:
    """In a worker: exit when the web process is gone (a killed parent runs no cleanup)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class SlowWork:
    """A lazily started process pool; ``submit`` calls ``done(text)`` or ``failed(exc)`` later."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: a fork of a threaded web server could inherit held locks
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=context,
                    initializer=_watch_parent,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def submit(
        self,
        fn: Callable[..., str],
        *args: Any,
        done: Callable[[str], Any],
        failed: Callable[[BaseException], Any],
    ) -> Future[str]:
        future = self._executor().submit(fn, *args)

        def finished(f: Future[str]) -> None:
            try:
                done(f.result())
            except BaseException as exc:
                try:
                    failed(exc)
                except Exception as again:  # Slack unreachable: nothing more to tell anyone
                    log.warning("could not report a job's outcome: %s (then %s)", exc, again)

        future.add_done_callback(finished)
        return future

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
