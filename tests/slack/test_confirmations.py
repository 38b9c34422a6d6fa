"""Consequential one-click actions ask first; taking from someone names them; a lost race
names the winner. Through signed requests to the bot and the stand-in, on both databases."""

from __future__ import annotations

import threading

from sqlalchemy import select

from bot.alerts import bursts
from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId
from bot.models import AlertAction, AlertEvent
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for


def _posted(runtime: Runtime, loop: DeliveryLoop) -> tuple[int, str]:
    alert_id = add_alert(runtime, add_search(runtime))
    drain(loop)
    ts = get_alert(runtime, alert_id).message_ts
    assert ts
    return alert_id, ts


def _elements(blocks: list[dict]) -> list[dict]:
    return [el for b in blocks for el in [*b.get("elements", []), b.get("accessory") or {}] if el]


def test_taking_an_alert_someone_holds_asks_first_and_the_thread_names_them(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, loop)
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))
    wait_for(lambda: get_alert(runtime, alert_id).assignee == "U_BOB", what="Bob's take")
    drain(loop)
    message = standin.message("C_ALERTS", ts)
    assert message is not None
    [picker] = [e for e in _elements(message["blocks"]) if e.get("action_id") == ActionId.ASSIGN]
    assert "<@U_BOB> has A-" in picker["confirm"]["text"]["text"]  # reassigning asks first
    # Carol's list offers "Take it", which asks before taking it from Bob.
    standin.send_command("U_CAROL", "C_ALERTS", "alerts open")
    listing = wait_for(lambda: standin.ephemerals("U_CAROL", "C_ALERTS"), what="the list")[-1]
    [take] = [e for e in _elements(listing.blocks or []) if e.get("action_id") == ActionId.TAKE]
    assert take["value"] == f"{alert_id}:U_BOB"
    assert take["confirm"]["text"]["text"].startswith(f"<@U_BOB> has A-{alert_id}. Take it")
    standin.click("U_CAROL", "C_ALERTS", listing.ts, ActionId.TAKE, value=take["value"])
    wait_for(lambda: get_alert(runtime, alert_id).assignee == "U_CAROL", what="Carol's take")
    drain(loop)
    said = standin.replies("C_ALERTS", ts)[-1]["text"]
    assert said.startswith("<@U_CAROL> took it from <@U_BOB>")


def test_a_lost_race_tells_the_loser_who_has_it(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, loop)
    # Both press "Take it" on the same message at once: one wins, the other is told who.
    presses = [
        threading.Thread(
            target=standin.click,
            args=(user, "C_ALERTS", ts, ActionId.TAKE),
            kwargs={"value": str(alert_id)},
        )
        for user in ("U_BOB", "U_CAROL")
    ]
    for press in presses:
        press.start()
    for press in presses:
        press.join()

    def told() -> list[str]:
        return [
            e.text
            for user in ("U_BOB", "U_CAROL")
            for e in standin.ephemerals(user, "C_ALERTS")
            if "now. To take it from" in e.text
        ]

    [notice] = wait_for(told, what="the loser's notice")
    winner = get_alert(runtime, alert_id).assignee
    assert winner in ("U_BOB", "U_CAROL")
    assert f"<@{winner}> has A-{alert_id} now" in notice
    with runtime.sessions() as session:
        takes = session.scalars(
            select(AlertEvent).where(AlertEvent.action == AlertAction.ASSIGNED)
        ).all()
    assert [e.actor for e in takes] == [winner]  # the loser changed nothing


def test_bulk_actions_ask_first(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    search_id = add_search(runtime)
    ids = [add_alert(runtime, search_id, post=False) for _ in range(12)]
    with runtime.sessions.begin() as session:
        bursts.create(session, key="run:1:burst", search_id=search_id, channel="C_ALERTS",
                      alert_ids=ids)  # fmt: skip
    drain(loop)
    (summary,) = standin.messages("C_ALERTS")
    asks = {
        e["action_id"]: e["confirm"]["text"]["text"]
        for e in _elements(summary["blocks"])
        if e.get("action_id") in (ActionId.BURST_RESOLVE, ActionId.BURST_SNOOZE)
    }
    assert asks == {
        ActionId.BURST_RESOLVE: "Resolve all 12 alerts of this burst at once?",
        ActionId.BURST_SNOOZE: "Snooze all 12 alerts of this burst at once?",
    }
