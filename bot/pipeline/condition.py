"""Rule 1, the condition: which results fire, as alert candidates.

- hits, "any": every hit is a candidate.
- hits with a comparison: the number of hits (per group of key fields, if any)
  is compared; a firing group becomes one candidate carrying its count.
- count: the count is compared ("any" means more than zero); "count < 1" fires
  on zero: the dead-man case ("successful logins dropped to zero").
- buckets: each bucket's count is compared ("any": every bucket).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models.enums import ConditionOp
from bot.text.fields import MISSING, lookup
from searches.base import Hit, ResultKind, SourceResult

_COMPARE: dict[ConditionOp, Callable[[int, int], bool]] = {
    ConditionOp.GT: operator.gt,
    ConditionOp.GTE: operator.ge,
    ConditionOp.LT: operator.lt,
    ConditionOp.LTE: operator.le,
    ConditionOp.EQ: operator.eq,
}


@dataclass(frozen=True)
class Candidate:
    """Something that fires: the fields an alert will carry, and how many occurrences."""

    fields: dict[str, Any]
    occurrences: int = 1
    doc_id: str | None = None
    timestamp: datetime | None = None
    group: dict[str, Any] | None = None  # bucket / group values: the key when none is chosen
    aggregate: bool = False  # stands for a count, not for a document
    where: str | None = None  # where its (first) document was read: see Hit.where


def compare(op: ConditionOp, value: int, threshold: int) -> bool:
    if op == ConditionOp.ANY:
        return value > 0
    return _COMPARE[op](value, threshold)


def evaluate(
    result: SourceResult, op: ConditionOp, threshold: int, key_fields: Sequence[str]
) -> list[Candidate]:
    if result.kind == ResultKind.HITS:
        if op == ConditionOp.ANY:
            return [_from_hit(hit) for hit in result.hits]
        return _grouped_hits(result.hits, op, threshold, key_fields)
    if result.kind == ResultKind.COUNT:
        count = result.count or 0
        if not compare(op, count, threshold):
            return []
        return [Candidate(fields={"count": count}, occurrences=1, aggregate=True)]
    return [
        Candidate(
            fields={**bucket.key, **bucket.fields, "count": bucket.count},
            group=dict(bucket.key),
            aggregate=True,
        )
        for bucket in result.buckets
        if compare(op, bucket.count, threshold)
    ]


def _from_hit(hit: Hit) -> Candidate:
    return Candidate(fields=hit.fields, doc_id=hit.id, timestamp=hit.timestamp, where=hit.where)


def _grouped_hits(
    hits: Sequence[Hit], op: ConditionOp, threshold: int, key_fields: Sequence[str]
) -> list[Candidate]:
    groups: dict[tuple[str, ...], list[Hit]] = {}
    alone: list[Hit] = []  # hits lacking a key field: never grouped with others
    for hit in hits:
        values = [lookup(hit.fields, f) for f in key_fields]
        if any(v is MISSING for v in values):
            alone.append(hit)
            continue
        groups.setdefault(tuple(str(v) for v in values), []).append(hit)
    if not key_fields and not groups:
        groups[()] = []  # no hits at all is a count of zero (the dead-man case)
    firing = []
    for group_key, members in groups.items():
        if not compare(op, len(members), threshold):
            continue
        group = dict(zip(key_fields, group_key, strict=True))
        first = members[0].fields if members else {}
        firing.append(
            Candidate(
                fields={**first, **group, "count": len(members)},
                group=group,
                aggregate=True,
                timestamp=max((h.timestamp for h in members if h.timestamp), default=None),
            )
        )
    for hit in alone:
        if compare(op, 1, threshold):
            firing.append(_alone(hit, key_fields))
    return firing


def _alone(hit: Hit, key_fields: Sequence[str]) -> Candidate:
    """A hit lacking a key field: a group of its own (its id, else its content, tells it apart)."""
    present = {f: str(v) for f in key_fields if (v := lookup(hit.fields, f)) is not MISSING}
    return Candidate(
        fields={**hit.fields, **present, "count": 1},
        doc_id=hit.id,
        aggregate=True,
        timestamp=hit.timestamp,
    )
