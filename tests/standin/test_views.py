"""Modals and App Home: trigger_id rules, the view stack, submissions and their answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin import SlackStandIn

from .conftest import Answer, FakeClock, Received, Receiver, alert_blocks, modal


def trigger_from(standin: SlackStandIn, receiver: Receiver) -> str:
    standin.send_command("U_ALICE", "C_ALERTS", "search create")
    return receiver.requests[-1].form["trigger_id"]


def open_modal(standin: SlackStandIn, receiver: Receiver, client: WebClient, **extra: Any) -> str:
    trigger = trigger_from(standin, receiver)
    return str(client.views_open(trigger_id=trigger, view=modal(**extra))["view"]["id"])


def test_it_opens_a_modal_for_the_user_who_acted(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    trigger = trigger_from(standin, receiver)
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "resolve"
    assert [v.id for v in standin.modal_stack("U_ALICE")] == [view["id"]]
    assert standin.modal_stack("U_BOB") == []


def test_a_trigger_id_works_once(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    trigger = trigger_from(standin, receiver)
    client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        client.views_open(trigger_id=trigger, view=modal())


def test_a_trigger_id_expires_after_three_seconds(
    standin: SlackStandIn, receiver: Receiver, client: WebClient, clock: FakeClock
) -> None:
    trigger = trigger_from(standin, receiver)
    clock.advance(3.1)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        client.views_open(trigger_id="123.456.made-up", view=modal())


def test_it_opens_a_modal_while_the_bot_handles_the_command(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    def bot(request: Received) -> Answer:
        client.views_open(trigger_id=request.form["trigger_id"], view=modal(title="Create search"))
        return Answer()

    receiver.respond = bot
    assert standin.send_command("U_CAROL", "C_ALERTS", "search create").ok
    [view] = standin.modal_stack("U_CAROL")
    assert view.definition["title"]["text"] == "Create search"


def test_it_refuses_an_invalid_view_with_slacks_explanation(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    trigger = trigger_from(standin, receiver)
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger, view=modal(title="A title that is far too long"))
    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]


def test_it_stacks_at_most_three_views(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    open_modal(standin, receiver, client)
    for _ in range(2):
        client.views_push(trigger_id=trigger_from(standin, receiver), view=modal(title="More"))
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        client.views_push(trigger_id=trigger_from(standin, receiver), view=modal(title="Too many"))
    stack = standin.modal_stack("U_ALICE")
    assert len(stack) == 3 and stack[2].previous_view_id == stack[1].id


def test_it_updates_a_view_and_checks_the_hash(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    view_id = open_modal(standin, receiver, client)
    old_hash = standin.modal_stack("U_ALICE")[0].hash
    updated = client.views_update(view_id=view_id, view=modal(title="Step 2"), hash=old_hash)[
        "view"
    ]
    assert updated["title"]["text"] == "Step 2" and updated["hash"] != old_hash
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=view_id, view=modal(title="Step 3"), hash=old_hash)
    with pytest.raises(SlackApiError, match="not_found"):
        client.views_update(view_id="VNOPE", view=modal())


def test_it_publishes_an_app_home_per_user(standin: SlackStandIn, client: WebClient) -> None:
    home = {"type": "home", "blocks": alert_blocks()}
    client.views_publish(user_id="U_BOB", view=home)
    client.views_publish(user_id="U_BOB", view={"type": "home", "blocks": alert_blocks()[:1]})
    view = standin.home_view("U_BOB")
    assert view is not None and len(view.definition["blocks"]) == 1
    assert standin.home_view("U_ALICE") is None
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id="U_BOB", view=modal())


def test_app_home_opened_is_an_event_with_the_current_view(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    client.views_publish(user_id="U_BOB", view={"type": "home", "blocks": alert_blocks()})
    standin.open_home("U_BOB")
    request = receiver.requests[-1]
    assert request.headers["Content-Type"] == "application/json"
    body = request.payload
    assert body["type"] == "event_callback" and body["event"]["type"] == "app_home_opened"
    assert body["event"]["user"] == "U_BOB" and body["event"]["tab"] == "home"
    assert body["event"]["view"]["id"] == standin.home_view("U_BOB").id  # type: ignore[union-attr]


def submission_answer(answer: dict[str, Any]) -> Any:
    return lambda r: Answer(body=json.dumps(answer)) if "payload" in r.form else Answer()


def test_a_submission_carries_the_typed_values(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    view_id = open_modal(standin, receiver, client, private_metadata="alert-7")
    values = {
        "note": {"note_input": "false positive"},
        "resolution": {"resolution_select": "not_an_issue"},
    }
    assert standin.submit_view("U_ALICE", view_id, values).ok
    payload = receiver.requests[-1].payload
    assert payload["type"] == "view_submission"
    view = payload["view"]
    assert view["id"] == view_id and view["private_metadata"] == "alert-7"
    assert view["state"]["values"]["note"]["note_input"] == {
        "type": "plain_text_input",
        "value": "false positive",
    }
    picked = view["state"]["values"]["resolution"]["resolution_select"]["selected_option"]
    assert picked["value"] == "not_an_issue" and picked["text"]["text"] == "Not an issue"
    assert standin.modal_stack("U_ALICE") == [], "an empty ack closes the modal"


def test_the_client_refuses_to_submit_without_required_fields(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    view_id = open_modal(standin, receiver, client)
    sent = len(receiver.requests)
    reply = standin.submit_view("U_ALICE", view_id, {"note": {"note_input": "x"}})
    assert reply.status is None and len(receiver.requests) == sent
    assert standin.modal_stack("U_ALICE")[0].errors == {"resolution": "Please fill out this field."}


def test_errors_from_the_bot_stay_on_the_open_modal(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    view_id = open_modal(standin, receiver, client)
    receiver.respond = submission_answer(
        {"response_action": "errors", "errors": {"note": "Bad schedule"}}
    )
    values = {
        "note": {"note_input": "every blue moon"},
        "resolution": {"resolution_select": "action_taken"},
    }
    standin.submit_view("U_ALICE", view_id, values)
    [view] = standin.modal_stack("U_ALICE")
    assert view.errors == {"note": "Bad schedule"}
    assert view.state_values["note"]["note_input"]["value"] == "every blue moon", (
        "what was typed is kept"
    )


def test_update_push_and_clear_answers_are_honoured(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    values = {"note": {"note_input": "n"}, "resolution": {"resolution_select": "action_taken"}}
    view_id = open_modal(standin, receiver, client)
    receiver.respond = submission_answer({"response_action": "update", "view": modal(title="Done")})
    standin.submit_view("U_ALICE", view_id, values)
    [view] = standin.modal_stack("U_ALICE")
    assert view.id == view_id and view.definition["title"]["text"] == "Done"
    receiver.respond = submission_answer(
        {"response_action": "push", "view": modal(title="Confirm")}
    )
    standin.submit_view("U_ALICE", view_id, values)
    assert [v.definition["title"]["text"] for v in standin.modal_stack("U_ALICE")] == [
        "Done",
        "Confirm",
    ]
    receiver.respond = submission_answer({"response_action": "clear"})
    standin.submit_view("U_ALICE", standin.modal_stack("U_ALICE")[-1].id, values)
    assert standin.modal_stack("U_ALICE") == []


def test_an_invalid_answer_leaves_the_modal_open_with_a_notice(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    values = {"note": {"note_input": "n"}, "resolution": {"resolution_select": "action_taken"}}
    view_id = open_modal(standin, receiver, client)
    receiver.respond = submission_answer(
        {"response_action": "update", "view": modal(title="t" * 30)}
    )
    standin.submit_view("U_ALICE", view_id, values)
    [view] = standin.modal_stack("U_ALICE")
    assert view.notice and "invalid" in view.notice


def test_closing_a_modal_notifies_the_bot_only_when_asked(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    quiet = open_modal(standin, receiver, client)
    sent = len(receiver.requests)
    assert standin.close_view("U_ALICE", quiet) is None and len(receiver.requests) == sent
    loud = open_modal(standin, receiver, client, notify_on_close=True)
    standin.close_view("U_ALICE", loud)
    payload = receiver.requests[-1].payload
    assert (
        payload["type"] == "view_closed"
        and payload["view"]["id"] == loud
        and payload["is_cleared"] is True
    )


def test_a_button_in_a_modal_sends_the_view_and_its_state(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    view = modal()
    view["blocks"].append(
        {"type": "actions", "block_id": "more", "elements": alert_blocks()[2]["elements"][:1]}
    )
    trigger = trigger_from(standin, receiver)
    view_id = client.views_open(trigger_id=trigger, view=view)["view"]["id"]
    standin.click_in_view("U_ALICE", view_id, "take", values={"note": {"note_input": "half typed"}})
    payload = receiver.requests[-1].payload
    assert payload["container"] == {"type": "view", "view_id": view_id}
    assert payload["view"]["state"]["values"]["note"]["note_input"]["value"] == "half typed"
    assert payload["actions"][0]["action_id"] == "take" and payload["trigger_id"]
    client.views_push(trigger_id=payload["trigger_id"], view=modal(title="Pushed"))
    assert len(standin.modal_stack("U_ALICE")) == 2
