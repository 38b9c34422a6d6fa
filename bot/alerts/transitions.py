"""Alert state transitions, written once: what take, assign, snooze, unsnooze, resolve, reopen
and escalate do to an alert, whoever does it (a person's button, the pipeline's autoclose or
auto-resolve, the snooze timer).

Each function changes the alert's columns, writes its AlertEvent, enqueues the message update
and, when asked, a line in the alert's thread, all in the caller's session (the caller
commits). Nothing here checks permissions: a person's action is checked first in
``bot/alerts/actions.py``; the pipeline and the timers act as :data:`SYSTEM`.

Rules that hold for every path:
- Resolving clears the snooze: a resolved alert is not snoozed, and a reopened one starts
  unsnoozed.
- ``acknowledged_at`` is a *person's* first take, assign or resolve (the digest's mean time
  to acknowledge measures people); the system resolving an alert does not acknowledge it.
- A thread line goes to the alert's message (or the burst summary it is listed under), or
  waits for the alert's first post; an alert posted nowhere gets no thread line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    Priority,
    Resolution,
)
from bot.models.base import SYSTEM
from bot.text.escape import code, mention_group, mention_user, safe_text, slack_date
from bot.text.refs import Ref

MAX_NOTE = 2000


@dataclass(frozen=True)
class Change:
    """Who changes alerts, when, in which unit of work, and whether threads hear of it."""

    session: Session
    actor: str  # a Slack user ID, or SYSTEM
    now: datetime
    thread_replies: bool = True

    @property
    def by_person(self) -> bool:
        return self.actor != SYSTEM


def record(
    change: Change,
    alert: Alert,
    action: AlertAction,
    detail: dict[str, Any] | None = None,
    *,
    say: str | None = None,
    reply: bool | None = None,
    broadcast: bool = False,
    details: bool = False,
) -> AlertEvent:
    """The tail of every transition: the event, the message update, the thread line ``say``.

    ``reply`` overrides ``change.thread_replies`` (an escalation always pings; a bulk
    action never floods the thread); ``details``: the alert's fields follow the line (a
    resolved message is one line).
    """
    alert.updated_at = change.now
    event = AlertEvent(
        alert=alert, action=action, actor=change.actor, at=change.now, detail=detail or {}
    )
    change.session.add(event)
    change.session.flush()
    outbox.enqueue_alert_update(change.session, alert)
    wanted = change.thread_replies if reply is None else reply
    if say and wanted:
        _thread_line(change, alert, event, say, {"broadcast": broadcast, "details": details})
    return event


def _thread_line(
    change: Change, alert: Alert, event: AlertEvent, say: str, options: dict[str, bool]
) -> None:
    thread_ts = alert.message_ts or alert.burst_ts
    parent = None if thread_ts else post_delivery_id(change.session, alert.id)
    if not thread_ts and parent is None:
        return  # posted nowhere and not about to be: no thread to write in
    if change.by_person:
        fallback = change.now.strftime("%Y-%m-%d %H:%M UTC")
        stamp = slack_date(change.now.timestamp(), fallback=fallback)
        say = f"{mention_user(change.actor)} {say} · {stamp}"
    outbox.enqueue(
        change.session,
        key=Keys.ALERT_EVENT_REPLY.build(alert_id=alert.id, event_id=event.id),
        kind=DeliveryKind.THREAD_REPLY,
        channel=alert.channel or "",
        payload={"text": say, **options},
        alert_id=alert.id,
        thread_ts=thread_ts,
        parent_delivery_id=parent,
    )


def post_delivery_id(session: Session, alert_id: int) -> int | None:
    """The delivery that posts (or posted) the alert: a thread reply's parent until it is sent."""
    return session.scalar(
        select(Delivery.id)
        .where(Delivery.alert_id == alert_id, Delivery.kind == DeliveryKind.POST)
        .limit(1)
    )


def _acknowledge(change: Change, alert: Alert) -> None:
    if change.by_person and alert.acknowledged_at is None:
        alert.acknowledged_at = change.now


def assign(change: Change, alert: Alert, user_id: str) -> AlertEvent:
    """Give the alert to ``user_id`` (taking it: the actor's own ID). Says whom it was taken from."""
    previous = alert.assignee
    alert.assignee = user_id
    alert.state = AlertState.IN_PROGRESS
    _acknowledge(change, alert)
    if user_id == change.actor:
        say = "took it"
        if previous and previous != user_id:
            say += f" from {mention_user(previous)}"
    else:
        say = f"assigned it to {mention_user(user_id)}"
        if previous and previous != user_id:
            say += f" (was {mention_user(previous)})"
    detail = {"assignee": user_id, "previous": previous}
    return record(change, alert, AlertAction.ASSIGNED, detail, say=say)


