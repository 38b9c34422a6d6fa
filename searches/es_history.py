"""The ``new_terms`` and ``change`` modes: documents judged against earlier documents.

Both return documents (so their windows are gap-free, like ``hits``: each document
is judged once) and look back before the window for what was there already:

- ``new_terms``: a value (or combination of values) present in the window and
  absent during ``since`` before it is new; the first document with it is
  returned, with ``new_field`` naming the field(s).
- ``change``: per group (``group_by``), each document's values of ``fields`` are
  compared with the group's previous document (in the window, or the latest one
  during ``since`` before it); a difference returns the document with
  ``old_value`` and ``new_value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from searches.base import Hit, ResultKind, SourceResult, TimeWindow
from searches.common import field_values
from searches.es_analysis import ChangeSettings, NewTermsSettings
from searches.es_groups import AnalysisJob, any_of_keys, group_rows, hit_from

Key = tuple[Any, ...]


def new_terms_result(
    job: AnalysisJob, settings: NewTermsSettings, window: TimeWindow
) -> SourceResult:
    earlier = _before(window, settings.since_seconds)
    first = {"first": {"top_hits": {"size": 1, "sort": [{job.time_field: "asc"}]}}}
    hits: list[Hit] = []
    truncated = False
    for names in settings.fields:
        fields = job.keyword_fields(list(names))
        rows, cut = _rows(job, job.query(window), names, fields, first)
        if not rows:
            continue
        keys = [tuple(key[n] for n in names) for key, _ in rows]
        query = {"bool": {"filter": [job.query(earlier), any_of_keys(fields, keys)]}}
        seen_rows, seen_cut = _rows(job, query, names, fields, {})
        seen = {tuple(key[n] for n in names) for key, _ in seen_rows}
        label: str | list[str] = names[0] if len(names) == 1 else list(names)
        for key, raw in zip(keys, (raw for _, raw in rows), strict=True):
            if key not in seen:
                hit = hit_from(raw["first"]["hits"]["hits"][0])
                hits.append(Hit(hit.id, hit.timestamp, {**hit.fields, "new_field": label}))
        truncated = truncated or cut or seen_cut
    hits.sort(key=lambda h: (h.timestamp or window.start, h.id or ""))
    return SourceResult(ResultKind.HITS, hits=hits, truncated=truncated)


def change_result(job: AnalysisJob, settings: ChangeSettings, window: TimeWindow) -> SourceResult:
    current = job.hits(job.query(window))
    names = list(job.group_by)
    keys = {key for hit in current.hits if (key := _key(hit.fields, names)) is not None}
    previous = _previous(job, settings, window, names, sorted(keys, key=repr)) if keys else {}
    changed: list[Hit] = []
    for hit in current.hits:
        key = _key(hit.fields, names)
        values = _values(hit.fields, settings.fields)
        if key is None or (settings.ignore_null and _has_null(values)):
            continue  # ElastAlert skips these too: they neither change nor set a value
        before = previous.get(key)
        previous[key] = (values, hit.timestamp)
        if before is None or before[0] == values or not _recent(settings, before[1], hit):
            continue
        extra = {"old_value": _one(before[0]), "new_value": _one(values)}
        changed.append(Hit(hit.id, hit.timestamp, {**hit.fields, **extra}))
    return SourceResult(ResultKind.HITS, hits=changed, truncated=current.truncated)


def _previous(
    job: AnalysisJob,
    settings: ChangeSettings,
    window: TimeWindow,
    names: list[str],
    keys: list[Key],
) -> dict[Key, tuple[Key, datetime | None]]:
    """Each group's latest values of ``fields`` before the window (within ``since``)."""
    fields = job.keyword_fields(names)
    filters = [job.query(_before(window, settings.since_seconds)), any_of_keys(fields, keys)]
    if settings.ignore_null:
        filters += [{"exists": {"field": f}} for f in settings.fields]
    latest = {"latest": {"top_hits": {"size": 1, "sort": [{job.time_field: "desc"}]}}}
    rows, _cut = _rows(job, {"bool": {"filter": filters}}, names, fields, latest)
    found: dict[Key, tuple[Key, datetime | None]] = {}
    for _group, raw in rows:
        hit = hit_from(raw["latest"]["hits"]["hits"][0])
        key = _key(hit.fields, names)
        if key is not None:
            found[key] = (_values(hit.fields, settings.fields), hit.timestamp)
    return found


def _rows(
    job: AnalysisJob,
    query: dict[str, Any],
    names: Sequence[str],
    fields: Sequence[str],
    aggs: dict[str, Any],
) -> tuple[list[tuple[dict[str, Any], Mapping[str, Any]]], bool]:
    return group_rows(
        job.search, query, names, fields, aggs, max_groups=job.max_groups, deadline=job.deadline
    )


def _before(window: TimeWindow, seconds: int) -> TimeWindow:
    return TimeWindow(window.start - timedelta(seconds=seconds), window.start)


def _first(document: Mapping[str, Any], path: str) -> Any:
    return next(iter(field_values(document, path)), None)


def _key(document: Mapping[str, Any], names: Sequence[str]) -> Key | None:
    key = tuple(_first(document, name) for name in names)
    return None if any(v is None for v in key) else key


def _values(document: Mapping[str, Any], fields: Sequence[str]) -> Key:
    return tuple(_first(document, name) for name in fields)


def _has_null(values: Key) -> bool:
    # ElastAlert's ignore_null: any empty value (None, "", 0, []) but a boolean.
    return any(not isinstance(v, bool) and not v for v in values)


def _recent(settings: ChangeSettings, before: datetime | None, hit: Hit) -> bool:
    if settings.within_seconds is None or before is None or hit.timestamp is None:
        return True
    return hit.timestamp - before <= timedelta(seconds=settings.within_seconds)


def _one(values: Key) -> Any:
    return values[0] if len(values) == 1 else list(values)
