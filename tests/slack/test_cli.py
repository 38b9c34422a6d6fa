"""`411 serve` as a process, pointed at the stand-in; Socket Mode's app without signatures."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest

from bot.runtime import Runtime
from bot.slack.app import build_app
from standin import SlackStandIn
from tests.slack.conftest import SECRET, TOKEN, wait_for

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_411_serve_answers_health_checks_and_signed_commands(
    db_url: str, standin: SlackStandIn
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ) as response:
                    return bool(json.loads(response.read())["ok"])
            except OSError:
                return False

        wait_for(healthy, timeout=30, what="411 serve to start")
        assert standin.calls("auth.test")  # the token was checked at start-up
        standin.set_bot_url(f"http://127.0.0.1:{port}/slack/events")
        assert standin.send_command("U_BOB", "C_ALERTS", "help").ok
        wait_for(lambda: standin.ephemerals("U_BOB", "C_ALERTS"), what="the help text")
        assert standin.send_command("U_BOB", "C_ALERTS", "help", unsigned=True).status == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_411_serve_refuses_to_start_without_a_signing_secret(db_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], cwd=REPO, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert b"SLACK_SIGNING_SECRET" in result.stderr


def test_the_socket_mode_app_handles_a_command_without_a_signature(
    runtime: Runtime, standin: SlackStandIn
) -> None:
    app = build_app(runtime, socket_mode=True)
    body = urlencode(
        {
            "command": "/411",
            "text": "help",
            "user_id": "U_BOB",
            "channel_id": "C_ALERTS",
            "team_id": "T0411",
            "response_url": f"{standin.url}nowhere",
            "trigger_id": "t",
        }
    )
    started = time.monotonic()
    response = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200 and time.monotonic() - started < 3
