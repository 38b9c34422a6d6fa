"""Write a :class:`Plan`: alerts, their events, and deliveries, in the caller's transaction.

The rules of a run's writes in Python, on every database. Rows are written in
bulk, so a run of 10,000 hits costs a handful of statements, not tens of
thousands. On Postgres the common run is instead written by one statement
(:mod:`bot.runs.results`, from the CTEs of :mod:`insert_pg` and :mod:`seen_pg`);
tests/pipeline/test_write_paths.py proves both write the same rows. The partial
unique index on open alerts backs dedupe: ``ON CONFLICT DO NOTHING`` skips a key
a concurrent writer opened first, and that key is folded into the existing alert
as an occurrence instead of making a second one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.alerts import bursts
from bot.alerts.close import close_alert
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys, NewDelivery
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    MaintenanceWindow,
    Priority,
    Search,
    Suppression,
)
from bot.models.base import SYSTEM
from bot.pipeline.dedupe import CHUNK
from bot.pipeline.insert_pg import Posts
from bot.pipeline.plan import NewAlert, Plan, SeenAgain
from bot.pipeline.renotify import renotify_alert

log = logging.getLogger(__name__)
_ALERTS = cast(Table, Alert.__table__)  # Core tables: bulk statements skip the ORM's per-row work
_EVENTS = cast(Table, AlertEvent.__table__)
# The predicate of the partial unique index uq_alerts_open_search_key (see bot/models/alert.py).
_OPEN_KEY_PREDICATE = text("state != 'resolved'")
_INSERT_ALERTS: dict[str, Any] = {}


class AlertRow(TypedDict):
    """A new alert's row, as the portable path inserts it."""

    search_id: int
    dedupe_key: str
    state: AlertState
    resolution: None
    priority: Priority
    escalated: bool
    title: str
    body: str
    content: dict[str, Any]  # the hit's fields: any JSON value
    link: str | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    last_notified_at: datetime
    created_at: datetime
    updated_at: datetime
    delivery_failed: bool


class EventRow(TypedDict):
    """An alert's history entry written by the pipeline."""

    alert_id: int
    action: AlertAction
    actor: str
    at: datetime
    detail: dict[str, object]


@dataclass
class Applied:
    new_ids: list[int] = field(default_factory=list)
    updated: int = 0


def apply_plan(
    session: Session,
    search: Search,
    run_id: int,
    plan: Plan,
    now: datetime,
    *,
    thread_replies: bool = True,
) -> Applied:
    applied, seen, still_open = _write(session, search, run_id, plan, now)
    for item in seen:
        if item.renotify and item.alert_id in still_open:
            renotify_alert(session, search, item, now)
    for closing in plan.closing:
        close_alert(session, run_id, closing, now, thread_replies)
    for window_id, count in plan.maintenance.items():
        session.execute(
            update(MaintenanceWindow)
            .where(MaintenanceWindow.id == window_id)
            .values(suppressed_count=MaintenanceWindow.suppressed_count + count)
        )
    for suppression_id, count in plan.suppressed_by.items():
        session.execute(
            update(Suppression)
            .where(Suppression.id == suppression_id)
            .values(suppressed_count=Suppression.suppressed_count + count)
        )
    return applied


def message_channel(search: Search) -> str | None:
    """Where the search's alerts are posted; no channel: the owner hears of them directly."""
    return search.channel or search.owner


def posts_for(search: Search, plan: Plan, run_id: int) -> Posts:
    """The new alerts' posts: one each, or the burst's summary."""
    burst = Keys.BURST_POST.build(run_id=run_id) if plan.burst else None
    return Posts(None if plan.quiet else message_channel(search), burst)


_Written = tuple[Applied, list[SeenAgain], dict[int, str | None]]


