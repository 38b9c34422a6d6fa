"""The source part of the search modal: each source's own fields, with hints for that source.

Choosing a source in the modal swaps these in (the source menu dispatches its
choice and the bot updates the view). A source without a form here (``sql``,
``push``, ``alerts``, a plug-in) gets the settings as YAML, with its own example.
Settings a form has no field for stay in "More settings (YAML)", so an edit never
drops them. Block ids are ``sc.<setting>``: an error on ``source_config.index``
lands on the ``sc.index`` input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

PREFIX = "sc."
MORE = "source_config"  # the YAML block: every setting without a field of its own


@dataclass(frozen=True)
class SourceField:
    key: str  # the source_config key
    label: str
    hint: str = ""
    optional: bool = True
    multiline: bool = False
    choices: tuple[str, ...] = ()  # a menu of these values instead of a text input
    listed: bool = False  # comma-separated in the form, a list in the config
    clusters: bool = False  # a menu of the configured clusters


_QUERY_HINT = "Lucene, e.g. event.type:login AND event.outcome:failure"
_MODES = ("hits", "terms", "count")
FORMS: dict[str, list[SourceField]] = {
    "elasticsearch": [
        SourceField("cluster", "Cluster", "From ELASTICSEARCH[_NAME]_URL.", clusters=True),
        SourceField("index", "Index pattern", "e.g. logs-*", optional=False),
        SourceField("query", "Query", _QUERY_HINT, multiline=True),
        SourceField(
            "mode",
            "Mode",
            "hits: one alert per document; terms: counts per group-by value; count: one number",
            choices=_MODES,
        ),
        SourceField(
            "group_by", "Group by (terms)", "Comma-separated fields, e.g. source.ip", listed=True
        ),
        SourceField("fields", "Fields to keep (hits)", "Comma-separated; empty: all", listed=True),
        SourceField("time_field", "Time field", "Default @timestamp."),
    ],
    "file": [
        SourceField(
            "path",
            "Log file or glob",
            "NDJSON on the bot's host, e.g. /var/log/app/*.jsonl",
            optional=False,
        ),
        SourceField(
            "query", "Query", _QUERY_HINT + " (the same Lucene as Elasticsearch)", multiline=True
        ),
        SourceField("mode", "Mode", "hits, terms or count", choices=_MODES),
        SourceField("group_by", "Group by (terms)", "Comma-separated fields", listed=True),
        SourceField("fields", "Fields to keep (hits)", "Comma-separated; empty: all", listed=True),
        SourceField("time_field", "Time field", "Default @timestamp."),
    ],
    "http": [
        SourceField(
            "url",
            "URL",
            "https://status.example.com/api/queues (private addresses are refused unless allowed)",
            optional=False,
        ),
        SourceField("method", "Method", choices=("GET", "POST")),
        SourceField(
            "mode",
            "Mode",
            "hits: one per object at the JSON path; count: its number",
            choices=("hits", "count"),
        ),
        SourceField("json_path", "JSON path", "e.g. data.items[0].count"),
        SourceField("body_regex", "Body regex", "Alert when the body matches (e.g. ERROR|FATAL)"),
    ],
}
EXAMPLES = {  # the YAML hint of a source without a form of its own
    "sql": "url_env: APP_DB_URL  query: SELECT id, at FROM logins WHERE at >= :start AND at < :end",
    "push": "time_field: at  max_hits: 1000 (both optional)",
    "alerts": "mode: terms  group_by: [search]  min_doc_count: 21",
}


def form_of(source: str | None) -> list[SourceField]:
    return FORMS.get(source or "", [])


def more_hint(source: str | None, description: str) -> str:
    """The hint of the YAML block: this source's example, or what is left to say."""
    if form_of(source):
        return "Other settings as YAML lines (key: value), e.g. max_hits: 100"
    example = EXAMPLES.get(source or "", "key: value lines")
    return f"{description}. Settings as YAML, e.g. {example}" if description else example


def split_config(
    source: str | None, config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings shown in fields, and the rest (for the YAML block)."""
    keys = {f.key for f in form_of(source)}
    return (
        {k: v for k, v in config.items() if k in keys},
        {k: v for k, v in config.items() if k not in keys},
    )


def shown(field: SourceField, value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if field.listed and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def read(field: SourceField, value: Any) -> Any:
    """A submitted value as the source's config takes it (lists for listed fields)."""
    if field.listed and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def dump_more(rest: dict[str, Any]) -> str | None:
    return yaml.safe_dump(rest, sort_keys=False).strip() if rest else None
