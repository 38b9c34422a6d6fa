"""Rate limits: 429 with Retry-After, per channel for chat.postMessage, per tier otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin import RateLimits, SlackStandIn
from standin.ratelimit import RateLimiter

from .conftest import SECRET, TOKEN, FakeClock


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[SlackStandIn]:
    s = SlackStandIn(SECRET, TOKEN, clock=clock, rate_limits=RateLimits(post_burst=3))
    s.start()
    yield s
    s.stop()


def test_it_answers_429_with_retry_after_when_a_channel_is_posted_to_too_fast(
    limited: SlackStandIn, clock: FakeClock
) -> None:
    client = WebClient(base_url=limited.api_url, token=TOKEN)
    for i in range(3):
        client.chat_postMessage(channel="C_ALERTS", text=f"burst {i}")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C_ALERTS", text="one too many")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert limited.rate_limited_count == 1
    assert [m["text"] for m in limited.messages("C_ALERTS")] == [f"burst {i}" for i in range(3)]
    # Other channels are not held up; the limited one recovers after Retry-After.
    client.chat_postMessage(channel="C_DIGEST", text="elsewhere")
    clock.advance(1.0)
    client.chat_postMessage(channel="C_ALERTS", text="after waiting")


def test_it_enforces_method_tiers_per_minute(limited: SlackStandIn, clock: FakeClock) -> None:
    limited.rate_limits.tier_per_minute[3] = 2
    client = WebClient(base_url=limited.api_url, token=TOKEN)
    ts = client.chat_postMessage(channel="C_ALERTS", text="x")["ts"]
    client.chat_update(channel="C_ALERTS", ts=ts, text="1")
    clock.advance(20)
    client.chat_update(channel="C_ALERTS", ts=ts, text="2")
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C_ALERTS", ts=ts, text="3")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "40"
    clock.advance(40)
    client.chat_update(channel="C_ALERTS", ts=ts, text="4")
    assert limited.ctx.limiter.limited["chat.update"] == 1


def test_it_can_be_loosened_or_turned_off(limited: SlackStandIn) -> None:
    limited.rate_limits.enabled = False
    client = WebClient(base_url=limited.api_url, token=TOKEN)
    for i in range(20):
        client.chat_postMessage(channel="C_ALERTS", text=f"{i}")
    assert limited.rate_limited_count == 0


def test_the_channel_bucket_refills_at_one_message_per_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(post_burst=2, post_per_channel_per_second=1.0), clock)
    assert limiter.check("chat.postMessage", "C1") is None
    assert limiter.check("chat.postMessage", "C1") is None
    assert limiter.check("chat.postMessage", "C1") == 1
    clock.advance(0.5)
    assert limiter.check("chat.postMessage", "C1") == 1
    clock.advance(0.5)
    assert limiter.check("chat.postMessage", "C1") is None
    assert limiter.limited["chat.postMessage"] == 2


def test_the_workspace_cap_refunds_the_channel_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(post_burst=5, post_per_minute_workspace=1), clock)
    assert limiter.check("chat.postMessage", "C1") is None
    assert limiter.check("chat.postMessage", "C2") == 60
    clock.advance(60)
    assert limiter.check("chat.postMessage", "C2") is None
