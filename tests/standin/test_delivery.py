"""Signed deliveries to the bot (commands, buttons) and what Slack does with the ack."""

from __future__ import annotations

import json
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from standin import SlackStandIn
from standin.interactions import InteractionError
from standin.selection import SelectionError

from .conftest import SECRET, Answer, FakeClock, Received, Receiver, alert_blocks

verifier = SignatureVerifier(SECRET)


def verified(request: Received) -> bool:
    return verifier.is_valid_request(request.body, request.headers)


def test_it_sends_a_slash_command_signed_as_slack_does(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    reply = standin.send_command("U_ALICE", "C_ALERTS", 'search list "ssh prod"')
    assert reply.status == 200
    [request] = receiver.requests
    assert request.path == "/slack/events"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["X-Slack-Signature"].startswith("v0=")
    assert verified(request)
    form = request.form
    assert form["command"] == "/411" and form["text"] == 'search list "ssh prod"'
    assert form["user_id"] == "U_ALICE" and form["user_name"] == "alice"
    assert form["channel_id"] == "C_ALERTS" and form["channel_name"] == "alerts"
    assert form["team_id"] == "T0411" and form["trigger_id"]
    assert form["response_url"].startswith(f"{standin.url}response/")


def test_it_can_send_forged_unsigned_and_stale_requests(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    standin.send_command("U_ALICE", "C_ALERTS", "help", signature_override="v0=" + "0" * 64)
    standin.send_command("U_ALICE", "C_ALERTS", "help", unsigned=True)
    standin.send_command("U_ALICE", "C_ALERTS", "help", timestamp_override=int(time.time()) - 301)
    forged, unsigned, stale = receiver.requests
    assert not verified(forged)
    assert "X-Slack-Signature" not in unsigned.headers and not verified(unsigned)
    # The stale request is signed correctly; only its age makes it invalid.
    assert not verified(stale)
    old_clock = SignatureVerifier(
        SECRET, clock=type("C", (), {"now": lambda self: time.time() - 301})()
    )
    assert old_clock.is_valid_request(stale.body, stale.headers)


def test_it_shows_a_command_ack_as_an_ephemeral_message(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    receiver.respond = lambda _r: Answer(body=json.dumps({"text": "Usage: /411 search list"}))
    standin.send_command("U_BOB", "C_ALERTS", "nonsense")
    assert [e.text for e in standin.ephemerals("U_BOB", "C_ALERTS")] == ["Usage: /411 search list"]
    assert standin.messages("C_ALERTS") == []


def test_it_posts_an_in_channel_ack_to_the_channel(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    receiver.respond = lambda _r: Answer(
        body=json.dumps({"response_type": "in_channel", "text": "shared"})
    )
    standin.send_command("U_BOB", "C_ALERTS", "alerts open")
    typed, shared = standin.messages("C_ALERTS")
    assert (typed["user"], typed["text"]) == ("U_BOB", "/411 alerts open")
    assert (shared["user"], shared["text"]) == ("U_411BOT", "shared")


def test_it_tells_the_user_when_the_bot_does_not_ack_in_time(
    receiver: Receiver, clock: FakeClock
) -> None:
    def slow(_r: Received) -> Answer:
        time.sleep(0.6)
        return Answer()

    receiver.respond = slow
    with SlackStandIn(SECRET, "xoxb-t", receiver.url, ack_timeout=0.3) as standin:
        reply = standin.send_command("U_BOB", "C_ALERTS", "search test 1")
        assert reply.status is None and reply.error == "operation_timeout"
        [notice] = standin.ephemerals("U_BOB")
        assert notice.from_slack and notice.text == '/411 failed with the error "operation_timeout"'


def test_it_tells_the_user_when_the_bot_refuses(standin: SlackStandIn, receiver: Receiver) -> None:
    receiver.respond = lambda _r: Answer(status=401, body="")
    reply = standin.send_command("U_BOB", "C_ALERTS", "help", unsigned=True)
    assert reply.status == 401
    assert standin.ephemerals("U_BOB")[0].text == '/411 failed with the error "dispatch_failed"'


def test_it_builds_block_actions_from_the_stored_message(
    standin: SlackStandIn, client: WebClient, receiver: Receiver
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    standin.click("U_BOB", "C_ALERTS", ts, "take")
    standin.click("U_BOB", "C_ALERTS", ts, "snooze", selected_option="1h")
    standin.click("U_BOB", "C_ALERTS", ts, "assign", selected_user="U_CAROL")
    take, snooze, assign = (r.payload for r in receiver.requests)
    assert all(verified(r) for r in receiver.requests)
    assert take["type"] == "block_actions" and take["user"]["id"] == "U_BOB"
    assert take["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C_ALERTS",
        "is_ephemeral": False,
    }
    assert take["channel"]["id"] == "C_ALERTS" and take["message"]["ts"] == ts
    assert take["message"]["blocks"] == standin.message("C_ALERTS", ts)["blocks"]  # type: ignore[index]
    assert take["actions"][0]["action_id"] == "take" and take["actions"][0]["value"] == "alert-1"
    assert take["actions"][0]["block_id"] == "alert_actions"
    assert take["trigger_id"] and take["response_url"].startswith(standin.url)
    assert snooze["actions"][0]["selected_option"]["value"] == "1h"
    assert snooze["state"]["values"]["alert_actions"]["snooze"]["selected_option"]["value"] == "1h"
    assert assign["actions"][0]["selected_user"] == "U_CAROL"


def test_it_refuses_to_click_what_is_not_there(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    with pytest.raises(InteractionError):
        standin.click("U_BOB", "C_ALERTS", ts, "no_such_button")
    with pytest.raises(InteractionError):
        standin.click("U_BOB", "C_ALERTS", "1.000001", "take")
    with pytest.raises(SelectionError):
        standin.click("U_BOB", "C_ALERTS", ts, "snooze", selected_option="forever")


def _response_url(standin: SlackStandIn, receiver: Receiver, **click: str) -> str:
    if click:
        standin.click(**click)
    else:
        standin.send_command("U_BOB", "C_ALERTS", "alerts")
    return str(
        receiver.requests[-1].form.get("response_url")
        or receiver.requests[-1].payload["response_url"]
    )


def test_a_response_url_replaces_and_deletes_the_original_message(
    standin: SlackStandIn, client: WebClient, receiver: Receiver
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    url = _response_url(
        standin, receiver, user_id="U_BOB", channel_id="C_ALERTS", message_ts=ts, action_id="take"
    )
    webhook = WebhookClient(url)
    assert webhook.send(text="taken by bob", replace_original=True).status_code == 200
    assert standin.message("C_ALERTS", ts)["text"] == "taken by bob"  # type: ignore[index]
    assert (
        webhook.send(text="just you", response_type="ephemeral", replace_original=False).status_code
        == 200
    )
    assert [e.text for e in standin.ephemerals("U_BOB")] == ["just you"]
    assert (
        webhook.send(
            text="everyone", response_type="in_channel", replace_original=False
        ).status_code
        == 200
    )
    assert webhook.send(delete_original=True).status_code == 200
    assert [m["text"] for m in standin.messages("C_ALERTS")] == ["everyone"]


def test_a_response_url_replaces_an_ephemeral_it_came_from(
    standin: SlackStandIn, client: WebClient, receiver: Receiver
) -> None:
    ts = client.chat_postEphemeral(
        channel="C_ALERTS", user="U_BOB", text="list", blocks=alert_blocks()
    )["message_ts"]
    url = _response_url(
        standin, receiver, user_id="U_BOB", channel_id="C_ALERTS", message_ts=ts, action_id="take"
    )
    assert receiver.requests[-1].payload["container"]["is_ephemeral"] is True
    assert "message" not in receiver.requests[-1].payload
    WebhookClient(url).send(text="updated list", replace_original=True)
    assert [e.text for e in standin.ephemerals("U_BOB")] == ["updated list"]


def test_a_response_url_works_five_times_within_thirty_minutes(
    standin: SlackStandIn, receiver: Receiver, clock: FakeClock
) -> None:
    webhook = WebhookClient(_response_url(standin, receiver))
    statuses = [webhook.send(text=f"reply {i}").status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert json.loads(webhook.send(text="again").body)["error"] == "used_url"
    fresh = WebhookClient(_response_url(standin, receiver))
    clock.advance(30 * 60 + 1)
    expired = fresh.send(text="too late")
    assert expired.status_code == 404 and json.loads(expired.body)["error"] == "expired_url"
    assert len(standin.ephemerals("U_BOB")) == 5


def test_a_response_url_checks_the_message_like_the_web_api(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    webhook = WebhookClient(_response_url(standin, receiver))
    bad = webhook.send(
        text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    )
    assert bad.status_code == 400 and json.loads(bad.body)["error"] == "invalid_blocks"
    empty = webhook.send(text="")
    assert empty.status_code == 400 and json.loads(empty.body)["error"] == "no_text"
