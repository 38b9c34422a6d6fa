"""Logging: the format (text, or ``LOG_FORMAT=json``), and quiet logs for repeating failures.

A loop that polls every half second and fails on every poll (the database is down,
Slack is down, a source file is unreadable) must not write a traceback per poll.
:class:`FailureLog` logs once when the failure starts (with the traceback, once per
distinct error), a summary line every minute with the count, and once when it
clears.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

SUMMARY_EVERY = 60.0  # seconds between "still failing" lines
_SEEN_LIMIT = 256  # distinct errors remembered (their traceback was logged once)


class _Seen:
    """The errors whose traceback this process has logged: once per process, whichever
    loop met it first (the database going away fails every loop the same way)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: OrderedDict[str, None] = OrderedDict()

    def first_time(self, signature: str) -> bool:
        with self._lock:
            if signature in self._errors:
                return False
            self._errors[signature] = None
            while len(self._errors) > _SEEN_LIMIT:
                self._errors.popitem(last=False)
            return True


SEEN = _Seen()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key in ("failure", "failures", "failing_for_s"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, default=str)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def _signature(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        first = (str(error).splitlines() or [""])[0][:200]
        return f"{type(error).__name__}: {first}"
    return error[:200]


class FailureLog:
    """The log of one repeating failure (``what``): start, a summary a minute, the end."""

    def __init__(
        self, logger: logging.Logger, what: str, summary_every: float = SUMMARY_EVERY
    ) -> None:
        self.logger = logger
        self.what = what
        self.summary_every = summary_every
        self._lock = threading.Lock()
        self.failing_since: float | None = None
        self.count = 0  # failures since it started
        self._in_window = 0  # failures since the last summary
        self._last_line = 0.0
        self._last_error = ""

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failed(self, error: BaseException | str) -> None:
        now = time.monotonic()
        signature = _signature(error)
        with self._lock:
            new_error = SEEN.first_time(signature)
            self.count += 1
            self._in_window += 1
            self._last_error = signature
            if self.failing_since is None:
                self.failing_since = now
                self._last_line = now
                self._in_window = 0
                self._log(logging.ERROR, f"{self.what} failing: {signature}", error, new_error)
                return
            if new_error and isinstance(error, BaseException):  # its traceback, once
                self._log(logging.ERROR, f"{self.what}: another error: {signature}", error, True)
            elif now - self._last_line >= self.summary_every:
                self._summary(now)

    def tick(self) -> None:
        """Write the minute's summary even when nothing new failed (call it from a loop)."""
        with self._lock:
            now = time.monotonic()
            if self.failing_since is not None and now - self._last_line >= self.summary_every:
                self._summary(now)

    def cleared(self) -> None:
        with self._lock:
            if self.failing_since is None:
                return
            lasted = time.monotonic() - self.failing_since
            self.logger.warning(
                "%s recovered after %d failures in %.0fs",
                self.what,
                self.count,
                lasted,
                extra={"failure": self.what, "failures": self.count, "failing_for_s": lasted},
            )
            self.failing_since = None
            self.count = 0
            self._in_window = 0

    def _summary(self, now: float) -> None:
        assert self.failing_since is not None
        lasted = now - self.failing_since
        self.logger.warning(
            "%s still failing: %d failures in the last %.0fs, %d in %.0fs; last: %s",
            self.what,
            self._in_window,
            now - self._last_line,
            self.count,
            lasted,
            self._last_error,
            extra={"failure": self.what, "failures": self.count, "failing_for_s": lasted},
        )
        self._last_line = now
        self._in_window = 0

    def _log(
        self, level: int, message: str, error: BaseException | str, with_traceback: bool
    ) -> None:
        exc_info = None
        if with_traceback and isinstance(error, BaseException) and error.__traceback__:
            exc_info = (type(error), error, error.__traceback__)
        self.logger.log(level, message, exc_info=exc_info, extra={"failure": self.what})
