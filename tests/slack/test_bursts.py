"""A burst: one summary message, its alerts listed in the thread, bulk Resolve all / Snooze all."""

from __future__ import annotations

from sqlalchemy import select

from bot.alerts import bursts
from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId
from bot.models import Alert, AlertState, Resolution
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, wait_for


def _burst(runtime: Runtime, count: int) -> tuple[int, list[int]]:
    search_id = add_search(runtime)
    ids = [add_alert(runtime, search_id, post=False) for _ in range(count)]
    with runtime.sessions.begin() as session:
        burst = bursts.create(
            session, key="run:1:burst", search_id=search_id, channel="C_ALERTS", alert_ids=ids
        )
        return burst.id, ids


def _alerts(runtime: Runtime, ids: list[int]) -> list[Alert]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.id.in_(ids))))


def test_it_posts_one_summary_and_lists_the_alerts_in_its_thread(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    _, ids = _burst(runtime, 37)
    drain(loop)
    (summary,) = standin.messages("C_ALERTS")
    assert summary["blocks"][0]["text"]["text"] == "37 new alerts from failed logins"
    replies = standin.replies("C_ALERTS", summary["ts"])
    assert len(replies) == 4  # 10 + 10 + 10 + 7
    listed = " ".join(r["text"] for r in replies)
    assert all(f"A-{i}" in listed for i in ids)
    assert all(
        a.burst_ts == summary["ts"] and a.channel == "C_ALERTS" for a in _alerts(runtime, ids)
    )


def test_it_resolves_a_whole_burst_from_the_modal_and_refreshes_the_summary(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    burst_id, ids = _burst(runtime, 8)
    drain(loop)
    (summary,) = standin.messages("C_ALERTS")
    assert standin.click(
        "U_BOB", "C_ALERTS", summary["ts"], ActionId.BURST_RESOLVE, value=str(burst_id)
    ).ok
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the modal")[-1]
    values = {
        "resolution": {
            "resolution": {"type": "radio_buttons", "selected_option": {"value": "not_an_issue"}}
        }
    }
    assert standin.submit_view("U_BOB", modal.id, values).ok
    alerts = _alerts(runtime, ids)
    assert all(
        a.state == AlertState.RESOLVED and a.resolution == Resolution.NOT_AN_ISSUE for a in alerts
    )
    drain(loop)
    refreshed = standin.message("C_ALERTS", summary["ts"])
    assert refreshed is not None and "*8* resolved" in str(refreshed["blocks"])
    assert not any(b["type"] == "actions" for b in refreshed["blocks"])  # nothing left to do
    replies = standin.replies("C_ALERTS", summary["ts"])
    assert "<@U_BOB> resolved 8 alerts" in replies[-1]["text"]
    assert "resolved" in str(replies[0]["blocks"])  # the thread listing was refreshed too
    assert len(standin.calls("chat.update")) <= 3  # folded: the summary and the one listing


def test_it_snoozes_a_whole_burst_and_acts_on_one_alert_from_the_thread(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    _, ids = _burst(runtime, 6)
    drain(loop)
    (summary,) = standin.messages("C_ALERTS")
    option = {"text": {"type": "plain_text", "text": "4 hours"}, "value": "14400"}
    assert standin.click(
        "U_BOB", "C_ALERTS", summary["ts"], ActionId.BURST_SNOOZE, selected_option=option
    ).ok
    wait_for(lambda: all(a.snoozed_until for a in _alerts(runtime, ids)), what="the snooze")
    listing = standin.replies("C_ALERTS", summary["ts"])[0]
    take = {"text": {"type": "plain_text", "text": "Take it"}, "value": f"take:{ids[0]}"}
    assert standin.click(
        "U_CAROL", "C_ALERTS", listing["ts"], f"{ActionId.QUICK}:{ids[0]}", selected_option=take
    ).ok
    wait_for(lambda: _alerts(runtime, [ids[0]])[0].assignee == "U_CAROL", what="the take")
    drain(loop)
    assert "*6* snoozed" in str(standin.message("C_ALERTS", summary["ts"]))
    refreshed = standin.replies("C_ALERTS", summary["ts"])[0]
    assert "<@U_CAROL>" in str(refreshed["blocks"])
