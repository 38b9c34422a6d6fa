"""A burst: many new alerts of one run shown as ONE summary message, listed in its thread.

This module owns the concept: creating a burst (its summary post), finding it again
(by id, or by its message), its members, the thread listings, refreshing its
messages when alerts change, and the bulk actions on the summary (Resolve all,
Snooze all). The Block Kit of its messages is in ``bot/messages/burst.py``; whether a
run makes a burst is the pipeline's rule 8 (``bot/pipeline/burst.py``).

A burst is stored as its summary's delivery row: the burst's id is that row's id
(Slack buttons carry it), the row's payload names the members and the search,
and each thread listing is a THREAD_REPLY whose ``parent_delivery_id`` is the burst.
Only this module reads or writes those conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from bot.alerts import actions as alert_actions
from bot.alerts.actions import ActionContext, BulkResult
from bot.deliveries import outbox
from bot.deliveries.outbox import Keys, NewDelivery
from bot.errors import InvalidInput, NotFound
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Resolution,
    utcnow,
)
from bot.text.escape import mention_user

MEMBERS = "burst_alert_ids"  # payload field of the summary and of each listing
CHUNK = 10  # alerts per thread listing: ten sections with menus stay well below 12k characters


@dataclass(frozen=True)
class Burst:
    id: int  # the summary's delivery id
    channel: str
    message_ts: str | None  # the summary's ts once posted
    search_id: int | None
    alert_ids: list[int] = field(default_factory=list)


def chunks(alert_ids: Sequence[int], size: int = CHUNK) -> list[list[int]]:
    return [list(alert_ids[i : i + size]) for i in range(0, len(alert_ids), size)]


# ------------------------------------------------------------------- create


def summary_post(run_id: int, search_id: int, channel: str, alert_ids: list[int]) -> NewDelivery:
    """The summary post that makes a run's new alerts a burst (the portable write path)."""
    return NewDelivery(
        key=Keys.BURST_POST.build(run_id=run_id),
        kind=DeliveryKind.POST,
        channel=channel,
        payload={MEMBERS: alert_ids, "search_id": search_id},
    )


def create(
    session: Session, *, key: str, search_id: int, channel: str, alert_ids: list[int]
) -> Burst:
    """A burst outside a run's bulk write (imports, tests): enqueued once per ``key``."""
    row = outbox.enqueue(
        session,
        key=key,
        kind=DeliveryKind.POST,
        channel=channel,
        payload={MEMBERS: alert_ids, "search_id": search_id},
    )
    session.flush()
    burst = _from_row(row)
    assert burst is not None
    return burst


# --------------------------------------------------------------------- find


def is_summary(row: Delivery) -> bool:
    return row.kind == DeliveryKind.POST and MEMBERS in row.payload


def _from_row(row: Delivery | None) -> Burst | None:
    if row is None or not is_summary(row):
        return None
    return Burst(
        id=row.id,
        channel=row.channel,
        message_ts=row.message_ts,
        search_id=row.payload.get("search_id"),
        alert_ids=[int(i) for i in row.payload[MEMBERS]],
    )


def get(session: Session, burst_id: int) -> Burst:
    burst = _from_row(session.get(Delivery, burst_id))
    if burst is None:
        raise NotFound("This burst is unknown.")
    return burst


def by_message(session: Session, channel: str, ts: str) -> Burst | None:
    """The burst whose summary is the message ``ts`` in ``channel``."""
    row = session.scalar(
        select(Delivery).where(
            Delivery.kind == DeliveryKind.POST,
            Delivery.channel == channel,
            Delivery.message_ts == ts,
        )
    )
    return _from_row(row)


def members_of_message(channel: str | None, burst_ts: str) -> Select[int]:
    """The ids of the alerts listed under the summary ``burst_ts`` (a subquery)."""
    return select(Alert.id).where(Alert.burst_ts == burst_ts, Alert.channel == channel)


def listings(session: Session, burst: Burst) -> list[tuple[str, list[int]]]:
    """The thread listings posted so far: (message ts, the alert ids it lists)."""
    rows = session.scalars(
        select(Delivery)
        .where(
            or_(
                Delivery.parent_delivery_id == burst.id,
                and_(Delivery.channel == burst.channel, Delivery.thread_ts == burst.message_ts),
            ),
            Delivery.kind == DeliveryKind.THREAD_REPLY,
            Delivery.status == DeliveryStatus.SENT,
        )
        .order_by(Delivery.id)
    )
    return [
        (row.message_ts, [int(i) for i in row.payload[MEMBERS]])
        for row in rows
        if row.message_ts and MEMBERS in row.payload
    ]


