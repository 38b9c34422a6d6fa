"""The delivery loop against the stand-in: crashes, outages, 429s, permanent errors, folding."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.deliveries.loop import DeliveryLoop
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    utcnow,
)
from bot.runtime import Runtime
from standin import RateLimits, SlackStandIn
from tests.slack.conftest import (
    SECRET,
    TOKEN,
    add_alert,
    add_search,
    drain,
    get_alert,
    make_runtime,
)

REPO = Path(__file__).resolve().parents[2]


def _deliveries(runtime: Runtime) -> list[Delivery]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def _queue_message(session: Session, key: str, channel: str, **payload: object) -> None:
    """A ready-made message (owner notices, digests) in the outbox."""
    outbox.enqueue(session, key=key, kind=DeliveryKind.MESSAGE, channel=channel, payload=payload)


def _crash(runtime: Runtime, standin: SlackStandIn, point: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.deliveries.crash_sender",
            runtime.settings.database_url,
            standin.api_url,
            point,
        ],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == -9, result.stderr.decode()[-2000:]


@pytest.mark.parametrize("point", ["after-send", "before-send"])
def test_it_neither_loses_nor_doubles_a_post_when_the_sender_is_killed(
    runtime: Runtime, standin: SlackStandIn, point: str
) -> None:
    alert_id = add_alert(runtime, add_search(runtime))
    _crash(runtime, standin, point)
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.SENDING  # the dead process still holds its claim
    assert len(standin.messages("C_ALERTS")) == (1 if point == "after-send" else 0)
    loop = DeliveryLoop(runtime, lease_seconds=120)
    loop.run_once(now=utcnow() + timedelta(seconds=121))  # the lease has run out
    drain(loop)
    messages = standin.messages("C_ALERTS")
    assert len(messages) == 1
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.SENT and row.message_ts == messages[0]["ts"]
    assert get_alert(runtime, alert_id).message_ts == messages[0]["ts"]


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_keeps_a_delivery_while_slack_is_unreachable_and_sends_it_once_later(
    runtime: Runtime, standin: SlackStandIn
) -> None:
    add_alert(runtime, add_search(runtime))
    down = WebClient(
        token=TOKEN, base_url=f"http://127.0.0.1:{_dead_port()}/api/", retry_handlers=[]
    )
    loop = DeliveryLoop(runtime, client=down, base_backoff=0.01, max_backoff=0.05)
    loop.run_once()
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_error and row.last_error.startswith("ambiguous")
    loop.client = WebClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[])
    time.sleep(0.1)
    drain(loop)
    assert len(standin.messages("C_ALERTS")) == 1
    assert _deliveries(runtime)[0].status == DeliveryStatus.SENT


def test_it_gives_up_after_the_horizon_and_records_it_on_the_alert(runtime: Runtime) -> None:
    alert_id = add_alert(runtime, add_search(runtime))
    down = WebClient(
        token=TOKEN, base_url=f"http://127.0.0.1:{_dead_port()}/api/", retry_handlers=[]
    )
    loop = DeliveryLoop(
        runtime, client=down, base_backoff=0.01, max_backoff=0.01, give_up_after=1.0
    )
    loop.run_once()  # within the horizon: retried, ambiguous (Slack might have it)
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    # Past the horizon: only looked up; the look-up fails too, so it is given up.
    loop.run_once(now=utcnow() + timedelta(seconds=5))
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.FAILED and row.attempts == 2
    assert row.last_error and "gave up after 2 attempts" in row.last_error
    assert get_alert(runtime, alert_id).delivery_failed
    with runtime.sessions() as session:
        event = session.scalar(
            select(AlertEvent).where(AlertEvent.action == AlertAction.DELIVERY_FAILED)
        )
        assert event is not None and event.alert_id == alert_id


def test_it_does_not_retry_a_permanent_slack_error(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    search_id = add_search(runtime, channel="C_NOWHERE")
    alert_id = add_alert(runtime, search_id, post=False)
    with runtime.sessions.begin() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        outbox.enqueue_alert_post(session, alert, "C_NOWHERE")
    loop.run_once()
    (row,) = _deliveries(runtime)
    assert row.status == DeliveryStatus.FAILED and row.attempts == 0
    assert row.last_error and "channel_not_found" in row.last_error
    assert get_alert(runtime, alert_id).delivery_failed
    assert len(standin.calls("chat.postMessage")) == 1


def test_it_honours_retry_after_for_the_limited_channel_only(db_url: str) -> None:
    strict = RateLimits(post_burst=1, post_per_channel_per_second=1.0)
    with SlackStandIn(SECRET, TOKEN, rate_limits=strict) as standin:
        runtime = make_runtime(db_url, standin.api_url)
        search_id = add_search(runtime)
        for _ in range(4):
            add_alert(runtime, search_id)
        other = add_alert(runtime, search_id, post=False)
        with runtime.sessions.begin() as session:
            alert = session.get(Alert, other)
            assert alert is not None
            outbox.enqueue_alert_post(session, alert, "C_GENERAL")
        # The loop's own pacing is off, so Slack's 429 is what slows #alerts down.
        loop = DeliveryLoop(runtime, posts_per_second=100, post_burst=100)
        started = time.monotonic()
        loop.run_once()
        assert len(standin.messages("C_ALERTS")) == 1
        assert len(standin.messages("C_GENERAL")) == 1  # not held up by #alerts' limit
        assert standin.rate_limited_count == 1
        with runtime.sessions() as session:
            waiting = session.scalars(
                select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
            ).all()
        assert len(waiting) == 3 and all(d.next_attempt_at > utcnow() for d in waiting)
        drain(loop, timeout=30)
        elapsed = time.monotonic() - started
        assert len(standin.messages("C_ALERTS")) == 4
        assert elapsed >= 2.5  # three more posts at one per second
        # Retry-After was honoured: a retry never came early enough to be refused again and again.
        assert standin.rate_limited_count <= 4
        runtime.engine.dispose()


def test_refusals_from_two_channels_pause_every_post_for_the_workspace_limit(
    db_url: str,
) -> None:
    """Slack's workspace-wide post limit: after two channels are refused in a row, the
    others are not tried one by one (each would only be refused too)."""
    capped = RateLimits(post_per_minute_workspace=2)
    channels = [f"C_WS{n}" for n in range(6)]
    with SlackStandIn(SECRET, TOKEN, rate_limits=capped) as standin:
        for channel in channels:
            standin.add_channel(channel, channel.lower())
        runtime = make_runtime(db_url, standin.api_url)
        search_id = add_search(runtime)
        for channel in channels:
            alert_id = add_alert(runtime, search_id, post=False)
            with runtime.sessions.begin() as session:
                alert = session.get(Alert, alert_id)
                assert alert is not None
                outbox.enqueue_alert_post(session, alert, channel)
        loop = DeliveryLoop(runtime)
        loop.run_once()
        posted = [c for c in channels if standin.messages(c)]
        assert len(posted) == 2  # the workspace's two a minute
        # The third channel is refused (its own limit, as far as the loop can tell), the
        # fourth too: then the remaining two wait instead of being refused in turn.
        assert standin.rate_limited_count == 2
        assert len(standin.calls("chat.postMessage")) == 4
        with runtime.sessions() as session:
            waiting = session.scalars(
                select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
            ).all()
        assert len(waiting) == 4  # none lost: each is sent once the minute has passed
        runtime.engine.dispose()


def test_it_folds_repeated_updates_of_one_message_into_one(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    alert_id = add_alert(runtime, add_search(runtime))
    drain(loop)
    with runtime.sessions.begin() as session:
        for n in range(5):
            outbox.enqueue(
                session,
                key=f"test:update:{n}",
                kind=DeliveryKind.UPDATE,
                channel="C_ALERTS",
                alert_id=alert_id,
            )
    drain(loop)
    assert len(standin.calls("chat.update")) == 1
    with runtime.sessions() as session:
        counts = dict(
            session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.kind == DeliveryKind.UPDATE)
                .group_by(Delivery.status)
            ).all()
        )
    assert counts == {DeliveryStatus.SENT: 1, DeliveryStatus.SUPERSEDED: 4}


def test_a_delivery_that_cannot_be_planned_waits_its_backoff_and_the_others_are_sent(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    """Planning happens in the claim's transaction: an error there must neither leave
    the row claimed nor stall the rows behind it."""
    with runtime.sessions.begin() as session:
        # Blocks that are not a list: rendering it raises a TypeError, not a Slack error.
        _queue_message(session, "test:unplannable", "C_ALERTS", text="broken", blocks=7)
        _queue_message(session, "test:fine", "C_ALERTS", text="fine")
    assert loop.run_once() == 1
    broken, fine = _deliveries(runtime)
    assert fine.status == DeliveryStatus.SENT
    assert [m["text"] for m in standin.messages("C_ALERTS")] == ["fine"]
    assert broken.status == DeliveryStatus.PENDING and broken.claimed_by is None
    assert broken.attempts == 1 and broken.next_attempt_at > utcnow()
    assert broken.last_error and "TypeError" in broken.last_error


def test_it_holds_a_thread_reply_until_its_parent_is_posted(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    alert_id = add_alert(runtime, add_search(runtime), post=False)
    with runtime.sessions.begin() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        outbox.enqueue_thread_reply(
            session, alert, "first reply", key="test:reply"
        )  # enqueued first
        outbox.enqueue_alert_post(session, alert, "C_ALERTS")
    drain(loop)
    (parent,) = standin.messages("C_ALERTS")
    replies = standin.replies("C_ALERTS", parent["ts"])
    assert [r["text"] for r in replies] == ["first reply"]


def test_it_sends_an_owner_notice_to_a_user_and_uploads_a_file_once(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    import base64

    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    with runtime.sessions.begin() as session:
        _queue_message(session, "notice:1", "U_CAROL", text="search *x* failed 3 times")
        outbox.enqueue(
            session,
            key="digest:chart:1",
            kind=DeliveryKind.UPLOAD,
            channel="C_DIGEST",
            payload={
                "filename": "alerts.png",
                "title": "Alerts per day",
                "content_b64": base64.b64encode(png).decode(),
                "initial_comment": "Daily digest",
            },
        )
    drain(loop)
    assert [d.status for d in _deliveries(runtime)] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    (notice,) = [c for c in standin.calls("chat.postMessage") if c.args.get("channel") == "U_CAROL"]
    assert notice.ok
    files = [f for m in standin.messages("C_DIGEST") for f in m.get("files", [])]
    assert len(files) == 1 and standin.file_bytes(files[0]["id"]) == png


def test_two_delivery_loops_share_the_outbox_without_posting_anything_twice(
    runtime: Runtime, standin: SlackStandIn
) -> None:
    import threading

    search_id = add_search(runtime)
    for _ in range(30):
        add_alert(runtime, search_id)
    loops = [DeliveryLoop(runtime, posts_per_second=100, post_burst=100) for _ in range(2)]
    errors: list[BaseException] = []

    def work(loop: DeliveryLoop) -> None:
        try:
            drain(loop, timeout=30)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    keys = [m["metadata"]["event_payload"]["key"] for m in standin.messages("C_ALERTS")]
    assert len(keys) == 30 and len(set(keys)) == 30
    senders = {d.claimed_by for d in _deliveries(runtime)}
    assert senders == {None} and all(d.status == DeliveryStatus.SENT for d in _deliveries(runtime))
