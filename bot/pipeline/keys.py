"""Rule 2, the alert key of a hit: chosen fields, else the group, else the document id, else a
content hash. The format itself lives in ``bot/alerts/keys.py``."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.keys import (
    key_of_content,
    key_of_document,
    key_of_fields,
    key_of_group,
)
from bot.pipeline.condition import Candidate
from bot.pipeline.fields import lookup

COUNT_KEY = "count"  # the one alert of a plain count condition


def alert_key(candidate: Candidate, key_fields: Sequence[str]) -> str:
    if key_fields:
        return key_of_fields(key_fields, lambda name: lookup(candidate.fields, name))
    if candidate.group:
        return key_of_group(candidate.group)
    if candidate.aggregate:
        return COUNT_KEY
    if candidate.doc_id:
        return key_of_document(candidate.doc_id)
    return key_of_content(candidate.fields)