def _write(session: Session, search: Search, run_id: int, plan: Plan, now: datetime) -> _Written:
    """A statement per step: new alerts, their posts, occurrences, message updates, events."""
    channel = None if plan.quiet else message_channel(search)
    created, folded = _insert_new(session, search, plan.new, now)
    applied = Applied([alert_id for alert_id, _ in created])
    events = [_event(i, AlertAction.CREATED, now, _created_detail(run_id, n)) for i, n in created]
    if channel and created:
        _posts(session, search, run_id, applied.new_ids, channel, plan.burst, now)
    seen = [*plan.seen, *folded]
    still_open, seen_events = _seen_again(session, seen, run_id, now)
    applied.updated = len(still_open)
    if events or seen_events:  # one statement for every event of the run
        session.connection().execute(insert(_EVENTS), [*events, *seen_events])
    return applied, seen, still_open


def add_occurrences(
    session: Session, seen: list[SeenAgain], run_id: int, now: datetime
) -> dict[int, str | None]:
    """Write alerts seen again (occurrences, events, message updates); returns the still open."""
    still_open, events = _seen_again(session, seen, run_id, now)
    if events:
        session.connection().execute(insert(_EVENTS), events)
    return still_open


def _seen_again(
    session: Session, seen: list[SeenAgain], run_id: int, now: datetime
) -> tuple[dict[int, str | None], list[EventRow]]:
    """Bump the still-open alerts and queue their message updates; their events, unwritten."""
    if not seen:
        return {}, []
    still_open = _bump_each(session, seen, now)
    live = [s for s in seen if s.alert_id in still_open]
    events = [
        _event(
            s.alert_id,
            AlertAction.SEEN_AGAIN,
            now,
            {"run_id": run_id, "occurrences": s.occurrences},
        )
        for s in live
    ]
    _refresh_messages(session, still_open, run_id, now)
    return still_open, events


# ---------------------------------------------------------------- new alerts


def _insert_new(
    session: Session, search: Search, items: list[NewAlert], now: datetime
) -> tuple[list[tuple[int, NewAlert]], list[SeenAgain]]:
    """Insert the new alerts; a key a concurrent writer opened meanwhile is folded into its alert.

    ``ON CONFLICT DO NOTHING`` on the partial unique index turns that race into
    rows that simply do not come back, without a savepoint per batch.
    """
    if not items:
        return [], []
    rows = [_alert_row(search, item, now) for item in items]
    inserted = dict(session.connection().execute(_insert_alerts(session), rows).all())
    by_key = {item.key: item for item in items}
    created = [(inserted[key], item) for key, item in by_key.items() if key in inserted]
    return created, fold_taken(session, search, items, inserted)


def fold_taken(
    session: Session, search: Search, items: list[NewAlert], inserted: Mapping[str, int]
) -> list[SeenAgain]:
    """The new alerts whose keys were not inserted, as occurrences of the alert holding the key.

    A key is taken when a concurrent writer opened an alert for it after this run
    read the open alerts; ``ON CONFLICT DO NOTHING`` skipped it.
    """
    taken = [item for item in items if item.key not in inserted]
    if not taken:
        return []
    log.info("search %s: a concurrent writer opened %d keys; folding them", search.id, len(taken))
    existing = dict(
        session.execute(
            select(Alert.dedupe_key, Alert.id).where(
                Alert.search_id == search.id,
                Alert.dedupe_key.in_([item.key for item in taken]),
                Alert.state != AlertState.RESOLVED,
            )
        ).all()
    )
    # A key resolved again already: rare enough to leave to the next run.
    return [
        SeenAgain(existing[item.key], item.key, item.occurrences, item.fields)
        for item in taken
        if item.key in existing
    ]


