"""Rule 2, the alert key of a hit: chosen fields, else the group, else the document id, else a
content hash. The format itself lives in ``bot/alerts/keys.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.alerts.keys import (
    key_of_content,
    key_of_document,
    key_of_fields,
    key_of_group,
)
from bot.pipeline.condition import Candidate
from bot.text.fields import MISSING, lookup

COUNT_KEY = "count"  # the one alert of a plain count condition
OWN = "own"  # the part of a key that tells apart results lacking a key field


def _value_or_own(candidate: Candidate, name: str) -> Any:
    if name != OWN:
        return lookup(candidate.fields, name)
    if candidate.doc_id:
        return key_of_document(candidate.doc_id)
    if candidate.group:
        return key_of_group(candidate.group)
    return key_of_content(candidate.fields)


def missing_key_fields(candidate: Candidate, key_fields: Sequence[str]) -> list[str]:
    """The key fields this result lacks (it then keeps a key of its own)."""
    return [f for f in key_fields if lookup(candidate.fields, f) is MISSING]


def alert_key(candidate: Candidate, key_fields: Sequence[str]) -> str:
    """The alert key. A result lacking a key field never shares a key with other results:
    ``usr=∅`` for every document would merge them all into one alert, so the key gets
    the result's own identity (document id, group or content hash) too."""
    if key_fields:
        if missing_key_fields(candidate, key_fields):
            return key_of_fields([*key_fields, OWN], lambda name: _value_or_own(candidate, name))
        return key_of_fields(key_fields, lambda name: lookup(candidate.fields, name))
    if candidate.group:
        return key_of_group(candidate.group)
    if candidate.aggregate:
        return COUNT_KEY
    if candidate.doc_id:
        return key_of_document(candidate.doc_id)
    return key_of_content(candidate.fields)
