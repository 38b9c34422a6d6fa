"""Block Kit limits: the validator alone, and Slack's error codes through the Web API."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin.limits import check_message_blocks, check_view

from .conftest import alert_blocks, button, modal


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def refusal(client: WebClient, blocks: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C_ALERTS", text="fallback", blocks=blocks)
    return dict(caught.value.response.data)


def test_it_accepts_a_well_formed_alert_message() -> None:
    assert check_message_blocks(alert_blocks()) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        (
            [section("x" * 3001)],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "[json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            "must be one of: plain_text [json-pointer:/blocks/0/text/type]",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "[json-pointer:/blocks/0/fields/0/text]",
        ),
        (
            [{"type": "actions", "elements": [button("b", "x" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button("b", "ok", "v" * 2001)]}],
            "[json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button(f"b{i}", "ok") for i in range(26)]}],
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        ([section("a")] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
        ([{**section("a"), "block_id": "x" * 256}], "[json-pointer:/blocks/0/block_id]"),
        (
            [{**section("a"), "block_id": "b"}, {**section("c"), "block_id": "b"}],
            "duplicate block_id: b",
        ),
        (
            [{"type": "actions", "elements": [{**button("b", "ok"), "action_id": "a" * 256}]}],
            "[json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "overflow", "action_id": "o", "options": []}],
                }
            ],
            "must provide at least 1 items [json-pointer:/blocks/0/elements/0/options]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            **button("b", "ok"),
                            "confirm": {
                                "title": {"type": "plain_text", "text": "t" * 101},
                                "text": {"type": "plain_text", "text": "sure?"},
                                "confirm": {"type": "plain_text", "text": "yes"},
                                "deny": {"type": "plain_text", "text": "no"},
                            },
                        }
                    ],
                }
            ],
            "[json-pointer:/blocks/0/elements/0/confirm/title/text]",
        ),
    ],
)
def test_it_explains_each_limit_like_slack(blocks: list[dict[str, Any]], expected: str) -> None:
    errors = check_message_blocks(blocks)
    assert any(expected in e for e in errors), errors
    assert all(e.startswith("[ERROR] ") for e in errors)


def test_it_limits_select_options_and_their_text() -> None:
    option = {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v" * 151}
    select = {"type": "static_select", "action_id": "s", "options": [option] * 101}
    errors = check_message_blocks([{"type": "actions", "elements": [select]}])
    pointer = "/blocks/0/elements/0/options"
    assert any(f"no more than 100 items allowed [json-pointer:{pointer}]" in e for e in errors)
    assert any(f"[json-pointer:{pointer}/0/text/text]" in e for e in errors)
    assert any(f"[json-pointer:{pointer}/0/value]" in e for e in errors)


def test_it_answers_invalid_blocks_with_slacks_explanation(client: WebClient) -> None:
    body = refusal(client, [section("x" * 3001)])
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


def test_it_refuses_more_than_fifty_blocks_in_a_message(client: WebClient) -> None:
    assert refusal(client, [section("a")] * 51)["error"] == "invalid_blocks"
    client.chat_postMessage(channel="C_ALERTS", text="ok", blocks=[section("a")] * 50)


def test_it_refuses_blocks_too_long_in_total(client: WebClient) -> None:
    big = [section("x" * 2900) for _ in range(5)]
    assert refusal(client, big)["error"] == "msg_blocks_too_long"


def test_it_checks_updates_and_ephemerals_too(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="ok")["ts"]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_update(channel="C_ALERTS", ts=ts, text="x", blocks=[section("")])
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postEphemeral(channel="C_ALERTS", user="U_BOB", text="x", blocks=[section("")])


def test_it_accepts_a_well_formed_modal_and_home() -> None:
    assert check_view(modal()) == []
    assert check_view({"type": "home", "blocks": alert_blocks()}) == []


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal(title="t" * 25), "/view/title/text"),
        (modal(submit={"type": "plain_text", "text": "s" * 25}), "/view/submit/text"),
        (modal(close={"type": "plain_text", "text": "c" * 25}), "/view/close/text"),
        (modal(private_metadata="m" * 3001), "/view/private_metadata"),
        (modal(callback_id="c" * 256), "/view/callback_id"),
        ({**modal(), "blocks": [section("a")] * 101}, "/view/blocks"),
        ({k: v for k, v in modal().items() if k != "submit"}, "/view/submit"),
        ({k: v for k, v in modal().items() if k != "title"}, "/view"),
    ],
)
def test_it_checks_view_limits(view: dict[str, Any], pointer: str) -> None:
    errors = check_view(view)
    assert any(f"[json-pointer:{pointer}]" in e for e in errors), errors


def test_it_allows_a_modal_without_submit_when_it_has_no_inputs() -> None:
    assert check_view(modal(with_input=False)) == []


def test_it_allows_exactly_the_limits() -> None:
    assert check_view(modal(title="t" * 24, private_metadata="m" * 3000)) == []
    assert (
        check_message_blocks(
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]
        )
        == []
    )
    assert check_message_blocks([section("x" * 3000)]) == []
