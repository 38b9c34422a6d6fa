"""Elasticsearch modes that compare, not only count: their settings and how they are read.

Besides ``hits``, ``terms`` and ``count``, the elasticsearch source has modes that
look at a statistic, at an earlier span of time, or at earlier documents:

- ``metric``: a statistic (avg, min, max, sum, cardinality, value_count, a
  percentile) of a field over the window, per group; a group whose value lies
  above ``above`` or below ``below`` is returned (``searches/es_stats.py``).
- ``percentage``: the share of documents that also match ``match_query``, per
  group, out of bounds likewise (``searches/es_stats.py``).
- ``spike``: the count (or a statistic) in the window against the same span just
  before it; ``height`` times more (up) or less (down) is returned
  (``searches/es_spike.py``).
- ``new_terms``: documents of the window whose value of a field (or combination
  of fields) did not occur during ``since`` before the window (``searches/es_history.py``).
- ``change``: documents whose value of ``fields`` differs from the previous
  document of the same group (``group_by``) (``searches/es_history.py``).

The first three return one bucket per group that is out of bounds (count 1: one
violation; the statistic is in the bucket's fields), so ``condition: any`` fires
once per such group. The last two return documents, so their windows are
gap-free like ``hits`` and each document is judged once.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from searches.base import ResultKind, SourceConfigError
from searches.common import ConfigReader, Mode
from searches.lucene import syntax_error

MAX_SINCE_SECONDS = 366 * 86400


class AnalysisMode(enum.StrEnum):
    METRIC = "metric"
    PERCENTAGE = "percentage"
    SPIKE = "spike"
    NEW_TERMS = "new_terms"
    CHANGE = "change"

    @property
    def result_kind(self) -> ResultKind:
        hits = (AnalysisMode.NEW_TERMS, AnalysisMode.CHANGE)
        return ResultKind.HITS if self in hits else ResultKind.BUCKETS


class Agg(enum.StrEnum):
    """Elasticsearch metric aggregations a statistic can use."""

    MIN = "min"
    MAX = "max"
    AVG = "avg"
    SUM = "sum"
    CARDINALITY = "cardinality"
    VALUE_COUNT = "value_count"
    PERCENTILES = "percentiles"


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    BOTH = "both"


@dataclass(frozen=True)
class Metric:
    agg: Agg
    field: str
    percentile: float | None = None

    def aggregation(self) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.field}
        if self.agg is Agg.PERCENTILES:
            body["percents"] = [self.percentile]
        if self.agg is Agg.CARDINALITY:
            body["precision_threshold"] = 40_000  # exact below 40,000 distinct values
        return {self.agg.value: body}

    def value(self, raw: dict[str, Any]) -> float | None:
        """The statistic from its aggregation's response (None: no value, e.g. no documents)."""
        if self.agg is Agg.PERCENTILES:
            values = list((raw.get("values") or {}).values())
            value = values[0] if values else None
        else:
            value = raw.get("value")
        return None if value is None or math.isnan(value) else float(value)


@dataclass(frozen=True)
class Bounds:
    above: float | None = None
    below: float | None = None

    def crossed(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )


@dataclass(frozen=True)
class MetricSettings:
    metric: Metric
    bounds: Bounds


@dataclass(frozen=True)
class PercentageSettings:
    match: dict[str, Any]  # the query whose share of the documents is measured
    bounds: Bounds
    min_total: int = 1


@dataclass(frozen=True)
class SpikeSettings:
    height: float
    direction: Direction = Direction.BOTH
    min_current: float = 0.0
    min_reference: float = 0.0
    metric: Metric | None = None  # None: document counts


@dataclass(frozen=True)
class NewTermsSettings:
    fields: tuple[tuple[str, ...], ...]  # each entry one field, or several taken together
    since_seconds: int = 30 * 86400


@dataclass(frozen=True)
class ChangeSettings:
    fields: tuple[str, ...]
    since_seconds: int = 30 * 86400  # how far back the previous document is looked for
    within_seconds: int | None = None  # a change counts only if the previous one is this recent
    ignore_null: bool = False


Settings = MetricSettings | PercentageSettings | SpikeSettings | NewTermsSettings | ChangeSettings


def read_mode(reader: ConfigReader) -> Mode | AnalysisMode:
    value = reader.value("mode")
    if value is None:
        return Mode.HITS
    for kind in (Mode, AnalysisMode):
        try:
            return kind(value)
        except ValueError:
            continue
    choices = ", ".join([*(m.value for m in Mode), *(m.value for m in AnalysisMode)])
    reader.error("mode", f"must be one of {choices}, not {value!r}")
    return Mode.HITS


