"""The digest schedule: one digest per channel and period, whatever the workers and restarts."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import make_engine
from bot.digest.periods import latest_due
from bot.digest.scheduler import DigestScheduler
from bot.models import Delivery, DeliveryKind, DigestPeriod, DigestPost, DigestSubscription
from bot.runtime import Runtime
from tests.digest.conftest import NOW, build_world
from tests.digest.test_chart import png_size

CHANNEL = "C_DIGEST"
UPLOAD_KEYS = {"filename", "title", "content_b64", "share"}


def subscribe(
    session: Session,
    *,
    at: str = "09:00",
    tz: str = "UTC",
    weekly: bool = False,
    since: datetime = NOW - timedelta(days=30),
) -> DigestSubscription:
    sub = DigestSubscription(
        channel=CHANNEL, time_of_day=at, timezone=tz, weekly=weekly, created_at=since
    )
    session.add(sub)
    session.commit()
    return sub


def posts(session: Session) -> list[DigestPost]:
    session.expire_all()
    return list(session.scalars(select(DigestPost).order_by(DigestPost.period, DigestPost.id)))


def deliveries(session: Session, kind: DeliveryKind | None = None) -> list[Delivery]:
    session.expire_all()
    query = select(Delivery).order_by(Delivery.id)
    if kind is not None:
        query = query.where(Delivery.kind == kind)
    return list(session.scalars(query))


@pytest.fixture
def other_runtimes(db_url: str) -> Iterator[Callable[[], Runtime]]:
    """More processes' worth of runtimes: each has its own engine and connections."""
    made: list[Runtime] = []

    def make() -> Runtime:
        runtime = Runtime(settings=Settings(database_url=db_url), engine=make_engine(db_url))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.engine.dispose()


def test_it_posts_the_digest_with_its_chart_in_the_post_and_its_details_in_the_thread(
    session: Session, runtime: Runtime
) -> None:
    build_world(session)
    subscribe(session)
    assert DigestScheduler(runtime).run_once(NOW + timedelta(minutes=1)) == 1

    [claim] = posts(session)
    assert (claim.channel, claim.period) == (CHANNEL, DigestPeriod.DAILY)
    assert (claim.period_start, claim.period_end) == (NOW - timedelta(days=1), NOW)
    chart, post, details = deliveries(session)
    assert (post.kind, post.channel) == (DeliveryKind.MESSAGE, CHANNEL)
    # The post waits for the chart's upload and shows it in an image block.
    assert post.parent_delivery_id == chart.id and post.payload["image"]["at"] == 3
    # The restricted search's open alert (b3) is not for everyone in #digest: not counted.
    assert "5 new, 5 resolved, 3 still open" in post.payload["text"]
    assert post.payload["blocks"][0]["type"] == "header"
    assert (details.kind, details.parent_delivery_id) == (DeliveryKind.THREAD_REPLY, post.id)
    assert "Noisiest searches" in details.payload["text"]
    assert (chart.kind, chart.parent_delivery_id, chart.channel) == (
        DeliveryKind.UPLOAD,
        None,
        CHANNEL,
    )
    assert set(chart.payload) == UPLOAD_KEYS and chart.payload["share"] is False
    assert png_size(base64.b64decode(chart.payload["content_b64"])) == (1200, 700)


def test_it_does_not_post_again_on_the_next_round_or_after_a_restart(
    session: Session, runtime: Runtime, other_runtimes: Callable[[], Runtime]
) -> None:
    subscribe(session)
    scheduler = DigestScheduler(runtime)
    assert scheduler.run_once(NOW + timedelta(minutes=1)) == 1
    assert scheduler.run_once(NOW + timedelta(minutes=2)) == 0
    restarted = DigestScheduler(other_runtimes())  # a new process after a restart
    assert restarted.run_once(NOW + timedelta(hours=3)) == 0
    assert len(posts(session)) == 1
    assert len(deliveries(session)) == 1  # a quiet day: the top message only


def test_it_posts_a_digest_missed_during_downtime_once_and_skips_older_ones(
    session: Session, runtime: Runtime
) -> None:
    subscribe(session)
    scheduler = DigestScheduler(runtime)
    # Down from before the 09:00 slot until 14:00, three days later: only the latest counts.
    assert scheduler.run_once(NOW + timedelta(days=2, hours=5)) == 1
    assert scheduler.run_once(NOW + timedelta(days=2, hours=6)) == 0
    [claim] = posts(session)
    assert claim.period_end == NOW + timedelta(days=2)


