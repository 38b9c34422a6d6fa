"""Time to acknowledge and to resolve as a median and a 90th percentile, with the sample size.

A mean hides the shape: one alert left for a week makes a good day look bad. The
median says what is usual, p90 how bad the slow ones are, and ``n`` how much either
is worth (two alerts say little). Each alert's seconds are read with the same
``seconds_between`` the means use, bounded by ``MAX_SAMPLES`` a period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.digest.sql import Scope, in_scope, seconds_between
from bot.models import Alert

MAX_SAMPLES = 50_000


@dataclass(frozen=True)
class ResponseTimes:
    n: int = 0
    median: float | None = None  # seconds; None when n is 0
    p90: float | None = None


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(values: Sequence[float]) -> ResponseTimes:
    ordered = sorted(max(0.0, v) for v in values)
    if not ordered:
        return ResponseTimes()
    return ResponseTimes(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))


def response_times(
    session: Session,
    column: InstrumentedAttribute[Any],
    start: datetime,
    end: datetime,
    scope: Scope = None,
) -> ResponseTimes:
    """Seconds from creation to ``column`` of the alerts whose ``column`` is in [start, end)."""
    query = (
        select(seconds_between(column, Alert.created_at))
        .where(column >= start, column < end, in_scope(Alert.search_id, scope))
        .limit(MAX_SAMPLES)
    )
    return summarise([float(v) for v in session.scalars(query) if v is not None])