def listing_members(row: Delivery) -> list[int] | None:
    """The alerts a thread reply lists, if it is a burst listing."""
    if row.kind != DeliveryKind.THREAD_REPLY or MEMBERS not in row.payload:
        return None
    return [int(i) for i in row.payload[MEMBERS]]


# ------------------------------------------------------------------- update


def record_posted(session: Session, row: Delivery, channel: str, ts: str) -> None:
    """The summary is posted: its alerts point at it, and their listings are queued."""
    burst = _from_row(row)
    assert burst is not None
    now = utcnow()
    for alert in session.scalars(select(Alert).where(Alert.id.in_(burst.alert_ids))):
        alert.channel, alert.burst_ts = channel, ts
        alert.last_notified_at = now
        detail = {"delivery_id": row.id, "channel": channel, "burst_ts": ts}
        session.add(AlertEvent(alert_id=alert.id, action=AlertAction.NOTIFIED, detail=detail))
    for i, chunk in enumerate(chunks(burst.alert_ids)):
        outbox.enqueue(
            session,
            key=Keys.BURST_LISTING.build(burst_id=row.id, chunk=i),
            kind=DeliveryKind.THREAD_REPLY,
            channel=channel,
            thread_ts=ts,
            parent_delivery_id=row.id,
            payload={MEMBERS: chunk},
        )


def messages_to_refresh(
    session: Session, burst: Burst, changed: set[int] | None
) -> list[tuple[str, list[int]]]:
    """The thread listings showing one of the ``changed`` alerts (all of them: ``None``)."""
    return [
        (ts, chunk)
        for ts, chunk in listings(session, burst)
        if changed is None or changed.intersection(chunk)
    ]


def enqueue_refresh(session: Session, burst: Burst, alert_ids: list[int], now: datetime) -> None:
    """One update of the summary and the listings of ``alert_ids``, folding pending ones."""
    assert burst.message_ts is not None
    pending = session.scalar(
        select(Delivery).where(
            Delivery.kind == DeliveryKind.UPDATE,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.alert_id.is_(None),
            Delivery.channel == burst.channel,
            Delivery.thread_ts == burst.message_ts,
        )
    )
    if pending is None:
        outbox.enqueue(
            session,
            key=Keys.BURST_UPDATE.build(burst_id=burst.id, stamp=now.timestamp()),
            kind=DeliveryKind.UPDATE,
            channel=burst.channel,
            thread_ts=burst.message_ts,
            payload={"alert_ids": alert_ids},
        )
    else:
        pending.payload = {"alert_ids": sorted({*pending.payload.get("alert_ids", []), *alert_ids})}
    # The per-alert updates of these alerts are covered by the burst update.
    for row in session.scalars(
        select(Delivery).where(
            Delivery.alert_id.in_(alert_ids),
            Delivery.kind == DeliveryKind.UPDATE,
            Delivery.status == DeliveryStatus.PENDING,
        )
    ):
        row.status = DeliveryStatus.SUPERSEDED
        row.last_error = "folded into the burst update"


# --------------------------------------------------------------------- bulk


def resolve_all(ctx: ActionContext, burst_id: int, resolution: Resolution, note: str = "") -> str:
    """Resolve every open alert of the burst the actor may resolve; say what happened."""
    burst = get(ctx.session, burst_id)
    result = alert_actions.bulk_resolve(ctx, burst.alert_ids, resolution, note)
    if not result.done and result.refused:
        raise InvalidInput("You may not resolve these alerts.", field="note")
    return _after_bulk(ctx, burst, "resolved", result)


def snooze_all(ctx: ActionContext, burst_id: int, seconds: int) -> str:
    burst = get(ctx.session, burst_id)
    result = alert_actions.bulk_snooze(ctx, burst.alert_ids, seconds)
    return _after_bulk(ctx, burst, "snoozed", result)


def _after_bulk(ctx: ActionContext, burst: Burst, verb: str, result: BulkResult) -> str:
    """After a bulk action: one reply in the burst's thread, one refresh of the summary."""
    summary = result.summary(verb)
    if burst.message_ts and result.done:
        outbox.enqueue(
            ctx.session,
            key=Keys.BURST_BULK_REPLY.build(
                burst_id=burst.id, stamp=ctx.now.timestamp(), user=ctx.actor.user_id
            ),
            kind=DeliveryKind.THREAD_REPLY,
            channel=burst.channel,
            thread_ts=burst.message_ts,
            payload={"text": f"{mention_user(ctx.actor.user_id)} {summary}"},
        )
        enqueue_refresh(ctx.session, burst, result.done, ctx.now)
    return f"Done: {summary}."