def snooze(change: Change, alert: Alert, seconds: int, *, quiet: bool = False) -> AlertEvent:
    alert.snoozed_until = change.now + timedelta(seconds=seconds)
    until = slack_date(alert.snoozed_until.timestamp(), fallback=alert.snoozed_until.isoformat())
    detail: dict[str, Any] = {"until": alert.snoozed_until.isoformat(), "seconds": seconds}
    if quiet:
        detail["bulk"] = True
    say = f"snoozed it until {until}"
    return record(
        change, alert, AlertAction.SNOOZED, detail, say=say, reply=False if quiet else None
    )


def unsnooze(change: Change, alert: Alert, detail: dict[str, Any] | None = None) -> AlertEvent:
    alert.snoozed_until = None
    say = "unsnoozed it" if change.by_person else None  # the timer ending a snooze stays quiet
    return record(change, alert, AlertAction.UNSNOOZED, detail, say=say)


def resolve(
    change: Change,
    alert: Alert,
    resolution: Resolution,
    *,
    note: str = "",
    action: AlertAction = AlertAction.RESOLVED,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    quiet: bool = False,
) -> AlertEvent:
    """Resolve: by a person (with an optional note), or by the system (autoclose, auto-resolve:
    ``action`` and ``reason`` say which and why)."""
    note = note.strip()[:MAX_NOTE]
    alert.state = AlertState.RESOLVED
    alert.resolution = resolution
    alert.resolved_at = change.now
    alert.resolved_by = change.actor
    alert.snoozed_until = None
    _acknowledge(change, alert)
    reply: bool | None = False if quiet else None
    # The all-clear of an auto-resolve reaches the channel (a broadcast reply), so whoever
    # the alert paged sees it; thread_replies off still sends that one.
    all_clear = not change.by_person and resolution == Resolution.CLEARED
    if change.by_person:
        say = f"resolved it: *{resolution.label}*"
        if note:
            say += f"\n>{safe_text(note, 1500)}"
    elif all_clear:
        title = code(alert.title or alert.dedupe_key, 200)
        say = f"✅ All clear · {Ref.ALERT(alert.id)} {title}: {safe_text(reason, 300)}."
        reply = True
    else:
        say = f"✅ Resolved automatically ({resolution.label}): {safe_text(reason, 300)}."
    facts: dict[str, Any] = {"resolution": resolution.value, **(detail or {})}
    if change.by_person:
        facts["note"] = note
    if reason:
        facts["reason"] = reason
    return record(
        change, alert, action, facts, say=say, reply=reply, broadcast=all_clear, details=True
    )


def reopen(change: Change, alert: Alert) -> AlertEvent:
    detail = {"resolution": alert.resolution.value if alert.resolution else None}
    alert.state = AlertState.IN_PROGRESS if alert.assignee else AlertState.NEW
    alert.resolution = None
    alert.resolved_at = None
    alert.resolved_by = None
    return record(change, alert, AlertAction.REOPENED, detail, say="reopened it")


def escalate(change: Change, alert: Alert, oncall_group: str | None) -> AlertEvent:
    """Raise the priority one step and ping the on-call group in the channel."""
    before = alert.priority
    alert.priority = before.raised()
    alert.escalated = True
    group = mention_group(oncall_group)
    say = f"escalated it ({before.value} → {alert.priority.value})"
    if group:
        say += f" {group} please take a look"
    detail = {"from": before.value, "to": alert.priority.value, "group": oncall_group}
    # The mention is the point of escalating: reply (and show it in the channel) even when quiet.
    return record(
        change, alert, AlertAction.ESCALATED, detail, say=say, reply=True, broadcast=bool(group)
    )


def is_fully_escalated(alert: Alert) -> bool:
    return alert.priority == Priority.CRITICAL and alert.escalated


def add_note(change: Change, alert: Alert, note: str) -> AlertEvent:
    # Notes are shown escaped: a note can quote log lines, which must not ping anyone.
    say = f"added a note:\n>{safe_text(note, 2500)}"
    return record(change, alert, AlertAction.NOTE, {"note": note}, say=say, reply=True)
