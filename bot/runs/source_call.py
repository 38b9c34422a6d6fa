"""Calling a source with a deadline: a hung query cannot hold a worker.

A source that promises to stop at its deadline (``Source.stops_at_deadline``: every
blocking call bounded by the time left, as the Elasticsearch source does) runs in
the caller's thread. Any other source runs in a thread of its own with ``source.deadline`` set (a thread
reused from earlier calls when one is idle: starting a thread per call costs
more CPU than a quick query). When the
run's timeout passes, the deadline's ``cancelled`` flag is set and
``source.cancel()`` called; built-in sources then stop their query (a cancelled
statement, a request whose timeout was the time left, a scan that checks the
flag) and their thread ends within a short grace. Python cannot kill a thread: a
third-party source that ignores both is abandoned (its source closed whenever it
returns) and the run's message says so. Either way the caller records TIMED_OUT
and writes nothing of the run's results.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from searches.base import Deadline, Source, SourceCancelled, SourceResult, TimeWindow

log = logging.getLogger(__name__)

# How long a source has, once asked to stop, to end its thread before it is abandoned.
# Built-in sources end theirs within milliseconds: their calls are bounded by the deadline.
STOP_GRACE_SECONDS = 1.0


class RunTimeout(Exception):
    """The run passed its timeout; ``abandoned`` when its source did not stop in time."""

    def __init__(self, message: str, *, abandoned: bool = False):
        super().__init__(message)
        self.abandoned = abandoned


def run_source(
    source: Source, window: TimeWindow, timeout: float, *, grace: float = STOP_GRACE_SECONDS
) -> SourceResult:
    """``source.run(window)``, stopped at ``timeout`` seconds.

    ``source.close()`` runs once, after ``run`` has returned.
    """
    deadline = Deadline.after(timeout)
    try:
        source.deadline = deadline
    except AttributeError:  # a source with a read-only "deadline" of its own: it is on its own
        log.warning("source %s: cannot set its deadline", type(source).__name__)
    else:
        if source.stops_at_deadline:
            return _run_here(source, window, deadline, timeout)
    box: dict[str, Any] = {}
    finished = threading.Event()  # run() returned or raised
    ended = threading.Event()  # ... and close() is done: nothing of the source runs any more

    def target() -> None:
        try:
            box["result"] = source.run(window)
        except BaseException as exc:
            box["error"] = exc
        finally:
            finished.set()
            try:
                source.close()
            except Exception:
                log.exception("closing source %s failed", source.context.search_name)
            ended.set()

    _THREADS.submit(target)
    if not finished.wait(timeout):
        raise _stop(source, deadline, timeout, grace, ended)
    error = box.get("error")
    if error is not None:
        if isinstance(error, SourceCancelled) or deadline.expired():
            # A call bounded by the time left ran out just before our own wait did.
            raise RunTimeout(_stopped(timeout)) from None
        raise error
    result: SourceResult = box["result"]
    return result


def _run_here(
    source: Source, window: TimeWindow, deadline: Deadline, timeout: float
) -> SourceResult:
    """A deadline-bounded source, in this thread; a result that came too late is dropped."""
    try:
        result = source.run(window)
    except Exception:
        if deadline.expired():  # a call bounded by the time left ran out
            raise RunTimeout(_stopped(timeout)) from None
        raise
    finally:
        try:
            source.close()
        except Exception:
            log.exception("closing source %s failed", source.context.search_name)
    if deadline.expired():  # as a thread's result would be: the run is over
        raise RunTimeout(_stopped(timeout))
    return result


class SourceThreads:
    """Threads for source calls, reused while idle; more are started when all are busy.

    Never a fixed pool: an abandoned source keeps its thread for as long as it
    likes, and the next call simply gets another. An idle thread ends after
    ``idle_seconds``.
    """

    def __init__(self, idle_seconds: float = 60.0):
        self.idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # threads waiting for a job
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that thread takes this job
            self._jobs.put(job)
        if start:
            name = f"source-call-{next(_NUMBERS)}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():  # no job was promised to an idle thread
                        self._idle -= 1
                        return
                continue
            job()
            with self._lock:
                self._idle += 1


_NUMBERS = itertools.count(1)
_THREADS = SourceThreads()


def _stop(
    source: Source, deadline: Deadline, timeout: float, grace: float, ended: threading.Event
) -> RunTimeout:
    """Ask the source to stop and wait ``grace`` for its thread; the error to raise."""
    deadline.cancel()
    # In a thread of its own: a cancel() that blocks (a slow server) cannot hold the worker.
    name = f"cancel-{source.context.search_id}"
    threading.Thread(target=_cancel, args=(source,), name=name, daemon=True).start()
    if ended.wait(grace):
        return RunTimeout(_stopped(timeout))
    log.warning(
        "search %s: source %s ignored its deadline; its thread is abandoned",
        source.context.search_name,
        type(source).__name__,
    )
    message = (
        f"the search did not finish within {timeout:g}s; its source did not stop within "
        f"{grace:g}s of being asked and was abandoned (it may still be querying)"
    )
    return RunTimeout(message, abandoned=True)


def _cancel(source: Source) -> None:
    try:
        source.cancel()
    except Exception:
        log.exception("cancelling source %s failed", source.context.search_name)


def _stopped(timeout: float) -> str:
    return f"the search did not finish within {timeout:g}s and was stopped"
