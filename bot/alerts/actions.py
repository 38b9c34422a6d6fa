"""What people do to alerts: take, assign, snooze, resolve, reopen, escalate, add a note.

Each function checks permission, changes the alert, writes an AlertEvent and
enqueues the message update and a short thread reply, all in the caller's
session: the caller commits once, so either all of it happens or none of it.
A refused action raises PermissionDenied before anything is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.permissions import Actor, Directory, check_alert_action
from bot.config import Settings
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.errors import BotError, InvalidInput, NotFound, PermissionDenied
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    DeliveryKind,
    Priority,
    Resolution,
    Search,
    utcnow,
)
from bot.text.escape import mention_group, mention_user, safe_text, slack_date

MIN_SNOOZE = 60
MAX_SNOOZE = 90 * 86400
MAX_NOTE = 2000


@dataclass
class ActionContext:
    """Everything an action needs: the unit of work, who acts, and the rules."""

    session: Session
    settings: Settings
    directory: Directory
    actor: Actor
    now: datetime = field(default_factory=utcnow)


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # already resolved, missing, ...

    def summary(self, verb: str) -> str:
        parts = [f"{verb} {len(self.done)} alert{'s' if len(self.done) != 1 else ''}"]
        if self.refused:
            parts.append(f"{len(self.refused)} not allowed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)


def load_alert(session: Session, alert_id: int) -> tuple[Alert, Search | None]:
    # FOR UPDATE (Postgres) serialises two people clicking at once; SQLite locks on write.
    alert = session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise NotFound(f"Alert #{alert_id} does not exist.")
    return alert, session.get(Search, alert.search_id)


def _prepare(
    ctx: ActionContext, alert_id: int, *, need_open: bool = True
) -> tuple[Alert, Search | None]:
    alert, search = load_alert(ctx.session, alert_id)
    check_alert_action(ctx.settings, ctx.directory, ctx.actor, search, alert)
    if need_open and not alert.is_open:
        raise InvalidInput(f"Alert #{alert.id} is resolved; reopen it first.")
    return alert, search


def _record(
    ctx: ActionContext,
    alert: Alert,
    action: AlertAction,
    what: str,
    detail: dict[str, Any] | None = None,
    *,
    reply: bool | None = None,
    broadcast: bool = False,
    details: bool = False,
) -> AlertEvent:
    """The event, the message update and the thread reply: the tail of every action."""
    alert.updated_at = ctx.now
    event = AlertEvent(
        alert=alert, action=action, actor=ctx.actor.user_id, at=ctx.now, detail=detail or {}
    )
    ctx.session.add(event)
    ctx.session.flush()
    outbox.enqueue_alert_update(ctx.session, alert)
    if ctx.settings.thread_replies if reply is None else reply:
        fallback = ctx.now.strftime("%Y-%m-%d %H:%M UTC")
        text = f"{mention_user(ctx.actor.user_id)} {what} · {slack_date(ctx.now.timestamp(), fallback=fallback)}"
        outbox.enqueue(
            ctx.session,
            key=Keys.ALERT_EVENT_REPLY.build(alert_id=alert.id, event_id=event.id),
            kind=DeliveryKind.THREAD_REPLY,
            channel=alert.channel or "",
            # details: the alert's fields follow the reply (a resolved message is one line).
            payload={"text": text, "broadcast": broadcast, "details": details},
            alert_id=alert.id,
            thread_ts=alert.message_ts or alert.burst_ts,
        )
    return event


def _acknowledge(alert: Alert, now: datetime) -> None:
    # Mean time to acknowledge (digest): the first take, assign or resolve.
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now


def take(ctx: ActionContext, alert_id: int) -> Alert:
    return assign(ctx, alert_id, ctx.actor.user_id)


def assign(ctx: ActionContext, alert_id: int, user_id: str) -> Alert:
    if not user_id:
        raise InvalidInput("Pick someone to assign the alert to.", field="assignee")
    alert, _ = _prepare(ctx, alert_id)
    previous = alert.assignee
    alert.assignee = user_id
    alert.state = AlertState.IN_PROGRESS
    _acknowledge(alert, ctx.now)
    what = "took it" if user_id == ctx.actor.user_id else f"assigned it to {mention_user(user_id)}"
    detail = {"assignee": user_id, "previous": previous}
    _record(ctx, alert, AlertAction.ASSIGNED, what, detail)
    return alert


def snooze(ctx: ActionContext, alert_id: int, seconds: int) -> Alert:
    if not MIN_SNOOZE <= seconds <= MAX_SNOOZE:
        raise InvalidInput("A snooze lasts between 1 minute and 90 days.", field="duration")
    alert, _ = _prepare(ctx, alert_id)
    alert.snoozed_until = ctx.now + timedelta(seconds=seconds)
    until = slack_date(alert.snoozed_until.timestamp(), fallback=alert.snoozed_until.isoformat())
    detail = {"until": alert.snoozed_until.isoformat(), "seconds": seconds}
    _record(ctx, alert, AlertAction.SNOOZED, f"snoozed it until {until}", detail)
    return alert


def unsnooze(ctx: ActionContext, alert_id: int) -> Alert:
    alert, _ = _prepare(ctx, alert_id)
    if alert.snoozed_until is None or alert.snoozed_until <= ctx.now:
        raise InvalidInput(f"Alert #{alert.id} is not snoozed.")
    alert.snoozed_until = None
    _record(ctx, alert, AlertAction.UNSNOOZED, "unsnoozed it")
    return alert


def resolve(ctx: ActionContext, alert_id: int, resolution: Resolution, note: str = "") -> Alert:
    alert, _ = _prepare(ctx, alert_id)
    _resolve(ctx, alert, resolution, note)
    return alert


def _resolve(
    ctx: ActionContext,
    alert: Alert,
    resolution: Resolution,
    note: str,
    *,
    reply: bool | None = None,
) -> None:
    note = note.strip()[:MAX_NOTE]
    alert.state = AlertState.RESOLVED
    alert.resolution = resolution
    alert.resolved_at = ctx.now
    alert.resolved_by = ctx.actor.user_id
    alert.snoozed_until = None
    _acknowledge(alert, ctx.now)
    what = f"resolved it: *{resolution.label}*"
    if note:
        what += f"\n>{safe_text(note, 1500)}"
    detail = {"resolution": resolution.value, "note": note}
    _record(ctx, alert, AlertAction.RESOLVED, what, detail, reply=reply, details=True)


def reopen(ctx: ActionContext, alert_id: int) -> Alert:
    alert, _ = _prepare(ctx, alert_id, need_open=False)
    if alert.is_open:
        raise InvalidInput(f"Alert #{alert.id} is open already.")
    newer = ctx.session.scalar(
        select(Alert.id).where(
            Alert.search_id == alert.search_id,
            Alert.dedupe_key == alert.dedupe_key,
            Alert.state != AlertState.RESOLVED,
        )
    )
    if newer is not None:
        # The database allows one open alert per key: point to the one that is open.
        raise InvalidInput(f"Alert #{newer} for the same key is open; act on that one instead.")
    alert.state = AlertState.IN_PROGRESS if alert.assignee else AlertState.NEW
    detail = {"resolution": alert.resolution.value if alert.resolution else None}
    alert.resolution = None
    alert.resolved_at = None
    alert.resolved_by = None
    _record(ctx, alert, AlertAction.REOPENED, "reopened it", detail)
    return alert


def escalate(ctx: ActionContext, alert_id: int) -> Alert:
    alert, search = _prepare(ctx, alert_id)
    before = alert.priority
    if before == Priority.CRITICAL and alert.escalated:
        raise InvalidInput(f"Alert #{alert.id} is critical and escalated already.")
    alert.priority = before.raised()
    alert.escalated = True
    group = mention_group(search.oncall_group if search else None)
    what = f"escalated it ({before.value} → {alert.priority.value})"
    if group:
        what += f" {group} please take a look"
    detail = {
        "from": before.value,
        "to": alert.priority.value,
        "group": search.oncall_group if search else None,
    }
    # The mention is the point of escalating: reply (and show it in the channel) even when quiet.
    _record(ctx, alert, AlertAction.ESCALATED, what, detail, reply=True, broadcast=bool(group))
    return alert


def add_note(ctx: ActionContext, alert_id: int, note: str) -> Alert:
    note = note.strip()
    if not note:
        raise InvalidInput("The note is empty.", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note holds at most {MAX_NOTE} characters.", field="note")
    alert, _ = _prepare(ctx, alert_id, need_open=False)
    # Notes are shown escaped: a note can quote log lines, which must not ping anyone.
    _record(
        ctx,
        alert,
        AlertAction.NOTE,
        f"added a note:\n>{safe_text(note, 2500)}",
        {"note": note},
        reply=True,
    )
    return alert


def _bulk(ctx: ActionContext, alert_ids: Sequence[int], apply: Any) -> BulkResult:
    result = BulkResult()
    for alert_id in alert_ids:
        try:
            with ctx.session.begin_nested():  # one refused alert does not undo the others
                alert, search = load_alert(ctx.session, alert_id)
                if not alert.is_open:
                    result.skipped.append(alert_id)
                    continue
                check_alert_action(ctx.settings, ctx.directory, ctx.actor, search, alert)
                apply(alert)
            result.done.append(alert_id)
        except PermissionDenied:
            result.refused.append(alert_id)
        except BotError:
            result.skipped.append(alert_id)
    return result


def bulk_resolve(
    ctx: ActionContext, alert_ids: Sequence[int], resolution: Resolution, note: str = ""
) -> BulkResult:
    """Resolve many (a burst): one thread reply per alert would flood, so they stay quiet."""
    return _bulk(ctx, alert_ids, lambda alert: _resolve(ctx, alert, resolution, note, reply=False))


def bulk_snooze(ctx: ActionContext, alert_ids: Sequence[int], seconds: int) -> BulkResult:
    if not MIN_SNOOZE <= seconds <= MAX_SNOOZE:
        raise InvalidInput("A snooze lasts between 1 minute and 90 days.", field="duration")

    def apply(alert: Alert) -> None:
        alert.snoozed_until = ctx.now + timedelta(seconds=seconds)
        detail = {"until": alert.snoozed_until.isoformat(), "seconds": seconds, "bulk": True}
        _record(ctx, alert, AlertAction.SNOOZED, "snoozed it", detail, reply=False)

    return _bulk(ctx, alert_ids, apply)
