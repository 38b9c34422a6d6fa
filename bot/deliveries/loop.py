"""The delivery loop: sends the outbox to Slack exactly once, in order, within rate limits.

A delivery is claimed with a conditional UPDATE (``status pending -> sending``,
``FOR UPDATE SKIP LOCKED`` on Postgres so several workers share the work) and its
message rendered in the same transaction, sent with no transaction open, and
recorded as SENT together with its effects (the alert's channel and ts) in one
transaction. ``next_attempt_at`` of a SENDING row
is its lease. A row SENDING under a worker whose heartbeat stopped (or whose
process on this host is gone) returns to PENDING marked *ambiguous* within seconds
(``bot/heartbeat.py``); the lease is the fallback for anything else. Before an
ambiguous post is retried, the channel is searched for the delivery's key
(``sender.scan_posted``) so a post Slack accepted just before a crash or a timeout
is recorded, not repeated. Any attempt whose outcome is unknown (a timeout, a lost
connection, an HTTP 5xx) makes the row ambiguous until it is recorded.

Rate limits: about one post per second per channel (a small token bucket), and an
HTTP 429 blocks its own lane (one channel for posts, the method for updates)
for ``Retry-After`` seconds, persisted on the waiting rows so other workers
honour it too; two channels refused in a row pause every post of this loop
(Slack's workspace-wide limit, see lanes.py). Errors back off exponentially up to ``max_backoff`` and are retried
until the delivery is older than ``give_up_after`` (a day by default): a Slack
outage of hours loses nothing. Only then does it FAIL, its alert records it
(AlertEvent DELIVERY_FAILED), ``411 status`` lists it and ``411 deliveries resend``
sends it again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.alerts import bursts
from bot.background import BackgroundLoop
from bot.deliveries import sender
from bot.deliveries.lanes import Lanes
from bot.deliveries.outcomes import AMBIGUOUS, POST_KINDS, Outcomes, is_ambiguous
from bot.heartbeat import Heartbeat, Liveness, worker_name
from bot.logs import FailureLog
from bot.metrics import RECLAIMED, CountingWebClient
from bot.models import (
    Alert,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    utcnow,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Slack errors that no retry can fix.
PERMANENT_ERRORS = frozenset(
    [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "restricted_action",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "user_not_found",
        "thread_not_found",
        "file_not_found",
        "channel_is_archived",
        "cannot_reply_to_message",
        "not_allowed_token_type",
    ]
)
RECOVER_EVERY = timedelta(seconds=5)  # how often expired leases are looked for
TAKEBACK_GRACE = timedelta(seconds=5)  # a dead worker's send may still land meanwhile
LOOK_AGAIN_AFTER = timedelta(seconds=30)  # a look at a channel is reused at most this long
LOOK_FURTHER_BACK = 600.0  # seconds a look reaches back past the delivery that asked for it
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})


LOOKUP_LANE = "conversations.history"  # the look-ups for earlier posts, limited workspace-wide


class RateLimited(Exception):
    def __init__(self, retry_after: float, lane: str | None = None) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after
        self.lane = lane  # None: the plan's own lane


# Built once (bound per claim): the row to claim, locked (Postgres), and the claim itself.
_PENDING_ROW = (
    select(Delivery)
    .where(Delivery.id == bindparam("c_id"), Delivery.status == bindparam("c_pending"))
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(Delivery)
    .where(Delivery.id == bindparam("c_id"), Delivery.status == bindparam("c_pending"))
    .values(
        status=bindparam("c_sending"),
        claimed_by=bindparam("c_token"),
        next_attempt_at=bindparam("c_until"),
    )
)


@dataclass
class Claim:
    """A delivery claimed under ``token``, its send planned in the same transaction."""

    token: str
    delivery: Delivery  # detached: the row as claimed
    plan: sender.Plan
    ambiguous: bool  # an earlier attempt's outcome is unknown: look before sending
    expired: bool  # past its horizon: only looked up, never sent


class DeliveryLoop(BackgroundLoop):
    thread_name = "delivery-loop"

    def __init__(
        self,
        runtime: Runtime,
        client: WebClient | None = None,
        *,
        batch: int = 100,
        lease_seconds: float = 120.0,
        base_backoff: float | None = None,
        max_backoff: float | None = None,
        give_up_after: float | None = None,
        posts_per_second: float = 1.0,
        post_burst: int = 3,
        poll_interval: float = 0.5,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        # No automatic retries inside the client: a silent retry after a lost response
        # could post twice. The loop retries, after checking what Slack already has.
        self.client = client or CountingWebClient(
            token=runtime.settings.slack_bot_token,
            base_url=runtime.settings.slack_api_url,
            timeout=30,
            retry_handlers=[],
        )
        settings = runtime.settings
        self.worker_id = worker_name("deliveries")
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.outcomes = Outcomes(
            runtime.sessions,
            base_backoff=settings.delivery_base_backoff if base_backoff is None else base_backoff,
            max_backoff=settings.delivery_max_backoff if max_backoff is None else max_backoff,
            give_up_after=(
                settings.delivery_give_up_after if give_up_after is None else give_up_after
            ),
        )
        self.heartbeat = Heartbeat(runtime, self.worker_id, "deliveries", on_beat=[self.take_back])
        self._beating = False
        self._in_doubt: dict[int, str] = {}  # delivery id -> our claim token
        # The last look at each channel (or thread) for earlier posts: when, and what it found.
        self._looked: dict[tuple[str, str | None], tuple[datetime, sender.Posted]] = {}
        self.database_failures = FailureLog(log, "delivery loop (database)")
        self.slack_failures = FailureLog(log, "Slack deliveries")
        self.lanes = Lanes(posts_per_second, post_burst)
        self.poll_interval = poll_interval
        self._recovered_at: datetime | None = None  # the last look for expired leases

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        self.heartbeat.start()
        self._beating = True
        self.take_back(Liveness(frozenset()))  # a previous process's sends, at once
        super().start()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._beating:
            self.heartbeat.stop()
            self._beating = False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
                self.database_failures.cleared()
            except Exception as exc:  # the loop must outlive a database outage
                self.database_failures.failed(exc)
                done = 0
            self.database_failures.tick()
            self.slack_failures.tick()
            self._stop.wait(0.02 if done else self.poll_interval)

    def take_back(self, liveness: Liveness) -> int:
        """SENDING rows of a worker that died: back to PENDING, ambiguous (Slack may have them)."""
        with self.runtime.sessions() as session:
            sending = session.execute(
                select(Delivery.id, Delivery.claimed_by).where(
                    Delivery.status == DeliveryStatus.SENDING
                )
            ).all()
        dead = [
            delivery_id
            for delivery_id, token in sending
            if token and liveness.dead(token.rsplit(":", 1)[0])
        ]
        if not dead:
            return 0
        # Slack may still be handling the dead worker's request: look a little later.
        later = utcnow() + TAKEBACK_GRACE
        with self.runtime.sessions.begin() as session:
            taken = session.execute(
                update(Delivery)
                .where(Delivery.id.in_(dead), Delivery.status == DeliveryStatus.SENDING)
                .values(
                    status=DeliveryStatus.PENDING,
                    claimed_by=None,
                    next_attempt_at=later,
                    attempted_at=later,
                    last_error=AMBIGUOUS + "its worker stopped before recording the outcome",
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        if taken:
            RECLAIMED.labels("delivery").inc(taken)
            log.warning("took back %d deliveries from a worker that stopped", taken)
        return int(taken)

    def _fenced(self) -> bool:
        """Whether this loop's own heartbeat is too old to trust its claims (see heartbeat.py)."""
        return self._beating and self.heartbeat.stale

    def run_once(self, now: datetime | None = None) -> int:
        """Send what is due; return how many deliveries reached an end state or moved on."""
        now = now or utcnow()
        self._return_in_doubt(now)
        self._recover_stale(now)
        if self._fenced():  # others may be taking our claims back: send nothing now
            return 0
        handled = 0
        for delivery_id, channel, kind in self._due(now):
            if (
                kind in POST_KINDS
                and channel
                and not self.lanes.ready(f"post:{channel}", take=False)
            ):
                continue
            if kind == DeliveryKind.UPDATE and not self.lanes.ready("chat.update", take=False):
                continue
            claim = self._claim(delivery_id, kind, now)
            if not isinstance(claim, Claim):
                handled += claim  # ended for good while planning (1), or waits (0)
                continue
            try:
                handled += self._process(claim, now)
            except SQLAlchemyError:
                # The database went away mid-delivery: the row stays SENDING under our
                # claim, and we are alive, so nobody else takes it back. We do, later.
                self._in_doubt[delivery_id] = claim.token
                raise
        return handled

    def _return_in_doubt(self, now: datetime) -> None:
        """Our claims whose outcome we could not record: back to PENDING, ambiguous."""
        for delivery_id, token in list(self._in_doubt.items()):
            with self.runtime.sessions.begin() as session:
                session.execute(
                    update(Delivery)
                    .where(
                        Delivery.id == delivery_id,
                        Delivery.claimed_by == token,
                        Delivery.status == DeliveryStatus.SENDING,
                    )
                    .values(
                        status=DeliveryStatus.PENDING,
                        claimed_by=None,
                        next_attempt_at=now,
                        attempted_at=now,
                        last_error=AMBIGUOUS
                        + "the database went away before the outcome was recorded",
                    )
                )
            del self._in_doubt[delivery_id]

    # ----------------------------------------------------------------- claiming

    def _due(self, now: datetime) -> list[tuple[int, str, DeliveryKind]]:
        with self.runtime.sessions() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.channel, Delivery.kind)
                .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
                .order_by(Delivery.id)
                .limit(self.batch)
            ).all()
        return [(r[0], r[1], r[2]) for r in rows]

    def _recover_stale(self, now: datetime) -> None:
        """SENDING rows whose lease ran out: their process died mid-send.

        Looked for every few seconds, not on every pass: a lease lasts minutes, and a
        busy loop passes many times a second."""
        if self._recovered_at is not None and now - self._recovered_at < RECOVER_EVERY:
            return
        self._recovered_at = now
        with self.runtime.sessions.begin() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.SENDING, Delivery.next_attempt_at < now)
                .values(
                    status=DeliveryStatus.PENDING,
                    claimed_by=None,
                    last_error=AMBIGUOUS + "the sender stopped before recording the outcome",
                )
            )

    def _claim(self, delivery_id: int, kind: DeliveryKind, now: datetime) -> Claim | int:
        """Claim the delivery and plan its send, in one transaction.

        The plan renders the alert's state as of the claim. When there is nothing to
        send: 1 if the delivery ended for good while planning, 0 if it waits (another
        sender has it, or its plan is deferred).
        """
        token = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
        lease_until = now + self.lease
        ids = {"c_id": delivery_id, "c_pending": DeliveryStatus.PENDING}
        with self.runtime.sessions.begin() as session:
            row = session.scalar(_PENDING_ROW, ids)
            if row is None:
                return 0
            claim = {"c_sending": DeliveryStatus.SENDING, "c_token": token, "c_until": lease_until}
            claimed = session.connection().execute(_CLAIM, {**ids, **claim})
            if claimed.rowcount != 1:
                return 0
            # The row object takes what the claim wrote, so a change below is written in full.
            set_committed_value(row, "status", DeliveryStatus.SENDING)
            set_committed_value(row, "claimed_by", token)
            set_committed_value(row, "next_attempt_at", lease_until)
            if kind == DeliveryKind.UPDATE:
                self._fold_updates(session, row)
            planned = self._plan(session, row, now)
            if planned is None:
                return 1 if row.status == DeliveryStatus.FAILED else 0
            session.flush()
            session.expunge(row)
        return Claim(
            token,
            row,
            planned,
            ambiguous=is_ambiguous(row),
            expired=self.outcomes.horizon_passed(row, now),
        )

    def _plan(self, session: Session, row: Delivery, now: datetime) -> sender.Plan | None:
        """The calls that send ``row``; None when it waits or failed (written on ``row``)."""
        try:
            return sender.prepare(session, row, now)
        except sender.Defer as exc:
            self.outcomes.put_back(row, now + timedelta(seconds=exc.seconds), str(exc))
        except (sender.Permanent, ValueError) as exc:
            self.outcomes.give_up(session, row, str(exc))
        except SQLAlchemyError:
            raise  # the claim is rolled back with it: the row is still PENDING
        except Exception as exc:  # a row that cannot be rendered must not stall the others
            log.exception("delivery %s: cannot plan its send", row.id)
            error = f"cannot plan the send: {type(exc).__name__}: {exc}"
            self.outcomes.retry_row(session, row, now, error, ambiguous=False)
        return None

    def _fold_updates(self, session: Session, row: Delivery) -> None:
        """Other pending updates of the same message are covered by this one (rendered later)."""
        query = update(Delivery).where(
            Delivery.kind == DeliveryKind.UPDATE,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.id != row.id,
        )
        alert = session.get(Alert, row.alert_id) if row.alert_id is not None else None
        if alert is not None and alert.message_ts is None and alert.burst_ts:
            # Alerts listed under one burst share its summary: one update refreshes them all.
            siblings = bursts.members_of_message(alert.channel, alert.burst_ts)
            folded = session.scalars(
                select(Delivery.alert_id).where(
                    Delivery.kind == DeliveryKind.UPDATE,
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.alert_id.in_(siblings),
                )
            ).all()
            row.payload = {
                **row.payload,
                "alert_ids": sorted({a for a in folded if a} | {alert.id}),
            }
            query = query.where(Delivery.alert_id.in_(siblings))
        elif row.alert_id is not None:
            query = query.where(Delivery.alert_id == row.alert_id)
        else:
            query = query.where(
                Delivery.alert_id.is_(None),
                Delivery.channel == row.channel,
                Delivery.thread_ts == row.thread_ts,
            )
        session.execute(
            query.values(
                status=DeliveryStatus.SUPERSEDED, last_error=f"folded into delivery {row.id}"
            ).execution_options(synchronize_session=False)
        )

    # ---------------------------------------------------------------- sending

    def _process(self, claim: Claim, now: datetime) -> int:
        delivery, token, plan = claim.delivery, claim.token, claim.plan
        delivery_id = delivery.id
        if not self.lanes.ready(plan.lane, take=True):
            self.outcomes.release(
                delivery_id, token, now + timedelta(seconds=self.lanes.wait(plan.lane)), "paced"
            )
            return 0
        try:
            response = self._send(
                plan, delivery, claim.ambiguous, look_only=claim.expired and claim.ambiguous
            )
        except RateLimited as exc:
            if exc.lane is not None:  # the look-up was limited, not the post: only this row waits
                self.lanes.block(exc.lane, exc.retry_after)
                until = now + timedelta(seconds=exc.retry_after)
                self.outcomes.release(
                    delivery_id, token, until, "waiting to look for an earlier post"
                )
                return 0
            self.lanes.block(plan.lane, exc.retry_after)
            self.outcomes.rate_limited(plan, delivery_id, token, exc.retry_after)
            return 0
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in PERMANENT_ERRORS:
                self.outcomes.fail(delivery_id, token, f"Slack refused it: {error}")
                return 1
            self.slack_failures.failed(f"Slack error: {error}")
            # An HTTP 5xx may come after Slack did the work: the outcome is unknown.
            unknown = exc.response.status_code >= 500
            self.outcomes.retry(delivery_id, token, now, f"Slack error: {error}", ambiguous=unknown)
            return 0
        except Exception as exc:  # network: Slack may or may not have accepted it
            error = f"{type(exc).__name__}: {exc}"
            self.slack_failures.failed(error)
            self.outcomes.retry(delivery_id, token, now, error, ambiguous=True)
            return 0
        if response is None:  # past the horizon and Slack does not have it
            self.outcomes.give_up_unsent(delivery_id, token)
            return 1
        self.slack_failures.cleared()
        self.outcomes.record(delivery, token, plan, response)
        return 1

    def _send(
        self, plan: sender.Plan, delivery: Delivery, ambiguous: bool, *, look_only: bool = False
    ) -> dict[str, Any] | None:
        """Send the plan's calls, after looking for an earlier post if one may exist.

        ``look_only`` (the delivery is past its horizon): only the look-up; None if
        Slack does not have the post.
        """
        first = plan.calls[0]
        if ambiguous and first.method != "chat.update":
            found = self._guard(lambda: self._find_posted(plan, delivery), lane=LOOKUP_LANE)
            if found is not None:
                log.info("delivery %s was posted before (ts %s): recording it", delivery.id, found)
                return {"ts": found, "channel": plan.channel, "recovered": True}
        if look_only:
            return None
        result: dict[str, Any] = {}
        for i, call in enumerate(plan.calls):
            try:
                response = self._guard(lambda call=call: sender.execute(self.client, call))
            except SlackApiError as exc:
                if call.fallback is None or exc.response.get("error") not in BLOCK_ERRORS:
                    raise
                log.warning(
                    "delivery %s: Slack refused the blocks; sending the minimal form", delivery.id
                )
                response = self._guard(
                    lambda call=call: sender.execute(
                        self.client, sender.Call(call.method, call.fallback or {})
                    )
                )
            if i == 0:
                result = response
        return result

    def _find_posted(self, plan: sender.Plan, delivery: Delivery) -> str | None:
        """Look for an earlier post of ``delivery``; one look at a channel answers for every
        delivery that became due before it (after an outage, hundreds at once)."""
        where = (plan.channel, plan.thread_ts)
        seen = self._looked.get(where)
        fresh = (
            seen is not None
            # looked after its last attempt ended
            and delivery.attempted_at is not None
            and seen[0] >= delivery.attempted_at
            and seen[1].oldest <= sender.lookup_oldest(delivery)
            and utcnow() - seen[0] < LOOK_AGAIN_AFTER
        )
        if not fresh:
            if not self.lanes.ready(LOOKUP_LANE, take=True):
                raise RateLimited(self.lanes.wait(LOOKUP_LANE), LOOKUP_LANE)
            looked_at = utcnow()
            try:
                # Further back than this delivery needs, so the look also answers for the
                # channel's deliveries created a little earlier.
                oldest = sender.lookup_oldest(delivery) - LOOK_FURTHER_BACK
                posted = sender.scan_posted(self.client, plan, oldest)
            except SlackApiError as exc:
                if exc.response.status_code == 429 or exc.response.status_code >= 500:
                    raise  # Slack is busy or down: look again on the next attempt
                # No history access (a missing scope, say): a possible double post beats a loss.
                log.warning("delivery %s: cannot check for an earlier post: %s", delivery.id, exc)
                return None
            self._looked[where] = (looked_at, posted)
            seen = self._looked[where]
        assert seen is not None
        return seen[1].find(plan, delivery)

    def _guard(self, fn: Any, lane: str | None = None) -> Any:
        """Turn HTTP 429 into RateLimited with its Retry-After (and the lane it limits)."""
        try:
            return fn()
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.get("error") == "ratelimited":
                raw = (
                    exc.response.headers.get("Retry-After")
                    or exc.response.headers.get("retry-after")
                    or "1"
                )
                try:
                    seconds = max(1.0, float(raw))
                except ValueError:
                    seconds = 1.0
                raise RateLimited(seconds, lane) from None
            raise
