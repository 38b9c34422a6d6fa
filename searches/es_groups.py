"""Groups for the comparing modes: sub-aggregations per group, or over everything.

Every comparing mode (``searches/es_analysis.py``) computes some aggregations per
group of ``group_by`` values, or once over all matching documents when there is no
group. A ``composite`` aggregation pages through every group (for one field as for
several, so there is one code path), bounded by ``max_groups``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from searches.base import Deadline, Hit, SourceResult, TimeWindow

# Runs one search on the source's index: the request body's fields as keyword
# arguments (query, size, aggs...; None leaves one out), whichever product answers.
Searcher = Callable[..., Mapping[str, Any]]
PAGE = 1_000


def group_rows(
    search: Searcher,
    query: dict[str, Any],
    names: Sequence[str],
    fields: Sequence[str],
    aggs: dict[str, Any],
    *,
    max_groups: int,
    deadline: Deadline,
    min_doc_count: int = 1,
) -> tuple[list[tuple[dict[str, Any], Mapping[str, Any]]], bool]:
    """(group key by name, raw bucket with ``aggs``' results) per group, and whether cut.

    Without ``names`` the whole query is one group with an empty key (its
    ``doc_count`` is the number of matching documents), even when nothing matched:
    a statistic of no documents can still be out of bounds (a cardinality of 0).
    """
    if not names:
        response = search(query=query, size=0, aggs=aggs or None, track_total_hits=True)
        total = int(response["hits"]["total"]["value"])
        return [({}, {**(response.get("aggregations") or {}), "doc_count": total})], False
    sources = [{n: {"terms": {"field": f}}} for n, f in zip(names, fields, strict=True)]
    composite: dict[str, Any] = {"sources": sources, "size": min(PAGE, max_groups)}
    rows: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    while True:
        deadline.check()
        response = search(
            query=query,
            size=0,
            aggs={"groups": {"composite": composite, **({"aggs": aggs} if aggs else {})}},
        )
        agg = response["aggregations"]["groups"]
        for raw in agg["buckets"]:
            if raw["doc_count"] >= min_doc_count:
                rows.append((dict(raw["key"]), raw))
        after = agg.get("after_key")
        if not after or len(agg["buckets"]) < composite["size"]:
            return rows, False
        if len(rows) >= max_groups:
            return rows[:max_groups], True
        composite["after"] = after


def any_of_keys(fields: Sequence[str], keys: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """A query matching documents whose ``fields`` hold one of the value combinations ``keys``."""
    if len(fields) == 1:
        return {"terms": {fields[0]: [key[0] for key in keys]}}
    combos = [
        {"bool": {"filter": [{"term": {f: v}} for f, v in zip(fields, key, strict=True)]}}
        for key in keys
    ]
    return {"bool": {"should": combos, "minimum_should_match": 1}}


@dataclass(frozen=True)
class AnalysisJob:
    """What a comparing mode needs of the elasticsearch source for one run."""

    group_by: tuple[str, ...]
    max_groups: int
    min_doc_count: int
    search: Searcher  # bounded by the run's deadline
    keyword_fields: Callable[[Sequence[str]], list[str]]  # text fields -> their .keyword
    query: Callable[[TimeWindow], dict[str, Any]]  # the user's query within a window
    time_range: Callable[[TimeWindow], dict[str, Any]]  # the window alone
    time_field: str
    hits: Callable[[dict[str, Any]], SourceResult]  # the documents of a query, oldest first
    deadline: Deadline

    def rows(
        self, window: TimeWindow, aggs: dict[str, Any]
    ) -> tuple[list[tuple[dict[str, Any], Mapping[str, Any]]], bool]:
        """``aggs`` per group of ``group_by`` (or over all) for the documents of ``window``."""
        names = list(self.group_by)
        return group_rows(
            self.search,
            self.query(window),
            names,
            self.keyword_fields(names) if names else [],
            aggs,
            max_groups=self.max_groups,
            deadline=self.deadline,
            min_doc_count=self.min_doc_count,
        )


def hit_from(raw: Mapping[str, Any]) -> Hit:
    """A document of a search response (sorted by time first) as a Hit."""
    sort = raw.get("sort") or []
    timestamp = None
    if sort and isinstance(sort[0], int | float):
        timestamp = datetime.fromtimestamp(sort[0] / 1000, UTC)
    return Hit(id=raw.get("_id"), timestamp=timestamp, fields=dict(raw.get("_source") or {}))
