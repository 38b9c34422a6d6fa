"""Alert messages end to end: delivered through the stand-in, buttons pressed, message updated."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId, MoreChoice
from bot.models import AlertAction, AlertEvent, AlertState, Priority, Resolution
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for


def _events(runtime: Runtime, alert_id: int) -> list[AlertEvent]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
        )


def _posted(runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop) -> tuple[int, str]:
    search_id = add_search(
        runtime, oncall_group="S_ONCALL", runbook_url="https://wiki.example/runbook"
    )
    alert_id = add_alert(runtime, search_id, link="https://kibana.example/app/discover#/doc/1")
    drain(loop)
    alert = get_alert(runtime, alert_id)
    assert alert.channel == "C_ALERTS" and alert.message_ts
    return alert_id, alert.message_ts


def _texts(message: dict[str, Any]) -> str:
    from bot.messages.limits import iter_texts

    return "\n".join(iter_texts(message.get("blocks") or []))


def _action_ids(message: dict[str, Any]) -> set[str]:
    """The action ids of every button, select and menu, and of the menus' options."""
    found: set[str] = set()
    for block in message.get("blocks") or []:
        elements = block["elements"] if block.get("type") == "actions" else []
        elements = [*elements, *([block["accessory"]] if "accessory" in block else [])]
        for element in elements:
            found.add(element.get("action_id", ""))
            found.update(o["value"].split(":")[0] for o in element.get("options") or [])
    return found


def _more(alert_id: int, choice: MoreChoice) -> dict[str, Any]:
    return {"selected_option": {"value": f"{choice.value}:{alert_id}"}}


def _after_click(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop, ts: str
) -> dict[str, Any]:
    drain(loop)
    message = standin.message("C_ALERTS", ts)
    assert message is not None
    return message


def test_it_posts_an_alert_with_header_fields_links_and_state_buttons(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    message = standin.message("C_ALERTS", ts)
    assert message is not None
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    assert "High" in blocks[0]["text"]["text"] and "failed logins" in blocks[0]["text"]["text"]
    text = _texts(message)
    assert (
        "*User* 🔑\nbob" in text
    )  # the key field first, marked, as plain text and "*Source IP*\n10.0.0.7" in text and "seen 12 times" in text
    assert "<!date^" in text and "nobody has it yet" in text and "A-1" in text
    urls = {e.get("url") for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert {"https://kibana.example/app/discover#/doc/1", "https://wiki.example/runbook"} <= urls
    assert {
        ActionId.TAKE,
        ActionId.ASSIGN,
        ActionId.SNOOZE,
        ActionId.RESOLVE,
        ActionId.HITS,
        ActionId.MORE,
        MoreChoice.ESCALATE,
        MoreChoice.NOTE,
        MoreChoice.MUTE,
    } <= _action_ids(message)
    assert ActionId.REOPEN not in _action_ids(message)
    assert [e.action for e in _events(runtime, alert_id)] == [AlertAction.NOTIFIED]


def test_it_takes_an_alert_updates_the_message_in_place_and_replies_in_the_thread(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    reply = standin.click("U_BOB", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))
    assert reply.ok and reply.elapsed < 3
    alert = wait_for(lambda: (a := get_alert(runtime, alert_id)).assignee and a, what="the take")
    assert alert.state == AlertState.IN_PROGRESS and alert.assignee == "U_BOB"
    assert alert.acknowledged_at is not None
    message = _after_click(runtime, standin, loop, ts)
    assert "👀 *<@U_BOB>*" in message["blocks"][0]["text"]["text"]
    assert ActionId.TAKE not in _action_ids(message)  # taken: no "Take it" on it any more
    assert len(standin.messages("C_ALERTS")) == 1  # updated in place, not posted again
    replies = standin.replies("C_ALERTS", ts)
    assert len(replies) == 1 and replies[0]["text"].startswith("<@U_BOB> took it")
    assert _events(runtime, alert_id)[-1].action == AlertAction.ASSIGNED


def test_it_assigns_with_the_user_picker(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.ASSIGN, selected_user="U_CAROL").ok
    wait_for(lambda: get_alert(runtime, alert_id).assignee == "U_CAROL", what="the assignment")
    _after_click(runtime, standin, loop, ts)
    assert "assigned it to <@U_CAROL>" in standin.replies("C_ALERTS", ts)[-1]["text"]


def test_it_snoozes_then_unsnoozes_and_the_buttons_follow(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    option = {"text": {"type": "plain_text", "text": "1 hour"}, "value": "3600"}
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.SNOOZE, selected_option=option).ok
    wait_for(lambda: get_alert(runtime, alert_id).snoozed_until, what="the snooze")
    message = _after_click(runtime, standin, loop, ts)
    assert ActionId.UNSNOOZE in _action_ids(message) and ActionId.SNOOZE not in _action_ids(message)
    assert message["blocks"][0]["text"]["text"].startswith("💤 *until <!date^")
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.UNSNOOZE, value=str(alert_id)).ok
    wait_for(lambda: get_alert(runtime, alert_id).snoozed_until is None, what="the unsnooze")
    message = _after_click(runtime, standin, loop, ts)
    assert ActionId.SNOOZE in _action_ids(message)
    actions = [e.action for e in _events(runtime, alert_id)]
    assert actions[-2:] == [AlertAction.SNOOZED, AlertAction.UNSNOOZED]


def test_it_resolves_through_the_modal_and_reopens(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.RESOLVE, value=str(alert_id)).ok
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the resolve modal")[-1]
    values = {
        "resolution": {
            "resolution": {
                "type": "radio_buttons",
                "selected_option": {"value": Resolution.NOT_AN_ISSUE.value},
            }
        },
        "note": {"note": {"type": "plain_text_input", "value": "scanner <!channel> *test*"}},
    }
    reply = standin.submit_view("U_BOB", modal.id, values)
    assert reply.ok, reply.body
    assert not standin.modal_stack("U_BOB")  # closed on success
    alert = get_alert(runtime, alert_id)
    assert alert.state == AlertState.RESOLVED and alert.resolution == Resolution.NOT_AN_ISSUE
    assert alert.resolved_by == "U_BOB"
    message = _after_click(runtime, standin, loop, ts)
    assert "Resolved by <@U_BOB>" in _texts(message) and _action_ids(message) >= {ActionId.REOPEN}
    assert len(message["blocks"]) == 1  # one line; the details went to the thread
    assert ActionId.RESOLVE not in _action_ids(message)
    details = standin.replies("C_ALERTS", ts)[-1]
    assert "bob failed to log in 12 times" in _texts(details)  # the details, in the thread
    reply_text = details["text"]
    assert (
        "Not an issue" in reply_text
        and "&lt;!channel&gt;" in reply_text
        and "<!channel>" not in reply_text
    )
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.REOPEN, value=str(alert_id)).ok
    wait_for(lambda: get_alert(runtime, alert_id).state != AlertState.RESOLVED, what="the reopen")
    assert ActionId.RESOLVE in _action_ids(_after_click(runtime, standin, loop, ts))