def test_it_says_quiet_day_when_nothing_happened(session: Session, runtime: Runtime) -> None:
    subscribe(session)
    DigestScheduler(runtime).run_once(NOW + timedelta(minutes=1))
    [post] = deliveries(session)
    assert "quiet day" in post.payload["text"]
    assert "Quiet day" in post.payload["blocks"][1]["text"]["text"]


def test_it_waits_for_the_first_slot_after_subscribing(session: Session, runtime: Runtime) -> None:
    subscribe(session, since=NOW - timedelta(hours=2))  # at 07:00, the 09:00 slot comes next
    scheduler = DigestScheduler(runtime)
    assert scheduler.run_once(NOW - timedelta(minutes=1)) == 0
    assert scheduler.run_once(NOW) == 1


def test_it_adds_a_weekly_summary_on_mondays(session: Session, runtime: Runtime) -> None:
    subscribe(session, weekly=True)
    scheduler = DigestScheduler(runtime)
    assert scheduler.run_once(NOW + timedelta(minutes=1)) == 2  # NOW is a Monday
    assert scheduler.run_once(NOW + timedelta(days=1, minutes=1)) == 1  # Tuesday: daily only
    weekly = [p for p in posts(session) if p.period == DigestPeriod.WEEKLY]
    assert [(p.period_start, p.period_end) for p in weekly] == [(NOW - timedelta(days=7), NOW)]
    assert len(posts(session)) == 3


def test_it_follows_the_subscribers_time_zone(session: Session) -> None:
    sub = subscribe(session, at="09:00", tz="America/New_York")
    due = latest_due(sub, NOW, DigestPeriod.DAILY)  # 04:00 in New York
    assert due is not None
    assert due.end == datetime(2026, 11, 29, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert due.start == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def test_it_gives_a_day_across_a_dst_change_its_real_length(session: Session) -> None:
    sub = subscribe(session, at="09:00", tz="Europe/Paris", since=datetime(2026, 1, 1, tzinfo=UTC))
    due = latest_due(sub, datetime(2026, 10, 25, 9, 0, tzinfo=UTC), DigestPeriod.DAILY)
    assert due is not None  # 09:00 CET on Sunday 25 October is 08:00 UTC
    assert (due.start, due.end) == (
        datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
    )


def test_two_schedulers_racing_on_one_period_post_one_digest(
    session: Session, other_runtimes: Callable[[], Runtime]
) -> None:
    build_world(session)
    subscribe(session)
    schedulers = [DigestScheduler(other_runtimes()) for _ in range(2)]
    now = NOW + timedelta(minutes=1)
    due = schedulers[0]._due(now)
    assert len(due) == 1
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def claim(scheduler: DigestScheduler) -> None:
        try:
            barrier.wait(10)
            results.append(scheduler._post(due[0], now))  # both past the "already posted?" check
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert len(posts(session)) == 1
    assert len(deliveries(session, DeliveryKind.MESSAGE)) == 1
    assert len(deliveries(session)) == 3


def test_many_workers_running_rounds_at_once_post_one_digest(
    session: Session, other_runtimes: Callable[[], Runtime]
) -> None:
    subscribe(session, weekly=True)
    schedulers = [DigestScheduler(other_runtimes()) for _ in range(4)]
    barrier = threading.Barrier(len(schedulers))
    results: list[int] = []

    def round_(scheduler: DigestScheduler) -> None:
        barrier.wait(10)
        results.append(scheduler.run_once(NOW + timedelta(minutes=1)))

    threads = [threading.Thread(target=round_, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 2  # the daily and the weekly digest, once each
    assert session.scalar(select(func.count()).select_from(DigestPost)) == 2
    assert len(deliveries(session, DeliveryKind.MESSAGE)) == 2


def test_it_runs_in_the_background_until_stopped(session: Session, runtime: Runtime) -> None:
    subscribe(session, since=datetime.now(UTC) - timedelta(days=3))
    scheduler = DigestScheduler(runtime, interval=0.05)
    scheduler.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not posts(session) and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
    finally:
        scheduler.stop()
    assert len(posts(session)) == 1


def test_a_broken_subscription_does_not_stop_the_others(session: Session, runtime: Runtime) -> None:
    subscribe(session)
    session.add(
        DigestSubscription(channel="C_OTHER", time_of_day="9h", timezone="UTC", created_at=NOW)
    )
    session.commit()
    assert DigestScheduler(runtime).run_once(NOW + timedelta(minutes=1)) == 1
    assert [p.channel for p in posts(session)] == [CHANNEL]
