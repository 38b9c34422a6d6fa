"""The alert key's format, written once: what dedupe matches on and what a suppression names.

``field=value|field=value`` over the search's key fields (or an aggregation's group), else
the document id, else a content hash. The pipeline builds keys from hits
(``bot/pipeline/keys.py``, rule 2); ``/411 suppress`` builds them from what a person typed
(``bot/alerts/suppressions.py``), so a typed key matches the alerts it names.

A key must fit the 255-character column, so a long key is replaced by its hash (stable,
so the same long key still dedupes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

KEY_LIMIT = 255


def key_of_fields(key_fields: Sequence[str], value_of: Callable[[str], Any]) -> str:
    """The key of an alert whose search has ``key_fields``: ``field=value|field=value``."""
    return fit_key(_joined((name, value_of(name)) for name in key_fields))


def key_of_group(group: Mapping[str, Any]) -> str:
    """The key of an aggregation bucket: its group values, by name."""
    return fit_key(_joined(sorted(group.items())))


def key_of_document(doc_id: str) -> str:
    return fit_key(f"id:{doc_id}")


def key_of_content(fields: Mapping[str, Any]) -> str:
    return "hash:" + content_hash(fields)


def fit_key(key: str) -> str:
    key = key.replace("\x00", "\ufffd")  # Postgres text cannot hold NUL; log lines can
    if len(key) <= KEY_LIMIT:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def content_hash(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def _joined(pairs: Iterable[tuple[str, Any]]) -> str:
    return "|".join(f"{name}={_text(value)}" for name, value in pairs)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