def read_settings(reader: ConfigReader, mode: Mode | AnalysisMode) -> Settings | None:
    """The settings mapping named after ``mode``; any other mode's mapping is an error."""
    settings = None
    for candidate, parse in _PARSERS.items():
        raw = reader.mapping(candidate.value)
        if candidate is not mode:
            if raw is not None:
                reader.error(candidate.value, f"only applies in {candidate.value} mode")
            continue
        if raw is None:
            reader.error(candidate.value, f"is required in {candidate.value} mode")
            continue
        sub = ConfigReader(raw, prefix=f"{candidate.value}.")
        settings = parse(sub)
        try:
            sub.finish()
        except SourceConfigError as exc:
            reader.errors.extend(exc.errors)
            settings = None
    if mode is AnalysisMode.CHANGE and not reader.raw.get("group_by"):
        reader.error("group_by", "is required in change mode (whose values are compared)")
    return settings


def _metric(reader: ConfigReader, *, required: bool) -> Metric | None:
    if not required and reader.value("agg") is None and reader.value("field") is None:
        return None
    agg = reader.choice("agg", Agg, Agg.AVG)
    field = reader.text("field")
    percentile = None
    if agg is Agg.PERCENTILES:
        percentile = reader.number("percentile", 95.0, low=0.0, high=100.0)
    return Metric(agg, field, percentile)


def _bounds(reader: ConfigReader) -> Bounds:
    big = float(2**53)
    above = reader.value("above")
    below = reader.value("below")
    bounds = Bounds(
        above=reader.number("above", 0.0, low=-big, high=big) if above is not None else None,
        below=reader.number("below", 0.0, low=-big, high=big) if below is not None else None,
    )
    if bounds.above is None and bounds.below is None:
        reader.error("above", "give above, below or both (the bounds of the statistic)")
    return bounds


def _parse_metric(reader: ConfigReader) -> MetricSettings:
    metric = _metric(reader, required=True)
    assert metric is not None
    return MetricSettings(metric, _bounds(reader))


def _parse_percentage(reader: ConfigReader) -> PercentageSettings:
    lucene = reader.text("match_query", None)
    dsl = reader.mapping("match_query_dsl")
    if lucene is not None and (problem := syntax_error(lucene)):
        reader.error("match_query", problem)
    if (lucene is None) == (dsl is None):
        reader.error("match_query", "give either match_query (Lucene) or match_query_dsl")
    match = dsl if dsl is not None else {"query_string": {"query": lucene or "*"}}
    bounds = _bounds(reader)
    return PercentageSettings(match, bounds, reader.integer("min_total", 1, low=1, high=2**31 - 1))


def _parse_spike(reader: ConfigReader) -> SpikeSettings:
    big = float(2**53)
    if reader.value("height") is None:
        reader.error("height", "is required (how many times more, or less, is a spike)")
    return SpikeSettings(
        height=reader.number("height", 2.0, low=1.0, high=big),
        direction=reader.choice("direction", Direction, Direction.BOTH),
        min_current=reader.number("min_current", 0.0, low=-big, high=big),
        min_reference=reader.number("min_reference", 0.0, low=-big, high=big),
        metric=_metric(reader, required=False),
    )


def _parse_new_terms(reader: ConfigReader) -> NewTermsSettings:
    raw = reader.value("fields")
    entries: list[tuple[str, ...]] = []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        reader.error("fields", "must be a list of fields (a list inside it: fields taken together)")
        raw = []
    for entry in raw:
        names = [entry] if isinstance(entry, str) else entry
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            reader.error("fields", f"{entry!r} is neither a field name nor a list of them")
            continue
        entries.append(tuple(names))
    since = reader.duration("since", low=60, high=MAX_SINCE_SECONDS)
    return NewTermsSettings(tuple(entries), since or NewTermsSettings.since_seconds)


def _parse_change(reader: ConfigReader) -> ChangeSettings:
    fields = reader.names("fields")
    if not fields:
        reader.error("fields", "is required (the fields whose value is compared)")
    since = reader.duration("since", low=60, high=MAX_SINCE_SECONDS)
    within = reader.duration("within", low=1, high=MAX_SINCE_SECONDS)
    return ChangeSettings(
        fields=fields,
        since_seconds=since or within or ChangeSettings.since_seconds,
        within_seconds=within,
        ignore_null=reader.flag("ignore_null", False),
    )


_PARSERS: dict[AnalysisMode, Callable[[ConfigReader], Settings]] = {
    AnalysisMode.METRIC: _parse_metric,
    AnalysisMode.PERCENTAGE: _parse_percentage,
    AnalysisMode.SPIKE: _parse_spike,
    AnalysisMode.NEW_TERMS: _parse_new_terms,
    AnalysisMode.CHANGE: _parse_change,
}
