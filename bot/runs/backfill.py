"""Backfill: run a search over a past span for real, as its schedule would have run it.

The first thing a security team asks of a new detection is what it would have
raised last week. A backfill replays the search's schedule over ``[start, end)``:
a run at each time the schedule fires, each over the window a live run at that
time would have read (per-hit searches: from the previous run to this one;
count and bucket searches: the look-back range), through the same source call,
pipeline (``decide``) and writer (``apply_plan``) as a live run.

What differs from live runs, and why:
- Nothing is posted per alert: the backfill ends with ONE summary post.
- Keys that had an alert before the backfill started (open or resolved) are left
  alone: those events were alerted on already. Keys the backfill itself opened
  fold their repeats into their alert, as a live run would.
- Nothing is closed, resolved or notified again: the past says nothing about now.
- The live schedule's cursor never moves; live runs go on meanwhile.

Its progress is one ``search_runs`` row (worker ``backfill until <end>``) whose
``window_end`` advances with each chunk, in the transaction that writes that
chunk's alerts. Asking for the same backfill again resumes after the last chunk
written; a finished one does nothing. Running it twice creates nothing new.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.definitions.schedule import parse_schedule
from bot.definitions.search import SearchDefinition, definition_from_search
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.errors import InvalidInput
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    DeliveryKind,
    RunStatus,
    Search,
    SearchRun,
    utcnow,
)
from bot.pipeline import SearchSpec, apply_plan, decide
from bot.pipeline.apply import message_channel
from bot.pipeline.plan import Plan
from bot.runs.runner import describe_error, open_source
from bot.runs.source_call import RunTimeout, run_source
from bot.runs.window import advances
from bot.runtime import Runtime
from bot.text.escape import escape_mrkdwn
from bot.text.templates import run_deadline
from searches.base import ResultKind, SourceError, SourceResult, TimeWindow

MAX_CHUNKS = 20_000  # a week of a 30-second schedule; more is surely a mistake
WORKER_PREFIX = "backfill until "


@dataclass
class Backfill:
    """What a backfill did (this call), and where it stands."""

    search_id: int
    search_name: str
    span: TimeWindow
    run_id: int
    chunks: int = 0  # runs made by this call
    skipped_chunks: int = 0  # already done by an earlier call
    hits: int = 0
    new_alert_ids: list[int] = field(default_factory=list)
    error: str | None = None
    summary_posted: bool = False

    @property
    def finished(self) -> bool:
        return self.error is None

    def text(self) -> str:
        span = f"{_iso(self.span.start)} to {_iso(self.span.end)}"
        if self.error:
            return f"backfill of {self.search_name!r} over {span} stopped: {self.error}"
        if not self.chunks:
            return f"backfill of {self.search_name!r} over {span} was done already: nothing new"
        resumed = f" (resumed after {self.skipped_chunks} done)" if self.skipped_chunks else ""
        return (
            f"backfill of {self.search_name!r} over {span}: {self.chunks} runs{resumed}, "
            f"{self.hits} hits, {len(self.new_alert_ids)} new alerts"
        )


def chunks(defn: SearchDefinition, kind: ResultKind, span: TimeWindow) -> list[TimeWindow]:
    """The windows the search's runs would have read, for every time its schedule fires."""
    fires = list(_fire_times(defn, span))
    if advances(kind):  # per hit: consecutive windows, the last one up to the span's end
        edges = [span.start, *fires]
        if edges[-1] < span.end:
            edges.append(span.end)
        return [TimeWindow(a, b) for a, b in itertools.pairwise(edges)]
    lookback = timedelta(seconds=defn.lookback_seconds)
    return [TimeWindow(fire - lookback, fire) for fire in fires]


def _fire_times(defn: SearchDefinition, span: TimeWindow) -> Iterator[datetime]:
    schedule = parse_schedule(defn.schedule)
    fire = schedule.next_fire(span.start)
    count = 0
    while fire is not None and fire <= span.end:
        if fire > span.start:
            count += 1
            if count > MAX_CHUNKS:
                raise InvalidInput(
                    f"that span holds more than {MAX_CHUNKS} runs of {defn.schedule!r}; "
                    "backfill a shorter one"
                )
            yield fire
        fire = schedule.next_fire(fire + timedelta(microseconds=1))


