"""The stand-in against a real slack_bolt App: what Bolt accepts, Slack would have sent.

A small Bolt app (not the 411 bot) runs behind a threaded HTTP server; the stand-in sends
it commands, clicks and submissions, and the app answers through the stand-in's Web API
and response_urls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from standin import SlackStandIn

from .conftest import SECRET, TOKEN, alert_blocks, modal


def build_app(client: WebClient) -> App:
    app = App(signing_secret=SECRET, client=client)

    @app.command("/411")
    def command(
        ack: Ack, body: dict[str, Any], say: Say, respond: Respond, client: WebClient
    ) -> None:
        if body["text"] == "modal":
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=modal())
        elif body["text"] == "post":
            ack()
            say(text="P1 ssh into prod", blocks=alert_blocks())
        else:
            ack(text="Usage: /411 post | modal")
            respond(text="(sent later through the response_url)")

    @app.action("take")
    def take(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        blocks = body["message"]["blocks"][:2]
        respond(replace_original=True, text=f"taken by {user}", blocks=blocks)
        client.chat_postMessage(
            channel=body["channel"]["id"], thread_ts=body["message"]["ts"], text=f"{user} took it"
        )

    @app.view("resolve")
    def resolve(ack: Ack, view: dict[str, Any]) -> None:
        note = view["state"]["values"]["note"]["note_input"]["value"]
        if len(note) < 5:
            ack(response_action="errors", errors={"note": "Tell us a bit more"})
        else:
            ack()

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(
            user_id=event["user"], view={"type": "home", "blocks": alert_blocks()[:1]}
        )

    return app


def serve(app: App) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            response = app.dispatch(BoltRequest(body=body, headers=dict(self.headers.items())))
            data = response.body.encode()
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def live() -> Iterator[SlackStandIn]:
    standin = SlackStandIn(SECRET, TOKEN).start()
    client = WebClient(base_url=standin.api_url, token=TOKEN)
    server = serve(build_app(client))  # App() calls auth.test on the stand-in here
    standin.set_bot_url(f"http://127.0.0.1:{server.server_address[1]}/slack/events")
    yield standin
    server.shutdown()
    server.server_close()
    standin.stop()


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_a_command_posts_an_alert_and_a_button_updates_it(live: SlackStandIn) -> None:
    assert live.send_command("U_ALICE", "C_ALERTS", "post").ok
    [alert] = wait_for(lambda: live.messages("C_ALERTS"))  # Bolt acks first, then says
    assert alert["text"] == "P1 ssh into prod" and len(alert["blocks"]) == 3
    assert live.click("U_BOB", "C_ALERTS", alert["ts"], "take").ok
    updated = wait_for(
        lambda: (m := live.message("C_ALERTS", alert["ts"])) and m.get("edited") and m
    )
    assert updated["text"] == "taken by U_BOB" and len(updated["blocks"]) == 2
    [reply] = wait_for(lambda: live.replies("C_ALERTS", alert["ts"]))
    assert reply["text"] == "U_BOB took it"


def test_bolt_accepts_the_signature_and_refuses_tampering(live: SlackStandIn) -> None:
    reply = live.send_command("U_BOB", "C_ALERTS", "help")
    assert (
        reply.ok and reply.body == "Usage: /411 post | modal"
    )  # Bolt acks bare text as text/plain
    assert wait_for(lambda: len(live.ephemerals("U_BOB")) == 2)
    assert {e.text for e in live.ephemerals("U_BOB")} == {
        "Usage: /411 post | modal",
        "(sent later through the response_url)",
    }
    forged = live.send_command("U_BOB", "C_ALERTS", "help", signature_override="v0=" + "1" * 64)
    unsigned = live.send_command("U_BOB", "C_ALERTS", "help", unsigned=True)
    stale = live.send_command(
        "U_BOB", "C_ALERTS", "help", timestamp_override=int(time.time()) - 301
    )
    assert [forged.status, unsigned.status, stale.status] == [401, 401, 401]


def test_a_modal_shows_bolts_errors_then_closes(live: SlackStandIn) -> None:
    assert live.send_command("U_CAROL", "C_ALERTS", "modal").ok
    [view] = wait_for(lambda: live.modal_stack("U_CAROL"))
    values = {"note": {"note_input": "fp"}, "resolution": {"resolution_select": "not_an_issue"}}
    live.submit_view("U_CAROL", view.id, values)
    assert live.modal_stack("U_CAROL")[0].errors == {"note": "Tell us a bit more"}
    values["note"]["note_input"] = "a false positive from the scanner"
    live.submit_view("U_CAROL", view.id, values)
    assert live.modal_stack("U_CAROL") == []


def test_opening_app_home_lets_bolt_publish_it(live: SlackStandIn) -> None:
    assert live.open_home("U_DAVE").ok
    view = wait_for(lambda: live.home_view("U_DAVE"))
    assert view.definition["blocks"][0]["type"] == "header"