def _insert_alerts(session: Session) -> Any:
    """INSERT ... ON CONFLICT (open key) DO NOTHING RETURNING dedupe_key, id, per dialect."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERT_ALERTS:
        module = postgresql if dialect == "postgresql" else sqlite
        _INSERT_ALERTS[dialect] = (
            module.insert(_ALERTS)
            .on_conflict_do_nothing(
                index_elements=["search_id", "dedupe_key"], index_where=_OPEN_KEY_PREDICATE
            )
            .returning(_ALERTS.c.dedupe_key, _ALERTS.c.id)
        )
    return _INSERT_ALERTS[dialect]


def _alert_row(search: Search, item: NewAlert, now: datetime) -> AlertRow:
    return {
        "search_id": search.id,
        "dedupe_key": item.key,
        "state": AlertState.NEW,
        "resolution": None,
        "priority": search.priority,
        "escalated": False,
        "title": item.title,
        "body": item.body,
        # Hit fields may hold datetimes or decimals; the JSON column needs plain values.
        "content": json.loads(json.dumps(item.fields, default=str)),
        "link": item.link,
        "occurrences": item.occurrences,
        "first_seen": now,
        "last_seen": now,
        "last_notified_at": now,
        "created_at": now,
        "updated_at": now,
        "delivery_failed": False,
    }


def _created_detail(run_id: int, item: NewAlert) -> dict[str, object]:
    detail: dict[str, object] = {"run_id": run_id, "occurrences": item.occurrences}
    if item.template_error:
        detail["template_error"] = item.template_error
    return detail


def _posts(
    session: Session,
    search: Search,
    run_id: int,
    alert_ids: list[int],
    channel: str,
    burst: bool,
    now: datetime,
) -> None:
    if burst:
        rows = [bursts.summary_post(run_id, search.id, channel, alert_ids)]
    else:
        rows = [
            NewDelivery(
                Keys.ALERT_POST.build(alert_id=i, reason="new"), DeliveryKind.POST, channel, i
            )
            for i in alert_ids
        ]
    outbox.add_many(session, rows, now)


def _event(
    alert_id: int, action: AlertAction, now: datetime, detail: dict[str, object]
) -> EventRow:
    return {"alert_id": alert_id, "action": action, "actor": SYSTEM, "at": now, "detail": detail}


# ---------------------------------------------------------------- seen again


def _bump_each(session: Session, seen: list[SeenAgain], now: datetime) -> dict[int, str | None]:
    statement = (
        update(_ALERTS)
        .where(_ALERTS.c.id == bindparam("b_id"), _ALERTS.c.state != AlertState.RESOLVED)
        .values(occurrences=_ALERTS.c.occurrences + bindparam("b_n"), last_seen=now, updated_at=now)
    )
    rows = [{"b_id": s.alert_id, "b_n": s.occurrences} for s in seen]
    session.connection().execute(statement, rows)
    found: dict[int, str | None] = {}
    ids = [s.alert_id for s in seen]
    for i in range(0, len(ids), CHUNK):
        query = select(Alert.id, Alert.channel).where(
            Alert.id.in_(ids[i : i + CHUNK]), Alert.state != AlertState.RESOLVED
        )
        found.update(session.execute(query).all())
    return found


def _refresh_messages(
    session: Session, channels: dict[int, str | None], run_id: int, now: datetime
) -> None:
    """One message update per alert, unless one is pending (it renders the state when sent).

    An alert not posted yet, and with no post pending (a burst member), has no
    message of its own to update.
    """
    ids = list(channels)
    pending_post: set[int] = set()
    pending_update: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Delivery.alert_id, Delivery.kind, Delivery.status).where(
                Delivery.alert_id.in_(ids[i : i + CHUNK]),
                Delivery.kind.in_([DeliveryKind.POST, DeliveryKind.UPDATE]),
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            )
        )
        for alert_id, kind, status in rows:
            if alert_id is None:
                continue
            if kind == DeliveryKind.POST:
                pending_post.add(alert_id)
            elif status == DeliveryStatus.PENDING:
                pending_update.add(alert_id)
    rows_to_add = [
        NewDelivery(
            Keys.ALERT_UPDATE_BY_RUN.build(alert_id=alert_id, run_id=run_id),
            DeliveryKind.UPDATE,
            channel or "",
            alert_id,
        )
        for alert_id, channel in channels.items()
        if alert_id not in pending_update and (channel or alert_id in pending_post)
    ]
    outbox.add_many(session, rows_to_add, now)
