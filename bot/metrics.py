"""Prometheus metrics of ``411 worker`` and ``411 serve`` (the ``prometheus_client`` library).

Two kinds:
- counters and histograms of what this process did (runs, Slack API calls, source
  errors), in the process-wide registry, moved where the thing happens;
- gauges of the shared state (alerts by state and priority, the delivery backlog,
  live workers), read from the database at scrape time by :class:`DatabaseCollector`,
  so every process reports the same picture and nothing drifts.

Names start with ``four11_``; see docs/operations.md for each metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

if TYPE_CHECKING:
    from bot.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

RUNS = Counter("four11_runs", "Search runs finished, by search and status", ["search", "status"])
# The duration histograms have no per-search label: a series per bucket per search is
# hundreds of thousands of series (and ~100 MB) at 10,000 searches. A search's own
# durations are on its runs (411 search show).
RUN_SECONDS = Histogram(
    "four11_run_duration_seconds",
    "Wall time of a search run, source call included",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
SOURCE_SECONDS = Histogram(
    "four11_source_duration_seconds",
    "Time spent in the search's source (Elasticsearch, file, SQL, ...)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LATENESS = Histogram(
    "four11_schedule_lateness_seconds",
    "How long after its fire time a run started",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
SOURCE_ERRORS = Counter(
    "four11_source_errors", "Failed source calls, by kind (timeout, permanent, transient)", ["kind"]
)
SLACK_CALLS = Counter(
    "four11_slack_api_calls",
    "Slack Web API calls, by method and outcome (ok, an error code, http_<status>, network)",
    ["method", "status"],
)
SLACK_RATE_LIMITED = Counter(
    "four11_slack_rate_limited", "Slack API calls answered with HTTP 429", ["method"]
)
LEASE_HELD = Gauge(
    "four11_scheduler_lease_held", "1 while this worker holds the scheduler lease", ["worker"]
)
MISSED = Counter(
    "four11_runs_missed",
    "Fire times never evaluated: given up after waiting too long (a later run was due), "
    "or passed while no scheduler was ticking",
    ["why"],
)
BATCHED_SEARCHES = Counter(
    "four11_batched_searches",
    "Source searches sent in a claimed batch's _msearch: answered, or asked alone after "
    "the batch failed",
    ["outcome"],
)
RECLAIMED = Counter(
    "four11_reclaimed",
    "Runs and deliveries taken back from a worker that died",
    ["what"],
)


def slack_status(error: BaseException | None) -> str:
    """The ``status`` label of a Slack call that raised ``error`` (None: it succeeded)."""
    if error is None:
        return "ok"
    if isinstance(error, SlackApiError):
        code = error.response.status_code
        if code == 429:
            return "http_429"
        if code >= 500:
            return f"http_{code}"
        return str(error.response.get("error") or f"http_{code}")
    return "network"


class CountingWebClient(WebClient):
    """A WebClient that counts every API call by method and outcome (and 429s)."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except Exception as exc:
            SLACK_CALLS.labels(api_method, slack_status(exc)).inc()
            if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
                SLACK_RATE_LIMITED.labels(api_method).inc()
            raise
        SLACK_CALLS.labels(api_method, "ok").inc()
        return response


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (a failed read reports nothing)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from bot.ops.status import read_status

        try:
            status = read_status(self.runtime)
        except Exception:  # the database is down: /readyz says so; no stale numbers here
            return
        alerts = GaugeMetricFamily(
            "four11_alerts", "Alerts by state and priority", labels=["state", "priority"]
        )
        for (state, priority), count in sorted(status.alerts.items()):
            alerts.add_metric([state, priority], count)
        yield alerts
        backlog = GaugeMetricFamily(
            "four11_deliveries",
            "Deliveries by state: pending (never tried), retrying, sending, given_up",
            labels=["state"],
        )
        for state, count in status.deliveries.as_labels().items():
            backlog.add_metric([state], count)
        yield backlog
        yield GaugeMetricFamily(
            "four11_delivery_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet sent (0: none)",
            value=status.deliveries.oldest_age_seconds,
        )
        workers = GaugeMetricFamily(
            "four11_workers_alive", "Workers whose heartbeat is fresh", labels=["role"]
        )
        for role, count in sorted(status.workers_alive.items()):
            workers.add_metric([role], count)
        yield workers


def exposition(runtime: Runtime) -> bytes:
    """The text of a scrape: this process's counters, then the database's gauges."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(runtime))
    return generate_latest(REGISTRY) + generate_latest(database)
