"""HTTP mode: every request to /slack/events must carry a valid, fresh Slack signature."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from bot.models import Search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer

CREATE = 'search create name=forged source=file path=/tmp/x.log schedule="every 5m"'


def _no_search(runtime: Runtime) -> bool:
    with runtime.sessions() as session:
        return session.scalar(select(Search.id)) is None


def test_it_refuses_a_forged_signature(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    reply = standin.send_command("U_ALICE", "C_ALERTS", CREATE, signature_override="v0=" + "0" * 64)
    assert reply.status == 401
    time.sleep(0.3)
    assert _no_search(runtime)
    assert [e.text for e in standin.ephemerals("U_ALICE") if not e.from_slack] == []


def test_it_refuses_an_unsigned_request(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    reply = standin.send_command("U_ALICE", "C_ALERTS", CREATE, unsigned=True)
    assert reply.status == 401
    time.sleep(0.3)
    assert _no_search(runtime)


def test_it_refuses_a_request_older_than_five_minutes(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    reply = standin.send_command(
        "U_ALICE", "C_ALERTS", CREATE, timestamp_override=int(time.time()) - 301
    )
    assert reply.status == 401
    time.sleep(0.3)
    assert _no_search(runtime)


def test_it_accepts_the_same_request_properly_signed(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    reply = standin.send_command("U_ALICE", "C_ALERTS", CREATE)
    assert reply.status == 200


def test_it_answers_health_checks_and_unknown_paths(bot: BotServer) -> None:
    base = bot.url.rsplit("/slack/events", 1)[0]
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["ok"] is True
    try:
        urllib.request.urlopen(f"{base}/nope", timeout=5)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404


@pytest.mark.parametrize(
    "tamper",
    [
        {"timestamp_override": "not-a-number"},
        {"timestamp_override": "1.5e9"},
        {"timestamp_override": "9" * 5000},  # past int()'s digit limit
        {"signature_override": "v0=é" + "0" * 63},  # compare_digest refuses non-ASCII
        {"signature_override": "garbage"},
    ],
)
def test_malformed_signature_headers_get_401_never_500(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tamper: dict[str, str]
) -> None:
    reply = standin.send_command("U_ALICE", "C_ALERTS", CREATE, **tamper)
    assert reply.status == 401
    time.sleep(0.2)
    assert _no_search(runtime)
