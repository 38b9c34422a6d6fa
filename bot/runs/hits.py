"""The hits behind an alert, for "Show hits": the search asked again, narrowed to the alert.

Nothing of a hit is stored beyond the alert's first one (``alert.content``), so the
search's source is queried again over the time the alert was seen, in hits mode
(a terms search drops its grouping), and only the hits with the alert's key (or
group) values are kept. Reading writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot.definitions.search import definition_from_search
from bot.models import Alert, Search
from bot.runs.runner import open_source
from bot.runs.source_call import RunTimeout, run_source
from bot.runtime import Runtime
from bot.text.fields import MISSING, lookup
from searches.base import ResultKind, SourceError, TimeWindow

MAX_HITS = 50  # the modal shows the first ones; Discover has the rest
PAGE = 5
TIMEOUT_SECONDS = 20.0
# Keys that make a source count or group instead of returning hits.
_GROUPING = ("group_by", "expect_groups", "min_doc_count", "max_buckets")


@dataclass
class AlertHits:
    hits: list[dict[str, Any]] = field(default_factory=list)
    window: TimeWindow | None = None
    truncated: bool = False  # more matched than were read
    error: str | None = None  # the source failed: say why instead

    def page(self, number: int) -> list[dict[str, Any]]:
        return self.hits[number * PAGE : (number + 1) * PAGE]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.hits) // PAGE))


def hits_window(alert: Alert, search: Search) -> TimeWindow:
    """From the first run that saw it (its lookback and delay) to the last sighting."""
    before = timedelta(seconds=search.lookback_seconds + search.delay_seconds)
    return TimeWindow(alert.first_seen - before, alert.last_seen + timedelta(milliseconds=1))


def match_fields(alert: Alert, search: Search) -> dict[str, Any]:
    """The field values a hit must have to belong to the alert: its key or its group."""
    content = alert.content if isinstance(alert.content, dict) else {}
    config = search.source_config if isinstance(search.source_config, dict) else {}
    names: Sequence[str] = list(search.key_fields or []) or list(config.get("group_by") or [])
    values = {name: lookup(content, name) for name in names}
    return {name: value for name, value in values.items() if value is not MISSING}


def belongs(hit: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(str(lookup(hit, name)) == str(value) for name, value in wanted.items())


def alert_hits(runtime: Runtime, alert: Alert, search: Search) -> AlertHits:
    defn = definition_from_search(search)
    config = {k: v for k, v in defn.source_config.items() if k not in _GROUPING}
    if "mode" in config:
        config["mode"] = "hits"
    if "max_hits" in config or defn.source in ("elasticsearch", "opensearch"):
        config["max_hits"] = max(int(config.get("max_hits") or 0), MAX_HITS * 4)
    window = hits_window(alert, search)
    try:
        source = open_source(runtime, replace(defn, source_config=config), search.id)
        if source.result_kind() != ResultKind.HITS:
            return AlertHits([dict(alert.content or {})], window, error=_no_hits(defn.source))
        result = run_source(source, window, TIMEOUT_SECONDS)
    except (SourceError, RunTimeout) as exc:
        return AlertHits([dict(alert.content or {})], window, error=str(exc))
    wanted = match_fields(alert, search)
    found = [hit.fields for hit in result.hits if belongs(hit.fields, wanted)]
    return AlertHits(found[:MAX_HITS], window, truncated=result.truncated or len(found) > MAX_HITS)


def _no_hits(source: str) -> str:
    return f"the {source} source returns counts, not hits: this is what the alert recorded"
