"""The outbox towards Slack: the one writer of delivery rows and of their idempotency keys.

Every post, update and thread reply is a row first. These functions only add rows
to the caller's session: they commit nothing, so the delivery is written in the
same transaction as the change that caused it. The delivery loop
(``bot/deliveries/loop.py``) sends them later, renders alert messages from the
alert's state at send time, and records what Slack answered.

Keys: every idempotency key is built by :class:`KeyFormat` from one of the formats
in :class:`Keys`. The Postgres fast path (``bot/pipeline/insert_pg.py``,
``seen_pg.py``) writes keys in SQL; it takes the SQL expression from the same
format (:meth:`KeyFormat.sql`), so both paths write identical keys.

Payload conventions (``Delivery.payload``):
- POST / UPDATE with ``alert_id``: empty; the message is rendered from the alert.
- POST of a burst summary: ``{"burst_alert_ids": [...], "search_id": N}`` (owned by
  ``bot/alerts/bursts.py``).
- THREAD_REPLY: ``{"text": mrkdwn}``; its parent is the alert's message, or the
  message of ``parent_delivery_id`` once that is sent.
- MESSAGE: ``{"text": ..., "blocks": [...]}`` ready to send.
- UPLOAD: ``{"filename", "title", "content_b64", "initial_comment"}``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Alert, Delivery, DeliveryKind, DeliveryStatus

_DELIVERIES = cast(Table, Delivery.__table__)
SEP = ":"


@dataclass(frozen=True)
class KeyFormat:
    """An idempotency key's shape: literal parts and ``{field}`` parts, joined by ``:``."""

    parts: tuple[str, ...]

    @property
    def fields(self) -> list[str]:
        return [p[1:-1] for p in self.parts if p.startswith("{")]

    def build(self, **values: object) -> str:
        if sorted(values) != sorted(self.fields):
            raise TypeError(f"key {self.parts} takes {self.fields}, got {sorted(values)}")
        return SEP.join(str(values[p[1:-1]]) if p.startswith("{") else p for p in self.parts)

    def sql(self, **expressions: str) -> str:
        """The same key as a Postgres text expression, from SQL expressions for the fields.

        For ``sqlalchemy.text()``: the literal colons are escaped (``\\:``) so that a part
        such as ``:burst`` is not taken for a bind parameter.
        """
        if sorted(expressions) != sorted(self.fields):
            raise TypeError(f"key {self.parts} takes {self.fields}")
        pieces: list[str] = []  # SQL expressions, and literal text still to be quoted
        literal = ""
        for i, part in enumerate(self.parts):
            literal += SEP if i else ""
            if not part.startswith("{"):
                literal += part
                continue
            if literal:
                pieces.append(_sql_literal(literal))
                literal = ""
            pieces.append(f"CAST({expressions[part[1:-1]]} AS text)")
        if literal:
            pieces.append(_sql_literal(literal))
        return "(" + " || ".join(pieces) + ")"


def _sql_literal(literal: str) -> str:
    return "'" + literal.replace("'", "''").replace(SEP, "\\" + SEP) + "'"


def _format(template: str) -> KeyFormat:
    parts = tuple(template.split(SEP))
    for part in parts:  # a field is the whole part: "{alert_id}", never "x{alert_id}"
        names = [name for _, name, _, _ in string.Formatter().parse(part) if name]
        assert not names or part == "{" + names[0] + "}", template
    return KeyFormat(parts)


class Keys:
    """Every idempotency key the bot writes. One line each; nowhere else builds a key."""

    ALERT_POST = _format("alert:{alert_id}:post:{reason}")
    ALERT_UPDATE = _format("alert:{alert_id}:update:{count}:{stamp}")
    ALERT_UPDATE_BY_RUN = _format("alert:{alert_id}:update:run:{run_id}")
    ALERT_RENOTIFY = _format("alert:{alert_id}:renotify:{n}")
    ALERT_EVENT_REPLY = _format("alert:{alert_id}:event:{event_id}")
    ALERT_ASSIGNED_DM = _format("alert:{alert_id}:assigned-dm:{event_id}")
    BURST_POST = _format("run:{run_id}:burst")
    BURST_LISTING = _format("burst:{burst_id}:list:{chunk}")
    BURST_BULK_REPLY = _format("burst:{burst_id}:bulk:{stamp}:{user}")
    BURST_UPDATE = _format("burst:{burst_id}:update:{stamp}")
    SEARCH_FAILING = _format("search:{search_id}:failing:{run_id}")
    SEARCH_RECOVERED = _format("search:{search_id}:recovered:{run_id}")
    SEARCH_WARNING = _format("search:{search_id}:warning:{version}")  # version: "v3"
    BACKFILL_SUMMARY = _format("backfill:{run_id}:summary:{skipped}")
    DIGEST_PART = _format("{digest}:{part}")  # part: post, details, chart
    RESEND = _format("{key}:resend:{n}")  # a given-up delivery sent again by an operator


