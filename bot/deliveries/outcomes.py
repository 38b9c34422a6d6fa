"""What happened to a claimed delivery, written down: sent, retried later, or failed for good.

Every write checks that the row is still SENDING under this sender's claim token;
a sender whose lease ran out (and whose row another sender took over) records
nothing. Recording SENT and its effects (the alert's channel and ts, a burst's
thread listing) is one transaction.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import bursts
from bot.deliveries.sender import Plan, posted_ts, uploaded_file_id
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    utcnow,
)

log = logging.getLogger(__name__)

AMBIGUOUS = "ambiguous: "
POST_KINDS = (
    DeliveryKind.POST,
    DeliveryKind.THREAD_REPLY,
    DeliveryKind.MESSAGE,
    DeliveryKind.UPLOAD,
)


def is_ambiguous(row: Delivery) -> bool:
    """Whether Slack may have this post already (an attempt's outcome was never known)."""
    return (row.last_error or "").startswith(AMBIGUOUS)


class Outcomes:
    """Retries wait out any outage: capped exponential backoff until the delivery is older
    than ``give_up_after`` (counted from ``retry_since`` after an operator's re-send)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        base_backoff: float = 2.0,
        max_backoff: float = 300.0,
        give_up_after: float = 86400.0,
    ) -> None:
        self.sessions = sessions
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.give_up_after = timedelta(seconds=give_up_after)

    def horizon_passed(self, row: Delivery, now: datetime, grace: timedelta = timedelta(0)) -> bool:
        return now - (row.retry_since or row.created_at) >= self.give_up_after + grace

    @property
    def lookup_grace(self) -> timedelta:
        """How long past the horizon an ambiguous delivery may wait for its look-up to work."""
        return max(timedelta(seconds=3 * self.max_backoff), self.give_up_after / 10)

    def owned(self, session: Session, delivery_id: int, token: str) -> Delivery | None:
        row = session.scalar(
            select(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claimed_by == token)
            .with_for_update()
        )
        return row if row is not None and row.status == DeliveryStatus.SENDING else None

    def release(self, delivery_id: int, token: str, when: datetime, reason: str) -> None:
        """Back to PENDING without counting an attempt (deferred, paced or rate limited)."""
        with self.sessions.begin() as session:
            row = self.owned(session, delivery_id, token)
            if row is not None:
                self.put_back(row, when, reason)

    @staticmethod
    def put_back(row: Delivery, when: datetime, reason: str) -> None:
        """The claimed ``row`` (in the caller's transaction) back to PENDING until ``when``."""
        row.status = DeliveryStatus.PENDING
        row.claimed_by = None
        row.next_attempt_at = when
        if not is_ambiguous(row):
            row.last_error = reason

    def rate_limited(self, plan: Plan, delivery_id: int, token: str, retry_after: float) -> None:
        until = utcnow() + timedelta(seconds=retry_after)
        self.release(delivery_id, token, until, f"rate limited ({plan.lane}) for {retry_after:g}s")
        # Persist the wait on the lane's other rows, so every worker honours Retry-After.
        with self.sessions.begin() as session:
            query = update(Delivery).where(
                Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at < until
            )
            if plan.lane.startswith("post:"):
                query = query.where(Delivery.channel == plan.channel, Delivery.kind.in_(POST_KINDS))
            else:
                query = query.where(Delivery.kind == DeliveryKind.UPDATE)
            session.execute(
                query.values(next_attempt_at=until).execution_options(synchronize_session=False)
            )

    def _backoff(self, attempts: int) -> float:
        delay = min(self.max_backoff, self.base_backoff * (2 ** max(0, attempts - 1)))
        return float(delay * random.uniform(0.8, 1.2))

    def retry(
        self, delivery_id: int, token: str, now: datetime, error: str, *, ambiguous: bool = False
    ) -> None:
        """Try again later. Once an attempt's outcome was unknown the row stays ambiguous
        (looked up by its key before every later send) until it is recorded."""
        with self.sessions.begin() as session:
            row = self.owned(session, delivery_id, token)
            if row is not None:
                self.retry_row(session, row, now, error, ambiguous=ambiguous)

    def retry_row(
        self, session: Session, row: Delivery, now: datetime, error: str, *, ambiguous: bool
    ) -> None:
        """:meth:`retry` of the claimed ``row``, in the caller's transaction."""
        row.attempts += 1
        row.attempted_at = utcnow()
        sticky = ambiguous or is_ambiguous(row)
        row.last_error = ((AMBIGUOUS if sticky else "") + error)[:2000]
        # An ambiguous row past the horizon is only looked up (see loop._send): recorded
        # if Slack has it, given up if not, and given up if even the look-up keeps failing.
        grace = self.lookup_grace if sticky else timedelta(0)
        if self.horizon_passed(row, now, grace):
            self.give_up(session, row, self._gave_up(row, error))
            return
        row.status = DeliveryStatus.PENDING
        row.claimed_by = None
        row.next_attempt_at = utcnow() + timedelta(seconds=self._backoff(row.attempts))

    def _gave_up(self, row: Delivery, error: str) -> str:
        started = row.retry_since or row.created_at
        hours = (utcnow() - started).total_seconds() / 3600
        return f"gave up after {row.attempts} attempts in {hours:.1f}h: {error}"

    def give_up_unsent(self, delivery_id: int, token: str) -> None:
        """Past the horizon, and the look-up found no earlier post: given up for good."""
        with self.sessions.begin() as session:
            row = self.owned(session, delivery_id, token)
            if row is not None:
                error = (row.last_error or "").removeprefix(AMBIGUOUS)
                self.give_up(session, row, self._gave_up(row, error))

    def fail(self, delivery_id: int, token: str, error: str) -> None:
        with self.sessions.begin() as session:
            row = self.owned(session, delivery_id, token)
            if row is not None:
                self.give_up(session, row, error)

    def give_up(self, session: Session, row: Delivery, error: str) -> None:
        log.warning(
            "delivery %s (%s) given up: %s; `411 deliveries resend` sends it again",
            row.id,
            row.kind.value,
            error,
        )
        row.status = DeliveryStatus.FAILED
        row.last_error = error[:2000]
        row.claimed_by = None
        if row.alert_id is not None:
            alert = session.get(Alert, row.alert_id)
            if alert is not None:
                alert.delivery_failed = True
                detail = {"delivery_id": row.id, "kind": row.kind.value, "error": error[:500]}
                session.add(
                    AlertEvent(alert_id=alert.id, action=AlertAction.DELIVERY_FAILED, detail=detail)
                )

    def record(self, claimed: Delivery, token: str, plan: Plan, response: dict[str, Any]) -> None:
        """SENT, the message ts, and its effects: one transaction.

        ``claimed`` is the row as this sender claimed it (detached). The UPDATE is
        conditional on the claim, so it needs no locking read first.
        """
        ts = posted_ts(response)
        channel = str(response.get("channel") or plan.channel)
        params = {"r_id": claimed.id, "r_token": token, "r_at": utcnow(), "r_ts": ts}
        statement = _RECORD_SENT
        if claimed.kind == DeliveryKind.UPLOAD:
            # What an image block names (slack_file); an unshared upload has no ts.
            params["r_payload"] = {**claimed.payload, "file_id": uploaded_file_id(response)}
            statement = _RECORD_UPLOADED
        with self.sessions.begin() as session:
            written = session.connection().execute(statement, params)
            if written.rowcount != 1:
                log.warning("delivery %s lost its claim while sending; not recording", claimed.id)
                return
            if claimed.kind == DeliveryKind.POST and ts:
                if bursts.is_summary(claimed):
                    bursts.record_posted(session, claimed, channel, ts)
                elif claimed.alert_id is not None:
                    _record_alert_post(session, claimed, channel, ts)


def _record_alert_post(session: Session, row: Delivery, channel: str, ts: str) -> None:
    """The alert points at its message; its history says it was notified."""
    pointed = session.connection().execute(
        _POINT_ALERT, {"p_id": row.alert_id, "p_channel": channel, "p_ts": ts, "p_at": utcnow()}
    )
    if pointed.rowcount == 1:
        detail = {"delivery_id": row.id, "channel": channel, "ts": ts}
        session.connection().execute(_NOTIFIED, {"alert_id": row.alert_id, "detail": detail})


# Built once (bound per send): nothing is built nor compiled per post.
_RECORD_SENT = (
    update(Delivery)
    .where(
        Delivery.id == bindparam("r_id"),
        Delivery.claimed_by == bindparam("r_token"),
        Delivery.status == DeliveryStatus.SENDING,
    )
    .values(
        status=DeliveryStatus.SENT,
        claimed_by=None,
        sent_at=bindparam("r_at"),
        message_ts=bindparam("r_ts"),
    )
)
_RECORD_UPLOADED = _RECORD_SENT.values(payload=bindparam("r_payload"))
_NOTIFIED = insert(AlertEvent).values(action=AlertAction.NOTIFIED)
_POINT_ALERT = (
    update(Alert)
    .where(Alert.id == bindparam("p_id"))
    .values(
        channel=bindparam("p_channel"),
        message_ts=bindparam("p_ts"),
        last_notified_at=bindparam("p_at"),
    )
)
