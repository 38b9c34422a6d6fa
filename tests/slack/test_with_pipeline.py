"""With the real search runner: a run posts, a snoozed alert stays silent, then notifies again."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId
from bot.models import Alert, RunStatus
from bot.runs import runner
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_search, drain, get_alert, wait_for


def _log(path: Path, user: str) -> None:
    stamp = (datetime.now(UTC) - timedelta(milliseconds=200)).isoformat()
    with path.open("a") as out:
        out.write(json.dumps({"@timestamp": stamp, "outcome": "failure", "user": user}) + "\n")


def test_a_snoozed_alert_stays_silent_until_the_snooze_ends_then_notifies_again(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop, tmp_path: Path
) -> None:
    log = tmp_path / "auth.log"
    _log(log, "bob")
    search_id = add_search(
        runtime,
        source_config={"path": str(log), "query": "outcome:failure"},
        key_fields=["user"],
        lookback_seconds=60,
    )
    assert runner.run_search(runtime, search_id).status == RunStatus.SUCCEEDED
    drain(loop)
    (message,) = standin.messages("C_ALERTS")
    with runtime.sessions() as session:
        alert = session.query(Alert).one()
    option = {"text": {"type": "plain_text", "text": "1 hour"}, "value": "3600"}
    standin.click("U_BOB", "C_ALERTS", message["ts"], ActionId.SNOOZE, selected_option=option)
    wait_for(lambda: get_alert(runtime, alert.id).snoozed_until, what="the snooze")
    drain(loop)
    replies_before = len(standin.replies("C_ALERTS", message["ts"]))

    time.sleep(0.3)
    _log(log, "bob")  # still firing while snoozed
    assert runner.run_search(runtime, search_id).alerts_updated == 1
    drain(loop)
    assert len(standin.replies("C_ALERTS", message["ts"])) == replies_before  # silent
    assert len(standin.messages("C_ALERTS")) == 1

    with runtime.sessions.begin() as session:  # an hour passes
        session.execute(
            update(Alert).values(snoozed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    time.sleep(0.3)
    _log(log, "bob")
    runner.run_search(runtime, search_id)
    drain(loop)
    replies = standin.replies("C_ALERTS", message["ts"])
    assert len(replies) == replies_before + 1
    assert (
        "snooze ended" in replies[-1]["text"] and replies[-1].get("subtype") == "thread_broadcast"
    )
    assert get_alert(runtime, alert.id).occurrences == 3
    assert len(standin.messages("C_ALERTS")) == 2  # the message and the broadcast reply
