"""Compute a run's :class:`Plan` from a source result. Reads the database, writes nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.definitions.search import SearchDefinition
from bot.pipeline.autoclose import autoclose
from bot.pipeline.autoresolve import auto_resolve
from bot.pipeline.burst import is_burst
from bot.pipeline.condition import Candidate, evaluate
from bot.pipeline.dedupe import all_open, fold, stale_alerts
from bot.pipeline.keys import alert_key, missing_key_fields
from bot.pipeline.plan import NewAlert, Plan, SeenAgain
from bot.pipeline.render import TitleHints, render_alert
from bot.pipeline.renotify import renotify_reason
from bot.pipeline.state import read_state
from bot.pipeline.suppress import matching
from bot.text.fields import MISSING, lookup
from searches.base import ResultKind, SourceResult, TimeWindow
from searches.durations import format_duration


@dataclass(frozen=True)
class SearchSpec:
    """What the pipeline needs of a search: its definition, and its id once saved."""

    id: int | None
    defn: SearchDefinition


def decide(
    session: Session,
    spec: SearchSpec,
    result: SourceResult,
    window: TimeWindow,
    now: datetime,
    *,
    burst_threshold: int,
) -> Plan:
    defn = spec.defn
    plan = Plan(hits=_hit_count(result))
    candidates = evaluate(result, defn.condition_op, defn.condition_threshold, defn.key_fields)
    plan.firing = len(candidates)
    keys = [alert_key(candidate, defn.key_fields) for candidate in candidates]
    plan.warnings += missing_key_warnings(candidates, defn.key_fields)
    # Open alerts of every firing key, suppressed or not: only the unsuppressed are looked up.
    state = read_state(session, spec.id, defn.tags, now, keys)
    suppressions, existing, window_id = state.suppressions, state.alerts, state.window_id
    keyed = []
    firing_keys = set(keys)
    for key, candidate in zip(keys, candidates, strict=True):
        if window_id is not None:  # planned work: found, counted, not posted
            plan.suppressed += candidate.occurrences
            plan.maintenance[window_id] = plan.maintenance.get(window_id, 0) + candidate.occurrences
            continue
        suppression = matching(suppressions, key, candidate.fields) if suppressions else None
        if suppression is not None:
            plan.suppressed += candidate.occurrences
            by = plan.suppressed_by
            by[suppression.id] = by.get(suppression.id, 0) + candidate.occurrences
            continue
        keyed.append((key, candidate))
    groups = fold(keyed)
    extra = _template_extra(spec, window, result)
    for key, group in groups.items():
        alert = existing.get(key)
        if alert is not None:
            reason = renotify_reason(alert, defn.renotify_seconds, now)
            plan.seen.append(
                SeenAgain(alert.id, key, group.occurrences, group.first.fields, reason)
            )
            continue
        rendered = render_alert(
            search_name=defn.name,
            title_template=defn.title_template,
            body_template=defn.body_template,
            link_template=defn.link_template,
            fields=group.first.fields,
            key=key,
            occurrences=group.occurrences,
            extra=extra,
            # A source without web pages says where it read the hit ("auth.log:1234").
            default_link=_link(result, defn, group.first) or group.first.where,
            hints=_title_hints(defn, result.kind, group.first),
        )
        plan.new.append(
            NewAlert(
                key=key,
                fields=group.first.fields,
                occurrences=group.occurrences,
                title=rendered.title,
                body=rendered.body,
                link=rendered.link,
                template_error=rendered.error,
                last_seen=group.last_timestamp,
            )
        )
    seen_keys = set(groups)
    if defn.autoclose_seconds:
        cutoff = now - timedelta(seconds=defn.autoclose_seconds)
        stale = stale_alerts(session, spec.id, cutoff)
        plan.closing = autoclose(stale, seen_keys, defn.autoclose_seconds, now)
    if defn.auto_resolve:
        closing_ids = {c.alert_id for c in plan.closing}
        plan.closing += auto_resolve(all_open(session, spec.id), firing_keys, closing_ids)
    plan.burst = is_burst(len(plan.new), burst_threshold)
    return plan


def _link(result: SourceResult, defn: SearchDefinition, candidate: Candidate) -> str | None:
    """The source's link, narrowed to this alert's key values where the source can."""
    if result.link_for is None:
        return result.link
    if candidate.group:
        return result.link_for(candidate.group)
    values = {name: lookup(candidate.fields, name) for name in defn.key_fields}
    return result.link_for({name: v for name, v in values.items() if v not in (MISSING, None)})


def missing_key_warnings(candidates: list[Candidate], key_fields: tuple[str, ...]) -> list[str]:
    """One line per key field some results lacked (each of those kept a key of its own)."""
    lacking: Counter[str] = Counter()
    for candidate in candidates:
        lacking.update(missing_key_fields(candidate, key_fields))
    return [
        f"key field `{name}` is missing in {count} of {len(candidates)} results: each of them "
        "got an alert of its own instead of being merged; check key_fields"
        for name, count in lacking.items()
    ]


def _hit_count(result: SourceResult) -> int:
    if result.kind == ResultKind.HITS:
        return len(result.hits)
    if result.kind == ResultKind.COUNT:
        return result.count or 0
    return sum(bucket.count for bucket in result.buckets)


def _title_hints(defn: SearchDefinition, kind: ResultKind, candidate: Candidate) -> TitleHints:
    summary = None
    if candidate.aggregate:
        count = candidate.fields.get("count", candidate.occurrences)
        condition = defn.condition_text.removeprefix("count").removeprefix("any")
        summary = f"count {count}{condition}"
        if kind != ResultKind.HITS:  # count and bucket searches look back over a sliding window
            summary += f" over {format_duration(defn.lookback_seconds)}"
    return TitleHints(key_fields=defn.key_fields, group=candidate.group, summary=summary)


def _template_extra(spec: SearchSpec, window: TimeWindow, result: SourceResult) -> dict[str, Any]:
    defn = spec.defn
    return {
        "search": {
            "id": spec.id,
            "name": defn.name,
            "priority": defn.priority.value,
            "tags": list(defn.tags),
            "description": defn.description,
        },
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "result_link": result.link,
    }
