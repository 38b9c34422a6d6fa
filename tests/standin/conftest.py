"""Fixtures for the stand-in's own tests: the stand-in, a WebClient on it, a fake bot.

`Receiver` is a tiny HTTP server standing where the bot would: it records every request
the stand-in sends and answers with whatever the test's `respond` function returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient

from standin import RateLimits, SlackStandIn

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON of an interaction (`payload=` form field) or of an event (JSON body)."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return dict(json.loads(self.body))
        return dict(json.loads(self.form["payload"]))


@dataclass
class Answer:
    status: int = 200
    body: str = ""
    content_type: str = "application/json"


@dataclass
class Receiver:
    """Records requests; `respond(received)` decides the answer (default: empty 200)."""

    requests: list[Received] = field(default_factory=list)
    respond: Callable[[Received], Answer] = lambda _r: Answer()

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.path, dict(self.headers.items()), body)
                receiver.requests.append(received)
                answer = receiver.respond(received)
                data = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeClock:
    """A clock tests move by hand (trigger_id and response_url lifetimes, rate limits)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(receiver: Receiver, clock: FakeClock) -> Iterator[SlackStandIn]:
    s = SlackStandIn(
        SECRET, TOKEN, receiver.url, clock=clock, rate_limits=RateLimits(enabled=False)
    )
    s.start()
    yield s
    s.stop()


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(base_url=standin.api_url, token=TOKEN)


def button(action_id: str, text: str, value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def alert_blocks() -> list[dict[str, Any]]:
    """A message shaped like a 411 alert: header, fields, buttons, a snooze menu."""
    snooze = {
        "type": "static_select",
        "action_id": "snooze",
        "placeholder": {"type": "plain_text", "text": "Snooze"},
        "options": [
            {"text": {"type": "plain_text", "text": "30 min"}, "value": "30m"},
            {"text": {"type": "plain_text", "text": "1 hour"}, "value": "1h"},
        ],
    }
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "P1 ssh into prod"}},
        {
            "type": "section",
            "block_id": "fields",
            "fields": [{"type": "mrkdwn", "text": "*host* `db1`"}],
        },
        {
            "type": "actions",
            "block_id": "alert_actions",
            "elements": [
                button("take", "Take it", "alert-1"),
                snooze,
                {
                    "type": "users_select",
                    "action_id": "assign",
                    "placeholder": {"type": "plain_text", "text": "Assign"},
                },
            ],
        },
    ]


def modal(title: str = "Resolve", with_input: bool = True, **extra: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Resolve the alert"}}
    ]
    if with_input:
        blocks += [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            },
            {
                "type": "input",
                "block_id": "resolution",
                "label": {"type": "plain_text", "text": "Resolution"},
                "element": {
                    "type": "static_select",
                    "action_id": "resolution_select",
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Action taken"},
                            "value": "action_taken",
                        },
                        {
                            "text": {"type": "plain_text", "text": "Not an issue"},
                            "value": "not_an_issue",
                        },
                    ],
                },
            },
        ]
    view = {
        "type": "modal",
        "callback_id": "resolve",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks,
    }
    if with_input:
        view["submit"] = {"type": "plain_text", "text": "Resolve"}
    view.update(extra)
    return view
