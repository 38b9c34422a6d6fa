"""What people do to alerts: take, assign, snooze, resolve, reopen, escalate, add a note.

Each function checks permission and the person's input, then applies the transition
(``bot/alerts/transitions.py``: the change, its AlertEvent, the message update and the
thread line), all in the caller's session: the caller commits once, so either all of it
happens or none of it. A refused action raises PermissionDenied before anything is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.alerts import transitions
from bot.alerts.permissions import Actor, Directory, check_alert_action, may_act_on_alert
from bot.alerts.transitions import MAX_NOTE
from bot.config import Settings
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.errors import BotError, InvalidInput, NotFound, PermissionDenied
from bot.models import Alert, AlertState, DeliveryKind, Resolution, Search, utcnow
from bot.text.escape import code, mention_channel, mention_user
from bot.text.links import message_link, permalink_base
from bot.text.refs import Ref

MIN_SNOOZE = 60
MAX_SNOOZE = 90 * 86400


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
        raise NotFound(f"Alert {Ref.ALERT(alert_id)} does not exist.")
    return alert, session.get(Search, alert.search_id)


def _prepare(
    ctx: ActionContext, alert_id: int, *, need_open: bool = True
) -> tuple[Alert, Search | None]:
    alert, search = load_alert(ctx.session, alert_id)
    check_alert_action(ctx.settings, ctx.directory, ctx.actor, search, alert)
    if need_open and not alert.is_open:
        raise InvalidInput(f"Alert {Ref.ALERT(alert.id)} is resolved; reopen it first.")
    return alert, search


def _change(ctx: ActionContext) -> transitions.Change:
    return transitions.Change(ctx.session, ctx.actor.user_id, ctx.now, ctx.settings.thread_replies)


def take(ctx: ActionContext, alert_id: int, *, holder: str | None = None) -> Alert:
    """Take the alert. ``holder`` is who the person saw holding it when they pressed (None:
    nobody): taking it from someone is confirmed in Slack first, and a person who lost a
    race (someone else took it meanwhile) is told who has it instead of silently winning."""
    alert, _ = _prepare(ctx, alert_id)
    if alert.assignee == ctx.actor.user_id:
        raise InvalidInput(f"You have {Ref.ALERT(alert.id)} already.")
    if alert.assignee != holder or not _claim(ctx, alert, holder):
        raise InvalidInput(
            f"{mention_user(alert.assignee)} has {Ref.ALERT(alert.id)} now. To take it from "
            "them, use *Take it* in `/411 alerts open`: it asks first."
        )
    transitions.assign(_change(ctx), alert, ctx.actor.user_id)
    return alert


def _claim(ctx: ActionContext, alert: Alert, holder: str | None) -> bool:
    """Compare and set: the alert becomes the actor's only if ``holder`` still has it.

    The row lock of load_alert serialises two presses on Postgres; on SQLite the read is
    not locked, so this conditional UPDATE is what makes the second press lose. A loser's
    ``alert`` is refreshed to show who won.
    """
    held = Alert.assignee.is_(None) if holder is None else Alert.assignee == holder
    claimed = ctx.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, held)
        .values(assignee=ctx.actor.user_id)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) == 1:
        return True
    ctx.session.refresh(alert)
    return False


def assign(ctx: ActionContext, alert_id: int, user_id: str) -> Alert:
    if not user_id:
        raise InvalidInput("Pick someone to assign the alert to.", field="assignee")
    alert, search = _prepare(ctx, alert_id)
    if user_id != ctx.actor.user_id and not may_act_on_alert(
        ctx.settings, ctx.directory, user_id, search, alert
    ):
        raise InvalidInput(
            f"{mention_user(user_id)} may not act on {Ref.ALERT(alert.id)} (not in its channel, "
            "or not named by its search): pick someone who may.",
            field="assignee",
        )
    event = transitions.assign(_change(ctx), alert, user_id)
    if user_id != ctx.actor.user_id:
        _tell_assignee(ctx, alert, event.id, user_id)
    return alert


def _tell_assignee(ctx: ActionContext, alert: Alert, event_id: int, user_id: str) -> None:
    """A DM to the new assignee, with the way to the alert's message (a person picked them:
    they may act on it, so they may see it)."""
    link = message_link(permalink_base(ctx.settings.slack_api_url), alert.channel, alert.message_ts)
    where = f"<{link}|open the alert>" if link else f"in {mention_channel(alert.channel)}"
    text = (
        f"{mention_user(ctx.actor.user_id)} assigned {Ref.ALERT(alert.id)} to you: "
        f"{code(alert.title or alert.dedupe_key, 200)} · {where}"
    )
    outbox.enqueue(
        ctx.session,
        key=Keys.ALERT_ASSIGNED_DM.build(alert_id=alert.id, event_id=event_id),
        kind=DeliveryKind.MESSAGE,
        channel=user_id,
        payload={"text": text},
    )


def _check_snooze(seconds: int) -> None:
    if not MIN_SNOOZE <= seconds <= MAX_SNOOZE:
        raise InvalidInput("A snooze lasts between 1 minute and 90 days.", field="duration")


def snooze(ctx: ActionContext, alert_id: int, seconds: int) -> Alert:
    _check_snooze(seconds)
    alert, _ = _prepare(ctx, alert_id)
    transitions.snooze(_change(ctx), alert, seconds)
    return alert


def unsnooze(ctx: ActionContext, alert_id: int) -> Alert:
    alert, _ = _prepare(ctx, alert_id)
    if alert.snoozed_until is None or alert.snoozed_until <= ctx.now:
        raise InvalidInput(f"Alert {Ref.ALERT(alert.id)} is not snoozed.")
    transitions.unsnooze(_change(ctx), alert)
    return alert


def resolve(ctx: ActionContext, alert_id: int, resolution: Resolution, note: str = "") -> Alert:
    alert, _ = _prepare(ctx, alert_id)
    transitions.resolve(_change(ctx), alert, resolution, note=note)
    return alert


def reopen(ctx: ActionContext, alert_id: int) -> Alert:
    alert, _ = _prepare(ctx, alert_id, need_open=False)
    if alert.is_open:
        raise InvalidInput(f"Alert {Ref.ALERT(alert.id)} is open already.")
    newer = ctx.session.scalar(
        select(Alert.id).where(
            Alert.search_id == alert.search_id,
            Alert.dedupe_key == alert.dedupe_key,
            Alert.state != AlertState.RESOLVED,
        )
    )
    if newer is not None:
        # The database allows one open alert per key: point to the one that is open.
        raise InvalidInput(
            f"Alert {Ref.ALERT(newer)} for the same key is open; act on that one instead."
        )
    transitions.reopen(_change(ctx), alert)
    return alert


def escalate(ctx: ActionContext, alert_id: int) -> Alert:
    alert, search = _prepare(ctx, alert_id)
    if transitions.is_fully_escalated(alert):
        raise InvalidInput(f"Alert {Ref.ALERT(alert.id)} is critical and escalated already.")
    transitions.escalate(_change(ctx), alert, search.oncall_group if search else None)
    return alert


def add_note(ctx: ActionContext, alert_id: int, note: str) -> Alert:
    note = note.strip()
    if not note:
        raise InvalidInput("The note is empty.", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"A note holds at most {MAX_NOTE} characters.", field="note")
    alert, _ = _prepare(ctx, alert_id, need_open=False)
    transitions.add_note(_change(ctx), alert, note)
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
    change = _change(ctx)
    return _bulk(
        ctx,
        alert_ids,
        lambda alert: transitions.resolve(change, alert, resolution, note=note, quiet=True),
    )


def bulk_snooze(ctx: ActionContext, alert_ids: Sequence[int], seconds: int) -> BulkResult:
    _check_snooze(seconds)
    change = _change(ctx)
    return _bulk(
        ctx, alert_ids, lambda alert: transitions.snooze(change, alert, seconds, quiet=True)
    )