def test_it_escalates_raising_the_priority_and_mentioning_the_oncall_group(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    more = _more(alert_id, MoreChoice.ESCALATE)
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.MORE, **more).ok
    # It asks first: nothing changes until the person confirms.
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the confirmation")[-1]
    asked = json.dumps(modal.definition)
    assert "from *high* to *critical*" in asked and "<!subteam^S_ONCALL>" in asked
    assert not get_alert(runtime, alert_id).escalated
    assert standin.submit_view("U_BOB", modal.id, {}).ok
    wait_for(lambda: get_alert(runtime, alert_id).escalated, what="the escalation")
    assert get_alert(runtime, alert_id).priority == Priority.CRITICAL
    message = _after_click(runtime, standin, loop, ts)
    assert "Critical" in message["blocks"][0]["text"]["text"]
    assert MoreChoice.ESCALATE not in _action_ids(message)
    reply = standin.replies("C_ALERTS", ts)[-1]
    assert "<!subteam^S_ONCALL>" in reply["text"]
    assert reply.get("subtype") == "thread_broadcast"


def test_it_adds_a_note_through_the_modal(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    more = _more(alert_id, MoreChoice.NOTE)
    assert standin.click("U_CAROL", "C_ALERTS", ts, ActionId.MORE, **more).ok
    modal = wait_for(lambda: standin.modal_stack("U_CAROL"), what="the note modal")[-1]
    reply = standin.submit_view(
        "U_CAROL",
        modal.id,
        {"note": {"note": {"type": "plain_text_input", "value": "checked with <@U_BOB>"}}},
    )
    assert reply.ok
    assert _events(runtime, alert_id)[-1].detail["note"] == "checked with <@U_BOB>"
    _after_click(runtime, standin, loop, ts)
    text = standin.replies("C_ALERTS", ts)[-1]["text"]
    assert "added a note" in text and "&lt;@U_BOB&gt;" in text


def test_it_refuses_someone_outside_the_channel_with_an_ephemeral_and_changes_nothing(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    before = len(_events(runtime, alert_id))
    # Dave is in #general only; he acts on the #alerts message from #general's point of view.
    reply = standin.click("U_DAVE", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))
    assert reply.ok and reply.elapsed < 3  # acked in time; the refusal follows as an ephemeral
    notice = wait_for(lambda: standin.ephemerals("U_DAVE"), what="the refusal")
    assert "Only people in <#C_ALERTS>" in notice[-1].text
    alert = get_alert(runtime, alert_id)
    assert alert.assignee is None and alert.state == AlertState.NEW
    assert len(_events(runtime, alert_id)) == before
    drain(loop)
    assert standin.replies("C_ALERTS", ts) == []


def test_it_refuses_people_a_restricted_search_does_not_name(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    search_id = add_search(runtime, restricted_to=["S_SECURITY"])
    alert_id = add_alert(runtime, search_id)
    drain(loop)
    ts = get_alert(runtime, alert_id).message_ts
    assert ts
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))
    notice = wait_for(lambda: standin.ephemerals("U_BOB", "C_ALERTS"), what="the refusal")
    assert "restricted" in notice[-1].text
    assert get_alert(runtime, alert_id).assignee is None
    standin.click("U_CAROL", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))  # in S_SECURITY
    wait_for(lambda: get_alert(runtime, alert_id).assignee == "U_CAROL", what="Carol's take")


def test_it_snoozes_for_a_custom_duration_and_shows_a_bad_one_on_the_modal(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    alert_id, ts = _posted(runtime, standin, loop)
    custom = {"text": {"type": "plain_text", "text": "Custom…"}, "value": "custom"}
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.SNOOZE, selected_option=custom).ok
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the snooze modal")[-1]
    bad = standin.submit_view(
        "U_BOB",
        modal.id,
        {"duration": {"duration": {"type": "plain_text_input", "value": "soonish"}}},
    )
    assert "duration" in bad.json()["errors"]
    assert get_alert(runtime, alert_id).snoozed_until is None
    good = standin.submit_view(
        "U_BOB", modal.id, {"duration": {"duration": {"type": "plain_text_input", "value": "90m"}}}
    )
    assert good.ok and not standin.modal_stack("U_BOB")
    alert = get_alert(runtime, alert_id)
    assert alert.snoozed_until is not None
    assert _events(runtime, alert_id)[-1].detail["seconds"] == 5400