def backfill_search(
    runtime: Runtime, search_id: int, span: TimeWindow, *, actor: str, now: datetime | None = None
) -> Backfill:
    """Run the search over ``span`` for real; resume a backfill of the same span if one began."""
    now = now or utcnow()
    with runtime.sessions() as session:
        search = _live_search(session, search_id)
        defn = definition_from_search(search)
        first = open_source(runtime, defn, search_id)
        windows = chunks(defn, first.result_kind(), span)
        first.close()
        progress = _progress_row(session, search, span, now)
        known = _keys_alerted_before(session, search_id, progress.id)
        report = Backfill(search_id, search.name, span, progress.id)
        done_until = progress.window_end or span.start
        for window in windows:
            if window.end <= done_until:
                report.skipped_chunks += 1
                continue
            try:  # a source per run: run_source closes it when the run ends
                result = run_source(
                    open_source(runtime, defn, search_id), window, defn.timeout_seconds
                )
            except (SourceError, RunTimeout) as exc:
                report.error = f"{_iso(window.start)} to {_iso(window.end)}: {describe_error(exc)}"
                break
            plan = _plan(session, search, defn, result, window, now, known)
            applied = apply_plan(session, search, progress.id, plan, now, thread_replies=False)
            report.chunks += 1
            report.hits += plan.hits
            report.new_alert_ids += applied.new_ids
            _advance(progress, window, plan.hits, len(applied.new_ids), applied.updated)
            session.commit()  # the chunk's alerts and the progress together: resumable
        progress.finished_at = utcnow()
        progress.error = (report.error or report.text())[:4000]
        if report.new_alert_ids:
            report.summary_posted = _post_summary(session, search, report, actor)
        session.commit()
    return report


def _keys_alerted_before(session: Session, search_id: int, backfill_run_id: int) -> set[str]:
    """The keys that had an alert before this backfill: all, less those it created itself.

    A resumed backfill must fold repeats into the alerts its earlier calls opened, as
    one uninterrupted call would have; only alerts from elsewhere are left alone.
    """
    rows = session.execute(
        select(Alert.dedupe_key, AlertEvent.detail)
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(Alert.search_id == search_id, AlertEvent.action == AlertAction.CREATED)
    ).all()
    ours = {key for key, detail in rows if (detail or {}).get("run_id") == backfill_run_id}
    every = set(session.scalars(select(Alert.dedupe_key).where(Alert.search_id == search_id)))
    return every - ours


def _live_search(session: Session, search_id: int) -> Search:
    search = session.get(Search, search_id)
    if search is None or search.deleted_at is not None:
        raise InvalidInput(f"no search with id {search_id}")
    return search


def _progress_row(session: Session, search: Search, span: TimeWindow, now: datetime) -> SearchRun:
    """The run row of this backfill: an earlier one of the same span, or a new one.

    It is recorded succeeded from the start: it is never claimed by a worker and
    never stops the live runs (which may not overlap a *running* run).
    """
    worker = WORKER_PREFIX + _iso(span.end)
    found = session.scalar(
        select(SearchRun)
        .where(
            SearchRun.search_id == search.id,
            SearchRun.worker == worker,
            SearchRun.window_start == span.start,
        )
        .order_by(SearchRun.id.desc())
    )
    if found is not None:
        return found
    run = SearchRun(
        search_id=search.id,
        scheduled_for=now,
        status=RunStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
        window_start=span.start,
        window_end=span.start,
        worker=worker,
        error=f"backfill to {_iso(span.end)}",
    )
    session.add(run)
    session.commit()
    return run


def _plan(
    session: Session,
    search: Search,
    defn: SearchDefinition,
    result: SourceResult,
    window: TimeWindow,
    now: datetime,
    known: set[str],
) -> Plan:
    """The live pipeline's plan, less what a backfill must not do (see the module's doc)."""
    with run_deadline(defn.timeout_seconds):  # templates render within the run's time, as live
        plan = decide(session, SearchSpec(search.id, defn), result, window, now, burst_threshold=0)
    plan.new = [item for item in plan.new if item.key not in known]
    plan.seen = [item for item in plan.seen if item.key not in known]
    for item in plan.seen:
        item.renotify = None
    plan.closing = []
    plan.quiet = True
    plan.burst = False
    return plan


def _advance(run: SearchRun, window: TimeWindow, hits: int, new: int, updated: int) -> None:
    run.window_end = max(run.window_end or window.end, window.end)
    run.hits += hits
    run.alerts_new += new
    run.alerts_updated += updated


def _post_summary(session: Session, search: Search, report: Backfill, actor: str) -> bool:
    """ONE post for the whole backfill, where the search's alerts go."""
    channel = message_channel(search)
    if channel is None:
        return False
    titles = session.scalars(
        select(Alert.title).where(Alert.id.in_(report.new_alert_ids[:10])).order_by(Alert.id)
    ).all()
    listed = "".join(f"\n• {escape_mrkdwn(title)}" for title in titles)
    more = len(report.new_alert_ids) - len(titles)
    text = (
        f":rewind: Backfill of *{escape_mrkdwn(search.name)}* over {_iso(report.span.start)} "
        f"to {_iso(report.span.end)} (asked by {escape_mrkdwn(actor)}): "
        f"*{len(report.new_alert_ids)}* alerts it would have raised{listed}"
        + (f"\n…and {more} more: `/411 alerts search {search.id}`" if more > 0 else "")
    )
    outbox.enqueue(
        session,
        key=Keys.BACKFILL_SUMMARY.build(run_id=report.run_id, skipped=report.skipped_chunks),
        kind=DeliveryKind.MESSAGE,
        channel=channel,
        payload={"text": text},
    )
    return True


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
