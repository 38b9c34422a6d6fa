"""Fault switches (500, 429 with Retry-After, hang; per method or for all) and
conversations.history with real timestamps: what a fault test needs of the stand-in."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin import SlackStandIn
from standin.faults import ALL, Fault, FaultMode
from tests.standin.conftest import SECRET, TOKEN


@pytest.fixture
def live() -> Iterator[SlackStandIn]:
    """A stand-in on the real clock (the shared fixture's clock is fake)."""
    standin = SlackStandIn(SECRET, TOKEN).start()
    yield standin
    standin.stop()


def _client(standin: SlackStandIn, timeout: int = 30) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[], timeout=timeout)


def test_a_500_switch_fails_only_its_method_until_cleared(live: SlackStandIn) -> None:
    client = _client(live)
    live.faults.set("chat.postMessage", Fault(FaultMode.ERROR))
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C_ALERTS", text="lost?")
    assert refused.value.response.status_code == 500
    assert live.messages("C_ALERTS") == []  # not performed
    assert client.auth_test()["ok"]  # other methods answer
    live.faults.clear()
    assert client.chat_postMessage(channel="C_ALERTS", text="now")["ok"]
    assert [m["text"] for m in live.messages("C_ALERTS")] == ["now"]


def test_a_500_after_accepting_leaves_the_post_in_the_channel(live: SlackStandIn) -> None:
    live.faults.set("chat.postMessage", Fault(FaultMode.ERROR, accept=True))
    with pytest.raises(SlackApiError):
        _client(live).chat_postMessage(channel="C_ALERTS", text="accepted anyway")
    assert [m["text"] for m in live.messages("C_ALERTS")] == ["accepted anyway"]


def test_a_429_switch_for_all_methods_carries_retry_after(live: SlackStandIn) -> None:
    live.faults.set(ALL, Fault(FaultMode.RATE_LIMITED, retry_after=7))
    with pytest.raises(SlackApiError) as limited:
        _client(live).auth_test()
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers.get("Retry-After") == "7"


def test_a_hang_times_the_client_out_and_then_posts(live: SlackStandIn) -> None:
    live.faults.set("chat.postMessage", Fault(FaultMode.HANG, seconds=2.0))
    started = time.monotonic()
    with pytest.raises(Exception, match="timed out"):
        _client(live, timeout=1).chat_postMessage(channel="C_ALERTS", text="late")
    assert time.monotonic() - started < 1.9
    deadline = time.monotonic() + 5
    while not live.messages("C_ALERTS") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["text"] for m in live.messages("C_ALERTS")] == ["late"]


def test_faults_switch_over_http(live: SlackStandIn) -> None:
    def post(body: dict[str, object]) -> int:
        request = urllib.request.Request(
            f"{live.url}/_faults", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request) as answer:
            return int(answer.status)

    assert post({"method": "auth.test", "mode": "500"}) == 200
    with pytest.raises(SlackApiError):
        _client(live).auth_test()
    assert post({"clear": True}) == 200
    assert _client(live).auth_test()["ok"]


def test_history_has_real_timestamps_and_honours_oldest(live: SlackStandIn) -> None:
    client = _client(live)
    before = time.time()
    first = client.chat_postMessage(channel="C_ALERTS", text="one")["ts"]
    time.sleep(0.05)
    middle = time.time()
    second = client.chat_postMessage(channel="C_ALERTS", text="two")["ts"]
    assert before - 1 < float(first) < float(second) < time.time() + 1
    page = client.conversations_history(channel="C_ALERTS", oldest=f"{middle:.6f}")
    assert [m["ts"] for m in page["messages"]] == [second]
