"""The ``metric``, ``percentage`` and ``spike`` modes: a statistic per group, out of bounds.

Each returns one bucket per group whose statistic is out of bounds, with count 1
(one violation) and the statistic among the bucket's fields, so ``condition: any``
fires once per such group and a template can show the value. Everything is
computed by Elasticsearch (aggregations); no document is downloaded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from searches.base import Bucket, ResultKind, SourceResult, TimeWindow
from searches.es_analysis import (
    Direction,
    Metric,
    MetricSettings,
    PercentageSettings,
    SpikeSettings,
)
from searches.es_groups import AnalysisJob


def metric_result(job: AnalysisJob, settings: MetricSettings, window: TimeWindow) -> SourceResult:
    """Groups whose statistic over the window is above ``above`` or below ``below``."""
    metric = aggregatable(job, settings.metric)
    rows, truncated = job.rows(window, {"value": metric.aggregation()})
    buckets = []
    for key, raw in rows:
        value = metric.value(raw["value"])
        if settings.bounds.crossed(value):
            buckets.append(Bucket(key, 1, {"value": value, "docs": int(raw["doc_count"])}))
    return _result(buckets, truncated)


def percentage_result(
    job: AnalysisJob, settings: PercentageSettings, window: TimeWindow
) -> SourceResult:
    """Groups where the share (in %) of documents also matching ``match`` is out of bounds."""
    rows, truncated = job.rows(window, {"matched": {"filter": settings.match}})
    buckets = []
    for key, raw in rows:
        total = int(raw["doc_count"])
        if total == 0 or total < settings.min_total:
            continue  # no share of nothing; too few documents to judge
        matched = int(raw["matched"]["doc_count"])
        percentage = matched * 100.0 / total
        if settings.bounds.crossed(percentage):
            fields = {"percentage": percentage, "matched": matched, "total": total}
            buckets.append(Bucket(key, 1, fields))
    return _result(buckets, truncated)


def spike_result(job: AnalysisJob, settings: SpikeSettings, window: TimeWindow) -> SourceResult:
    """Groups whose count (or statistic) in the window is ``height`` times that of the span before.

    The reference is the span of the same length just before the window, so a
    search's look-back is the length of both.
    """
    reference = TimeWindow(window.start - (window.end - window.start), window.start)
    both = TimeWindow(reference.start, window.end)
    aggs = {"current": _span(job, window, settings), "reference": _span(job, reference, settings)}
    rows, truncated = job.rows(both, aggs)
    buckets = []
    for key, raw in rows:
        current = _spike_value(raw["current"], settings)
        before = _spike_value(raw["reference"], settings)
        if spiked(settings, current, before):
            buckets.append(Bucket(key, 1, {"current": current, "reference": before}))
    return _result(buckets, truncated)


def spiked(settings: SpikeSettings, current: float | None, reference: float | None) -> bool:
    """ElastAlert's rule: at least ``height`` times the reference (up) or at most 1/height (down)."""
    if current is None or reference is None:
        return False
    if current < settings.min_current or reference < settings.min_reference:
        return False
    up = current >= reference * settings.height
    down = current <= reference / settings.height
    return (settings.direction in (Direction.UP, Direction.BOTH) and up) or (
        settings.direction in (Direction.DOWN, Direction.BOTH) and down
    )


def aggregatable(job: AnalysisJob, metric: Metric) -> Metric:
    """The metric on the field's ``.keyword`` sub-field when the field is text (cardinality)."""
    [name] = job.keyword_fields([metric.field])
    return metric if name == metric.field else replace(metric, field=name)


def _span(job: AnalysisJob, span: TimeWindow, settings: SpikeSettings) -> dict[str, Any]:
    counting: dict[str, Any] = {"filter": job.time_range(span)}
    if settings.metric is not None:
        counting["aggs"] = {"value": aggregatable(job, settings.metric).aggregation()}
    return counting


def _spike_value(raw: dict[str, Any], settings: SpikeSettings) -> float | None:
    if settings.metric is None:
        return float(raw["doc_count"])
    return settings.metric.value(raw["value"])


def _result(buckets: list[Bucket], truncated: bool) -> SourceResult:
    buckets.sort(key=lambda b: sorted((k, str(v)) for k, v in b.key.items()))
    return SourceResult(ResultKind.BUCKETS, buckets=buckets, truncated=truncated)
