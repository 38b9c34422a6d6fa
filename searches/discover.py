"""Links into Kibana Discover (and OpenSearch Dashboards' Discover) for a run's data.

A cluster that names its Kibana / Dashboards URL gets a link per alert: the search's
index, its query narrowed to the alert's key values, and the run's time window. The
URL is the ``#/?_g=(time:...)&_a=(...)`` form both Kibana 8 and 9 read: the data view
is named twice, as ``dataSource`` (8.12 and later) and as the older ``index`` (read
by every 8.x), and its id is the index pattern: create the data view with that id
(Kibana's "custom data view ID") once per pattern. A query DSL search cannot be
written as a query bar query, so it travels as a custom filter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from searches import rison
from searches.base import TimeWindow
from searches.common import iso_millis

_SAFE = "()!:',*/-._~@$"  # rison's own characters stay readable in the link


@dataclass(frozen=True)
class DiscoverQuery:
    base_url: str  # Kibana's or OpenSearch Dashboards' root, e.g. https://kibana.example.com
    index: str
    window: TimeWindow
    query: str | None = None  # Lucene query_string
    query_dsl: dict[str, Any] | None = None
    keys: Mapping[str, Any] = field(default_factory=dict)  # the alert's key field values

    def lucene(self) -> str:
        """The query bar's Lucene: the search's query AND each key field equal to its value."""
        parts = []
        if self.query and self.query.strip() not in ("", "*"):
            parts.append(f"({self.query})" if self.keys else self.query)
        parts += [f"{name}:{_phrase(value)}" for name, value in self.keys.items()]
        return " AND ".join(parts)


def discover_url(spec: DiscoverQuery) -> str:
    global_state = {
        "filters": [],
        "refreshInterval": {"pause": True, "value": 0},
        "time": {"from": iso_millis(spec.window.start), "to": iso_millis(spec.window.end)},
    }
    filters = []
    if spec.query_dsl is not None:
        meta = {"alias": "411 query", "disabled": False, "negate": False, "type": "custom"}
        meta["value"] = json.dumps(spec.query_dsl, separators=(",", ":"))
        filters.append({"meta": meta, "query": spec.query_dsl})
    app_state = {
        "columns": [],
        "dataSource": {"dataViewId": spec.index, "type": "dataView"},
        "filters": filters,
        "index": spec.index,
        "interval": "auto",
        "query": {"language": "lucene", "query": spec.lucene()},
        "sort": [],
    }
    root = spec.base_url.rstrip("/")
    return (
        f"{root}/app/discover#/?_g={quote(rison.dumps(global_state), safe=_SAFE)}"
        f"&_a={quote(rison.dumps(app_state), safe=_SAFE)}"
    )


def _phrase(value: Any) -> str:
    """A Lucene phrase: quotes and backslashes escaped, so a value cannot change the query."""
    text = value if isinstance(value, str) else json.dumps(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
