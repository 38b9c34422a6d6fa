"""An alert's fields as a reader wants them: leaf values with readable labels.

A hit is nested JSON (``{"user": {"name": "lucy.m", "role": "marketing"}}``). Showing
its top-level names dumps whole parent objects, repeats the key fields and is long on
a phone. Here the fields are flattened to leaves (``user.name``), the key fields come
first, then the fields the search chose (its source's ``fields``), else the first few
other leaves; each gets a label people read ("User name", "Source IP"), and times
become ``<!date>`` so every reader sees their own zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.models import Search
from bot.text.escape import code, safe_text, slack_date
from bot.text.fields import MISSING, lookup

# Words shown in capitals in labels; everything else is "Capitalised words".
_ACRONYMS = {"ip", "id", "url", "os", "http", "dns", "uri", "tls", "ssl", "api", "ssh", "cpu"}
_FORMATTING = set("*_~`")  # would turn into bold/italic/strike/code in mrkdwn


@dataclass(frozen=True)
class Field:
    name: str  # the dotted path in the hit
    value: Any
    key: bool  # one of the search's key fields

    @property
    def label(self) -> str:
        return label(self.name)


def label(name: str) -> str:
    """``user.name`` -> "User name", ``source.ip`` -> "Source IP", ``@timestamp`` -> "Time"."""
    if name.lstrip("@") in ("timestamp", "time"):
        return "Time"
    words = [w for w in name.lstrip("@").replace("_", ".").replace("-", ".").split(".") if w]
    shown = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    text = " ".join(shown) or name
    return text[0].upper() + text[1:]


def leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Every leaf under ``value`` as (dotted path, value); lists stay whole."""
    if isinstance(value, Mapping) and value:
        for name, inner in value.items():
            yield from leaves(inner, f"{prefix}.{name}" if prefix else str(name))
    else:
        yield prefix, value


def chosen_fields(search: Search | None) -> list[str]:
    """The fields the search asked its source for (``fields:``), if it named any."""
    config = search.source_config if search and isinstance(search.source_config, dict) else {}
    names = config.get("fields") or []
    return [str(name) for name in names] if isinstance(names, list) else []


def alert_fields(
    content: Mapping[str, Any], key_fields: Sequence[str], chosen: Sequence[str], limit: int
) -> tuple[list[Field], int]:
    """The fields to show (key fields first) and how many leaves were left out."""
    shown: dict[str, Field] = {}

    def add(path: str, is_key: bool) -> None:
        value = lookup(content, path)
        if value is MISSING:
            return
        for leaf, inner in leaves(value, path):
            if leaf not in shown and inner is not None:
                shown[leaf] = Field(leaf, inner, is_key)

    for name in key_fields:
        add(name, True)
    for name in chosen or [name for name, _ in leaves(dict(content), "")]:
        add(name, False)
    fields = list(shown.values())
    return fields[:limit], max(0, len(fields) - limit)


def value_text(value: Any, limit: int) -> str:
    """A value for mrkdwn: a time as ``<!date>``, text escaped; code only where it must be."""
    moment = as_time(value)
    if moment is not None:
        fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return slack_date(moment.timestamp(), "{date_short_pretty} {time_secs}", fallback)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if not text.strip() or _FORMATTING & set(text) or "\n" in text:
        return code(text, limit)  # formatting characters would change what it shows
    return safe_text(text, limit)


def as_time(value: Any) -> datetime | None:
    """An ISO 8601 time string (what Elasticsearch and log shippers write), else None."""
    if not isinstance(value, str) or len(value) < 19 or value[4] != "-" or value[10] not in "T ":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
