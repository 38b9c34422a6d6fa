"""A post held by a worker that died is taken back within seconds, marked ambiguous, and
recorded from Slack (not posted again) when Slack has it."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from bot.deliveries.loop import DeliveryLoop
from bot.deliveries.outcomes import is_ambiguous
from bot.deliveries.sender import marker
from bot.heartbeat import Liveness, look
from bot.models import Delivery, DeliveryStatus, WorkerHeartbeat, utcnow
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import TOKEN, add_alert, add_search


def _sending_under(runtime: Runtime, alert_id: int, worker: str) -> Delivery:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.alert_id == alert_id)
            .values(
                status=DeliveryStatus.SENDING,
                claimed_by=f"{worker}:tok",
                next_attempt_at=utcnow() + timedelta(minutes=2),  # the old lease: 2 minutes
            )
        )
        row = session.scalar(select(Delivery).where(Delivery.alert_id == alert_id))
        assert row is not None
        session.expunge(row)
        return row


def test_a_silent_heartbeat_frees_its_sends_and_slack_is_asked_before_resending(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    alert_id = add_alert(runtime, add_search(runtime))
    worker = "elsewhere:4242:deliveries-dead"
    with runtime.sessions.begin() as session:
        session.add(
            WorkerHeartbeat(
                name=worker,
                role="deliveries",
                host="elsewhere",
                pid=4242,
                started_at=utcnow() - timedelta(minutes=5),
                beat_at=utcnow() - timedelta(seconds=30),
            )
        )
    row = _sending_under(runtime, alert_id, worker)
    # The dead worker's post did reach Slack before it died.
    from slack_sdk import WebClient

    client = WebClient(token=TOKEN, base_url=standin.api_url)
    client.chat_postMessage(channel="C_ALERTS", text="posted", metadata=marker(row.idempotency_key))
    assert loop.take_back(look(runtime, utcnow())) == 1
    with runtime.sessions() as session:
        taken = session.get(Delivery, row.id)
        assert taken is not None and taken.status == DeliveryStatus.PENDING
        assert is_ambiguous(taken) and taken.claimed_by is None
    loop.run_once(now=utcnow() + timedelta(seconds=10))  # after the grace for in-flight sends
    assert len(standin.messages("C_ALERTS")) == 1  # recorded, not posted twice
    with runtime.sessions() as session:
        sent = session.get(Delivery, row.id)
        assert sent is not None and sent.status == DeliveryStatus.SENT and sent.message_ts


def test_a_live_worker_keeps_its_sends_and_a_gone_process_loses_them_at_once(
    runtime: Runtime, loop: DeliveryLoop
) -> None:
    alive = add_alert(runtime, add_search(runtime))
    gone = add_alert(runtime, add_search(runtime, name="other"))
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = socket.gethostname()
    _sending_under(runtime, alive, f"{host}:1:deliveries-init")  # pid 1 is alive
    _sending_under(runtime, gone, f"{host}:{ended.stdout.strip()}:deliveries-x")
    assert loop.take_back(Liveness(frozenset())) == 1
    with runtime.sessions() as session:
        states = dict(session.execute(select(Delivery.alert_id, Delivery.status)).all())
    assert states == {alive: DeliveryStatus.SENDING, gone: DeliveryStatus.PENDING}
