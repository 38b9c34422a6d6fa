"""The page's JSON API, over HTTP as the page uses it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from standin import SlackStandIn

from .conftest import SECRET, Answer, Receiver, alert_blocks, modal


def get(standin: SlackStandIn, path: str) -> Any:
    with urllib.request.urlopen(f"{standin.url}{path}", timeout=10) as response:
        return json.loads(response.read())


def post(standin: SlackStandIn, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{standin.url}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_state_shows_what_this_user_sees(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    client.chat_postMessage(channel="C_ALERTS", text="taken", thread_ts=ts)
    client.chat_postEphemeral(channel="C_ALERTS", user="U_BOB", text="psst")
    client.views_publish(user_id="U_BOB", view={"type": "home", "blocks": alert_blocks()})
    bob = get(standin, "ui/api/state?user=U_BOB")
    alice = get(standin, "ui/api/state?user=U_ALICE")
    assert bob["team"]["id"] == "T0411" and bob["me"] == "U_BOB"
    assert {c["name"] for c in bob["channels"]} >= {"alerts", "digest", "general"}
    [message] = bob["messages"]["C_ALERTS"]
    assert message["blocks"][0]["type"] == "header"
    assert [r["text"] for r in message["replies"]] == ["taken"] and message["reply_count"] == 1
    assert [e["text"] for e in bob["ephemerals"]] == ["psst"] and alice["ephemerals"] == []
    assert bob["home"]["type"] == "home" and alice["home"] is None
    assert bob["last_event_id"] > 0


def test_the_events_poll_returns_when_something_changes(
    standin: SlackStandIn, client: WebClient
) -> None:
    since = get(standin, "ui/api/state?user=U_BOB")["last_event_id"]
    assert get(standin, f"ui/api/events?since={since}&timeout=0.1")["last_event_id"] == since
    result: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: result.update(get(standin, f"ui/api/events?since={since}&timeout=10"))
    )
    waiter.start()
    client.chat_postMessage(channel="C_ALERTS", text="new")
    waiter.join(timeout=10)
    assert result["last_event_id"] > since


def test_a_command_typed_in_the_page_reaches_the_bot(
    standin: SlackStandIn, receiver: Receiver
) -> None:
    receiver.respond = lambda _r: Answer(body=json.dumps({"text": "3 searches"}))
    status, body = post(
        standin,
        "ui/api/command",
        {"user": "U_CAROL", "channel": "C_ALERTS", "text": "/411 search list"},
    )
    assert status == 200 and body["reply"]["status"] == 200
    assert receiver.requests[-1].form["command"] == "/411"
    assert receiver.requests[-1].form["text"] == "search list"
    state = get(standin, "ui/api/state?user=U_CAROL")
    assert [e["text"] for e in state["ephemerals"]] == ["3 searches"]
    sent = len(receiver.requests)
    status, body = post(
        standin, "ui/api/command", {"user": "U_CAROL", "channel": "C_ALERTS", "text": "/412 x"}
    )
    assert (
        status == 400 and "not a valid command" in body["error"] and len(receiver.requests) == sent
    )


def test_buttons_pressed_in_the_page_reach_the_bot(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    status, _ = post(
        standin,
        "ui/api/action",
        {
            "user": "U_BOB",
            "channel": "C_ALERTS",
            "message_ts": ts,
            "action_id": "snooze",
            "selected_option": "30m",
        },
    )
    assert status == 200
    assert receiver.requests[-1].payload["actions"][0]["selected_option"]["value"] == "30m"
    status, body = post(
        standin,
        "ui/api/action",
        {"user": "U_BOB", "channel": "C_ALERTS", "message_ts": ts, "action_id": "nope"},
    )
    assert status == 400 and body["ok"] is False


def test_modals_are_submitted_and_closed_from_the_page(
    standin: SlackStandIn, receiver: Receiver, client: WebClient
) -> None:
    standin.send_command("U_ALICE", "C_ALERTS", "search create")
    view_id = client.views_open(trigger_id=receiver.requests[-1].form["trigger_id"], view=modal())[
        "view"
    ]["id"]
    status, _ = post(
        standin, "ui/api/view_submission", {"user": "U_ALICE", "view_id": view_id, "values": {}}
    )
    assert status == 200
    [shown] = get(standin, "ui/api/state?user=U_ALICE")["modals"]
    assert shown["errors"] == {
        "note": "Please fill out this field.",
        "resolution": "Please fill out this field.",
    }
    status, _ = post(standin, "ui/api/view_closed", {"user": "U_ALICE", "view_id": view_id})
    assert status == 200 and get(standin, "ui/api/state?user=U_ALICE")["modals"] == []
    status, _ = post(standin, "ui/api/home_opened", {"user": "U_ALICE"})
    assert status == 200 and receiver.requests[-1].payload["event"]["type"] == "app_home_opened"


def test_it_serves_the_page_and_its_files(tmp_path: Path, receiver: Receiver) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>411</title>")
    (tmp_path / "app.js").write_text("console.log(1)")
    with SlackStandIn(SECRET, "xoxb-t", receiver.url, static_dir=tmp_path) as standin:
        with urllib.request.urlopen(standin.url) as page:
            assert b"<title>411</title>" in page.read()
        with urllib.request.urlopen(f"{standin.url}static/app.js") as script:
            assert script.headers["Content-Type"].startswith("text/javascript")
        try:
            urllib.request.urlopen(f"{standin.url}static/../../etc/passwd")
            raise AssertionError("path traversal must not be served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
