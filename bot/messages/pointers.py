"""Where an alert's data lives, for sources that have no web page to link to.

Elasticsearch and OpenSearch alerts link to Discover (see :mod:`bot.alerts.discover`);
a file, HTTP, SQL or push search says which file, URL or query it read, so whoever
picks the alert up knows where to look without opening the search's definition.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from bot.models import Search
from bot.text.escape import code

_POINTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "file": (("📄 File", "path"), ("query", "query")),
    "http": (("🌐 URL", "url"),),
    "sql": (("🗄 Query", "query"),),
    "alerts": (("🔁 Alerts of", "search"),),
    "elasticsearch": (("🔎 Index", "index"), ("query", "query")),
    "opensearch": (("🔎 Index", "index"), ("query", "query")),
}


def source_pointer(
    search: Search | None, *, linked: bool = False, where: str | None = None
) -> str | None:
    """``📄 File `auth.log:1234` · query `event.type:ssh` `` and the like; None if nothing.

    ``linked``: the alert has a link to its data already (Discover): no pointer needed.
    ``where``: the file and line its hit was read at, when the source said.
    """
    if search is None or linked:
        return None
    if search.source == "push":
        return f"📨 Pushed to 411 for search {code(search.name, 120)}"
    config: dict[str, Any] = search.source_config if isinstance(search.source_config, dict) else {}
    if where and search.source == "file":
        config = {**config, "path": where}
    parts = [
        f"{label} {code(_short(name, config[name]), 120)}"
        for label, name in _POINTERS.get(search.source, ())
        if config.get(name)
    ]
    return " · ".join(parts) or None


def _short(name: str, value: Any) -> str:
    """A file by its name (the folder is the server's business), anything else as it is."""
    return PurePath(str(value)).name if name == "path" else str(value)
