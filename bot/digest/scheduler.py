"""Post each subscribed channel's digest exactly once per period.

Exactly once, with any number of workers and across restarts, comes from the
database: a digest is claimed by inserting its ``DigestPost`` row (unique on channel,
period and period start) in the same transaction that enqueues its deliveries. Two
workers racing on one period both compute the figures (read-only), but only one
insert commits; the other gets an IntegrityError and posts nothing. The deliveries'
idempotency keys are derived from the same period, a second guard.

The claim transaction starts with the INSERT, before any read: on SQLite a
transaction that read first and then tries to write after another writer committed
fails with "database is locked" instead of waiting for the lock.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.alerts.permissions import Directory, SlackDirectory
from bot.alerts.visibility import channel_search_ids
from bot.background import BackgroundLoop
from bot.digest.compose import build_digest, enqueue_digest
from bot.digest.periods import DuePeriod, due_periods
from bot.errors import BotError
from bot.models import DigestPost, DigestSubscription, utcnow
from bot.runtime import Runtime
from bot.text.links import permalink_base

log = logging.getLogger(__name__)


class DigestScheduler(BackgroundLoop):
    thread_name = "digest-scheduler"

    def __init__(
        self, runtime: Runtime, *, interval: float = 30.0, directory: Directory | None = None
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.interval = interval
        self.link_base = permalink_base(runtime.settings.slack_api_url)
        # Who reads each digest channel decides what it may count; without a token (tests,
        # a bot with no Slack yet) only the searches posting to the channel itself count.
        if directory is None and runtime.settings.slack_bot_token:
            directory = SlackDirectory(runtime.slack_client())
        self.directory = directory

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(utcnow())
            except Exception:  # a database hiccup must not end the schedule
                log.exception("digest scheduler iteration failed")
            self._stop.wait(self.interval)

    def run_once(self, now: datetime) -> int:
        """Enqueue every digest due at ``now`` and not yet claimed; return how many."""
        posted = 0
        for due in self._due(now):
            try:
                posted += self._post(due, now)
            except Exception:  # one channel's failure must not starve the others
                log.exception("digest for %s (%s) failed", due.channel, due.period.value)
        return posted

    def _due(self, now: datetime) -> list[DuePeriod]:
        due: list[DuePeriod] = []
        with self.runtime.sessions() as session:
            for sub in session.scalars(select(DigestSubscription)).all():
                try:
                    due += due_periods(sub, now)
                except BotError as exc:  # a bad row (edited by hand) must not stop the others
                    log.warning("digest subscription of %s is unusable: %s", sub.channel, exc)
            return [p for p in due if not _claimed(session, p)]

    def _post(self, due: DuePeriod, now: datetime) -> int:
        with self.runtime.sessions() as session:
            digest = build_digest(
                session,
                period=due.period,
                start=due.start,
                end=due.end,
                tz=due.tz,
                now=now,
                link_base=self.link_base,
                scope=channel_search_ids(
                    session, due.channel, self.runtime.settings, self.directory
                ),
            )
        with self.runtime.sessions() as session:
            try:
                session.add(
                    DigestPost(
                        channel=due.channel,
                        period=due.period,
                        period_start=due.start,
                        period_end=due.end,
                    )
                )
                session.flush()  # the claim: first statement of the transaction
                enqueue_digest(session, digest, due.channel, due.key)
                session.commit()
            except IntegrityError:
                session.rollback()
                log.info("digest %s was claimed by another worker", due.key)
                return 0
            except OperationalError as exc:
                session.rollback()
                if "locked" not in str(exc):
                    raise
                log.info("digest %s: database busy, retrying next round", due.key)
                return 0
        log.info("digest %s enqueued", due.key)
        return 1


def _claimed(session: Session, due: DuePeriod) -> bool:
    found = session.scalar(
        select(DigestPost.id).where(
            DigestPost.channel == due.channel,
            DigestPost.period == due.period,
            DigestPost.period_start == due.start,
        )
    )
    return found is not None
