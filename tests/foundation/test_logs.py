"""Quiet logs: a repeating failure logs when it starts, a summary a minute, and when it
clears; a traceback once per distinct error; LOG_FORMAT=json gives one object per line."""

from __future__ import annotations

import json
import logging

import pytest

from bot.config import log_format
from bot.errors import ConfigurationError
from bot.logs import FailureLog, JsonFormatter


def _error(message: str) -> RuntimeError:
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        return exc


def test_a_repeating_failure_logs_start_summary_and_end(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="quiet")
    failures = FailureLog(logging.getLogger("quiet"), "database", summary_every=0.0)
    for _ in range(200):  # a poll every half second for 100 s
        failures.failed(_error("connection refused (unique to this test)"))
    failures.cleared()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "database failing: RuntimeError: connection refused (unique to this test)"
    assert lines[-1] == "database recovered after 200 failures in 0s"
    assert [r.exc_info is not None for r in caplog.records].count(True) == 1
    assert all("still failing" in line for line in lines[1:-1])


def test_it_is_silent_between_summaries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="quiet")
    failures = FailureLog(logging.getLogger("quiet"), "Slack", summary_every=60.0)
    for _ in range(500):
        failures.failed("Slack error: internal_error")
        failures.tick()
    assert len(caplog.records) == 1
    failures.cleared()
    failures.cleared()  # nothing was failing any more: nothing to say
    assert len(caplog.records) == 2


def test_json_lines_carry_the_failure(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "%s down", ("Slack",), None)
    record.failure = "Slack"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Slack down" and line["level"] == "WARNING"
    assert line["failure"] == "Slack" and line["time"].endswith("+00:00")


def test_log_format_is_text_or_json() -> None:
    assert log_format({}) == "text" and log_format({"LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ConfigurationError):
        log_format({"LOG_FORMAT": "xml"})
