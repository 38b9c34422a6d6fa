"""The digest's figures for a period and the period before it, computed by aggregate SQL.

Nothing here loads alerts into Python: every query groups and counts in the database
and returns a handful of rows (per priority, per search, per person). The queries scan
index ranges of the two periods only (see the indexes of migration 0002), so the
cost follows the number of alerts in the periods, not in the table.

Definitions (all times UTC, periods half-open ``[start, end)``):
- new: created in the period; acknowledged: ``acknowledged_at`` (first assign or
  resolve) in the period; resolved: ``resolved_at`` in the period (reopening an alert
  clears ``resolved_at``, so a reopened alert no longer counts as resolved).
- open at a time ``t``: created before ``t`` and not resolved at ``t``. It is derived as
  ``open now + resolved since t - created since t`` so that no query has to scan every
  alert ever created.
- mean time to acknowledge / resolve: over the alerts acknowledged / resolved in the
  period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, union_all
from sqlalchemy.orm import Session

from bot.digest.response_times import ResponseTimes, response_times
from bot.digest.sql import RangeKey, Scope, in_scope, open_by_priority, range_aggregates
from bot.models import Alert, AlertState, Priority, Resolution, RunStatus, Search, SearchRun
from bot.text.refs import Ref

OPEN_STATES = (AlertState.NEW, AlertState.IN_PROGRESS)
FAILED_RUNS = (RunStatus.FAILED, RunStatus.TIMED_OUT)
SYSTEM_ACTORS = ("system",)  # resolutions nobody clicked: autoclose, auto-resolve
TOP_N = 5

# Ranges of a timestamp relative to the two periods (indexes into the ranges list).
_PREVIOUS, _CURRENT, _AFTER = 0, 1, 2


@dataclass(frozen=True)
class ByPriority:
    """Counts per priority; every priority present (zero when none)."""

    counts: Mapping[Priority, int]

    @classmethod
    def of(cls, counts: Mapping[Priority, int] | None = None) -> ByPriority:
        counts = counts or {}
        return cls({p: int(counts.get(p, 0)) for p in Priority})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, priority: Priority) -> int:
        return self.counts[priority]


@dataclass(frozen=True)
class PeriodFigures:
    """What happened in one period."""

    start: datetime
    end: datetime
    new: ByPriority
    acknowledged: ByPriority
    resolved: ByPriority
    open_at_end: ByPriority
    mean_ack_seconds: float | None  # None: nothing was acknowledged
    mean_resolve_seconds: float | None
    failed_runs: int
    ack_times: ResponseTimes = field(default_factory=ResponseTimes)  # median, p90, n
    resolve_times: ResponseTimes = field(default_factory=ResponseTimes)


@dataclass(frozen=True)
class NoisySearch:
    search_id: int
    name: str
    alerts: int  # created in the period
    occurrences: int  # summed over those alerts (repeats folded into them)
    previous_alerts: int


@dataclass(frozen=True)
class TuningCandidate:
    """A search whose alerts are often closed as "not an issue"."""

    search_id: int
    name: str
    not_an_issue: int
    resolved: int

    @property
    def share(self) -> float:
        return self.not_an_issue / self.resolved if self.resolved else 0.0


@dataclass(frozen=True)
class FailedSearch:
    search_id: int
    name: str
    failures: int
    last_failed_at: datetime
    last_error: str


@dataclass(frozen=True)
class WaitingAlert:
    """An open alert nobody has taken, oldest first."""

    alert_id: int
    title: str
    search_name: str
    priority: Priority
    created_at: datetime
    channel: str | None
    message_ts: str | None
    restricted: bool  # its search limits who may see it: show no title in a channel


@dataclass(frozen=True)
class Resolver:
    user_id: str
    resolved: int


@dataclass(frozen=True)
class DigestFigures:
    current: PeriodFigures
    previous: PeriodFigures
    noisiest: list[NoisySearch] = field(default_factory=list)
    tuning: list[TuningCandidate] = field(default_factory=list)
    failed: list[FailedSearch] = field(default_factory=list)
    waiting: list[WaitingAlert] = field(default_factory=list)
    resolvers: list[Resolver] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        """Nothing happened in the period: no alert came, moved or failed."""
        c = self.current
        return not (c.new.total or c.acknowledged.total or c.resolved.total or c.failed_runs)


def compute_figures(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    top: int = TOP_N,
    scope: Scope = None,
) -> DigestFigures:
    """All the digest's figures for ``[start, end)`` and the period of equal length before it,
    counting only the searches in ``scope`` (what the digest's readers may see; None: all)."""
    if end <= start:
        raise ValueError("a digest period must end after it starts")
    prev_start = start - (end - start)
    ranges = [(prev_start, start), (start, end), (end, max(now, end))]
    created = _Buckets(range_aggregates(session, Alert.created_at, ranges, scope=scope))
    resolved = _Buckets(
        range_aggregates(session, Alert.resolved_at, ranges, with_seconds=True, scope=scope)
    )
    acked = _Buckets(
        range_aggregates(session, Alert.acknowledged_at, ranges, with_seconds=True, scope=scope)
    )
    open_now = open_by_priority(session, scope)
    failures = _failure_totals(session, prev_start, start, end, scope)

    def period(bucket: int, p_start: datetime, p_end: datetime, failed: int) -> PeriodFigures:
        since_end = [_CURRENT, _AFTER] if bucket == _PREVIOUS else [_AFTER]
        open_at_end = {
            p: open_now.get(p, 0) + resolved.count(p, since_end) - created.count(p, since_end)
            for p in Priority
        }
        return PeriodFigures(
            start=p_start,
            end=p_end,
            new=ByPriority.of(created.counts(bucket)),
            acknowledged=ByPriority.of(acked.counts(bucket)),
            resolved=ByPriority.of(resolved.counts(bucket)),
            open_at_end=ByPriority.of(open_at_end),
            mean_ack_seconds=acked.mean_seconds(bucket),
            mean_resolve_seconds=resolved.mean_seconds(bucket),
            failed_runs=failed,
            ack_times=response_times(session, Alert.acknowledged_at, p_start, p_end, scope),
            resolve_times=response_times(session, Alert.resolved_at, p_start, p_end, scope),
        )

    return DigestFigures(
        current=period(_CURRENT, start, end, failures[_CURRENT]),
        previous=period(_PREVIOUS, prev_start, start, failures[_PREVIOUS]),
        noisiest=noisiest_searches(session, prev_start, start, end, top, scope),
        tuning=tuning_candidates(session, start, end, top, scope),
        failed=failed_searches(session, start, end, top, scope),
        waiting=waiting_alerts(session, top, scope),
        resolvers=top_resolvers(session, start, end, top, scope),
    )


@dataclass(frozen=True)
class _Buckets:
    """``(bucket, priority) -> (count, summed seconds since creation)`` for one timestamp."""

    rows: Mapping[RangeKey, tuple[int, float]]

    def counts(self, bucket: int) -> dict[Priority, int]:
        return {p: n for (b, p), (n, _) in self.rows.items() if b == bucket}

    def count(self, priority: Priority, buckets: list[int]) -> int:
        return sum(self.rows.get((b, priority), (0, 0.0))[0] for b in buckets)

    def mean_seconds(self, bucket: int) -> float | None:
        n = sum(c for (b, _), (c, _) in self.rows.items() if b == bucket)
        total = sum(s for (b, _), (_, s) in self.rows.items() if b == bucket)
        return total / n if n else None


def _failure_totals(
    session: Session, prev_start: datetime, start: datetime, end: datetime, scope: Scope = None
) -> dict[int, int]:
    in_current = func.sum(case((SearchRun.scheduled_for >= start, 1), else_=0))
    query = select(func.count(), func.coalesce(in_current, 0)).where(
        SearchRun.status.in_(FAILED_RUNS),
        SearchRun.scheduled_for >= prev_start,
        SearchRun.scheduled_for < end,
        in_scope(SearchRun.search_id, scope),
    )
    total, current = session.execute(query).one()
    return {_PREVIOUS: int(total) - int(current), _CURRENT: int(current)}


def noisiest_searches(
    session: Session,
    prev_start: datetime,
    start: datetime,
    end: datetime,
    top: int = TOP_N,
    scope: Scope = None,
) -> list[NoisySearch]:
    """The searches that created the most alerts in the period, with the period before.

    Counted per search with correlated range counts on the ``(search_id, created_at)``
    index: a GROUP BY over the period would sort every alert of the period first.
    Occurrences are summed for the winners only.
    """

    def created_between(lo: datetime, hi: datetime) -> Any:
        return (
            select(func.count())
            .where(Alert.search_id == Search.id, Alert.created_at >= lo, Alert.created_at < hi)
            .correlate(Search)
            .scalar_subquery()
        )

    per_search = (
        select(
            Search.id.label("id"),
            Search.name.label("name"),
            created_between(start, end).label("current"),
            created_between(prev_start, start).label("previous"),
        )
        .where(in_scope(Search.id, scope))
        .subquery()
    )
    query = (
        select(per_search)
        .where(per_search.c.current > 0)
        .order_by(per_search.c.current.desc(), per_search.c.id)
        .limit(top)
    )
    rows = session.execute(query).all()
    occurrences = dict(
        session.execute(
            select(Alert.search_id, func.sum(Alert.occurrences))
            .where(
                Alert.search_id.in_([r.id for r in rows]),
                Alert.created_at >= start,
                Alert.created_at < end,
            )
            .group_by(Alert.search_id)
        ).all()
    )
    return [
        NoisySearch(r.id, r.name, int(r.current), int(occurrences.get(r.id) or 0), int(r.previous))
        for r in rows
    ]


def tuning_candidates(
    session: Session, start: datetime, end: datetime, top: int = TOP_N, scope: Scope = None
) -> list[TuningCandidate]:
    """Searches most often resolved as "not an issue" in the period: worth tuning."""
    nai = func.sum(case((Alert.resolution == Resolution.NOT_AN_ISSUE, 1), else_=0)).label("nai")
    query = (
        select(Alert.search_id, nai, func.count())
        .where(
            Alert.resolved_at >= start,
            Alert.resolved_at < end,
            in_scope(Alert.search_id, scope),
        )
        .group_by(Alert.search_id)
        .order_by(nai.desc(), Alert.search_id)
        .limit(top)
    )
    rows = [r for r in session.execute(query).all() if r[1]]
    names = _search_names(session, [r[0] for r in rows])
    return [
        TuningCandidate(sid, names.get(sid, Ref.SEARCH(sid)), int(n), int(total))
        for sid, n, total in rows
    ]


def failed_searches(
    session: Session, start: datetime, end: datetime, top: int = TOP_N, scope: Scope = None
) -> list[FailedSearch]:
    """Searches with failed or timed-out runs scheduled in the period, most failures first."""
    in_period = and_(
        SearchRun.status.in_(FAILED_RUNS),
        SearchRun.scheduled_for >= start,
        SearchRun.scheduled_for < end,
        in_scope(SearchRun.search_id, scope),
    )
    failures = func.count().label("failures")
    query = (
        select(SearchRun.search_id, failures, func.max(SearchRun.scheduled_for))
        .where(in_period)
        .group_by(SearchRun.search_id)
        .order_by(failures.desc(), SearchRun.search_id)
        .limit(top)
    )
    rows = session.execute(query).all()
    names = _search_names(session, [r[0] for r in rows])
    result = []
    for sid, count, last in rows:
        error = session.scalar(
            select(SearchRun.error)
            .where(in_period, SearchRun.search_id == sid)
            .order_by(SearchRun.scheduled_for.desc())
            .limit(1)
        )
        result.append(
            FailedSearch(sid, names.get(sid, Ref.SEARCH(sid)), int(count), last, error or "")
        )
    return result


def waiting_alerts(session: Session, top: int = TOP_N, scope: Scope = None) -> list[WaitingAlert]:
    """The oldest open alerts nobody is assigned to.

    The oldest ``top`` of each open state come from the ``(state, created_at)`` index in
    order (a LIMIT that stops early), then the few candidates are merged; one query over
    both states at once would have to collect and sort every open alert first.
    """
    per_state = [
        select(Alert.id)
        .where(Alert.state == state, Alert.assignee.is_(None), in_scope(Alert.search_id, scope))
        .order_by(Alert.created_at, Alert.id)
        .limit(top)
        .subquery()
        for state in OPEN_STATES
    ]
    candidates = union_all(*[select(sub.c.id) for sub in per_state]).subquery()
    query = (
        select(
            Alert.id,
            Alert.title,
            Search.name,
            Alert.priority,
            Alert.created_at,
            Alert.channel,
            Alert.message_ts,
            Search.restricted_to,
        )
        .join(Search, Search.id == Alert.search_id)
        .where(Alert.id.in_(select(candidates.c.id)))
        .order_by(Alert.created_at, Alert.id)
        .limit(top)
    )
    return [
        WaitingAlert(aid, title or "", name, Priority(prio), created, channel, ts, bool(restricted))
        for aid, title, name, prio, created, channel, ts, restricted in session.execute(query)
    ]


def top_resolvers(
    session: Session, start: datetime, end: datetime, top: int = TOP_N, scope: Scope = None
) -> list[Resolver]:
    """Who resolved the most alerts in the period (people only, not autoclose)."""
    resolved = func.count().label("resolved")
    query = (
        select(Alert.resolved_by, resolved)
        .where(
            Alert.resolved_at >= start,
            Alert.resolved_at < end,
            Alert.resolved_by.is_not(None),
            Alert.resolved_by.not_in(SYSTEM_ACTORS),
            in_scope(Alert.search_id, scope),
        )
        .group_by(Alert.resolved_by)
        .order_by(resolved.desc(), Alert.resolved_by)
        .limit(top)
    )
    return [Resolver(str(user), int(n)) for user, n in session.execute(query).all()]


def _search_names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Search.id, Search.name).where(Search.id.in_(ids)))
    return {int(sid): str(name) for sid, name in rows}
