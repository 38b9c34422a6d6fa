"""Rule 2, the alert key: chosen fields, else the document id, else a content hash.

The key is what dedupe matches on. It must fit the 255-character column, so a
long key is replaced by its hash (stable, so the same long key still dedupes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.pipeline.condition import Candidate
from bot.pipeline.fields import lookup

KEY_LIMIT = 255


def alert_key(candidate: Candidate, key_fields: Sequence[str]) -> str:
    if key_fields:
        key = "|".join(f"{f}={_text(lookup(candidate.fields, f))}" for f in key_fields)
    elif candidate.group:
        key = "|".join(f"{k}={_text(v)}" for k, v in sorted(candidate.group.items()))
    elif candidate.aggregate:
        key = "count"
    elif candidate.doc_id:
        key = f"id:{candidate.doc_id}"
    else:
        key = "hash:" + content_hash(candidate.fields)
    return fit_key(key)


def fit_key(key: str) -> str:
    key = key.replace("\x00", "\ufffd")  # Postgres text cannot hold NUL; log lines can
    if len(key) <= KEY_LIMIT:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def content_hash(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