@dataclass
class NewDelivery:
    """A row for :func:`add_many`: a plain insert, for keys no other writer can hold."""

    key: str
    kind: DeliveryKind
    channel: str
    alert_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def add_many(session: Session, rows: Sequence[NewDelivery], now: datetime) -> None:
    """Insert many deliveries in one statement (a run's posts and updates).

    Every key must name something created in the caller's transaction (a new alert,
    this run), so no other writer can hold it: no check-then-insert round trips.
    """
    if rows:
        session.connection().execute(insert(_DELIVERIES), [_row(r, now) for r in rows])


def _row(new: NewDelivery, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": new.key,
        "kind": new.kind,
        "status": DeliveryStatus.PENDING,
        "channel": new.channel,
        "alert_id": new.alert_id,
        "parent_delivery_id": None,
        "thread_ts": None,
        "payload": new.payload,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue(
    session: Session,
    *,
    key: str,
    kind: DeliveryKind,
    channel: str,
    payload: dict[str, Any] | None = None,
    alert_id: int | None = None,
    thread_ts: str | None = None,
    parent_delivery_id: int | None = None,
) -> Delivery:
    """Add a delivery unless one with ``key`` exists already; return the row either way."""
    existing = session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if existing is not None:
        return existing
    delivery = Delivery(
        idempotency_key=key,
        kind=kind,
        channel=channel,
        payload=payload or {},
        alert_id=alert_id,
        thread_ts=thread_ts,
        parent_delivery_id=parent_delivery_id,
    )
    try:
        with session.begin_nested():  # a concurrent writer may have won the same key
            session.add(delivery)
    except IntegrityError:
        found = session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
        assert found is not None
        return found
    return delivery


def enqueue_alert_post(
    session: Session, alert: Alert, channel: str, *, reason: str = "new"
) -> Delivery:
    """Post the alert's message; ``reason`` distinguishes a renotification from the first post."""
    session.flush()  # the alert needs its id for the key
    return enqueue(
        session,
        key=Keys.ALERT_POST.build(alert_id=alert.id, reason=reason),
        kind=DeliveryKind.POST,
        channel=channel,
        alert_id=alert.id,
    )


def enqueue_alert_update(session: Session, alert: Alert) -> Delivery | None:
    """Refresh the alert's message in place. Updates pending for it are folded into one."""
    if not alert.channel and not has_pending_post(session, alert):
        return None  # nothing posted and nothing to post: the post will show the new state
    session.flush()
    pending = session.scalar(
        select(Delivery).where(
            Delivery.alert_id == alert.id,
            Delivery.kind == DeliveryKind.UPDATE,
            Delivery.status == DeliveryStatus.PENDING,
        )
    )
    if pending is not None:
        return pending  # it renders the alert's state when sent, so it carries this change too
    count = session.scalar(
        select(Delivery.id).where(Delivery.alert_id == alert.id).order_by(Delivery.id.desc())
    )
    stamp = alert.updated_at.isoformat() if alert.updated_at else ""
    return enqueue(
        session,
        key=Keys.ALERT_UPDATE.build(alert_id=alert.id, count=count, stamp=stamp),
        kind=DeliveryKind.UPDATE,
        channel=alert.channel or "",
        alert_id=alert.id,
    )


def enqueue_thread_reply(session: Session, alert: Alert, text: str, *, key: str) -> Delivery:
    """A short reply in the alert's thread (who did what, when)."""
    session.flush()
    return enqueue(
        session,
        key=key,
        kind=DeliveryKind.THREAD_REPLY,
        channel=alert.channel or "",
        payload={"text": text},
        alert_id=alert.id,
        thread_ts=alert.message_ts,
    )


def has_pending_post(session: Session, alert: Alert) -> bool:
    """Whether the alert's first post is still waiting in the outbox (or being sent)."""
    return (
        session.scalar(
            select(Delivery.id).where(
                Delivery.alert_id == alert.id,
                Delivery.kind == DeliveryKind.POST,
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            )
        )
        is not None
    )
