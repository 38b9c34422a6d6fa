"""Block Kit and mrkdwn as the page draws them, with data that tries to become HTML."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from slack_sdk import WebClient

from bot.cli.dev_stack import DevStack
from tests.browser.conftest import open_as, screenshot

HOSTILE = (
    '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> '
    "&lt;b&gt;not bold&lt;/b&gt; <javascript:window.pwned=3|click me>"
)

pytestmark = pytest.mark.browser


def post(stack: DevStack, **kwargs: Any) -> str:
    assert stack.runtime is not None
    client = WebClient(
        token=stack.runtime.settings.slack_bot_token, base_url=stack.runtime.settings.slack_api_url
    )
    return str(client.chat_postMessage(channel="C_GENERAL", **kwargs)["ts"])


def test_no_text_in_a_message_becomes_markup(page: Any, dev_stack: DevStack) -> None:
    ts = post(dev_stack, text=HOSTILE)
    open_as(page, dev_stack, "U_ALICE", "C_GENERAL")
    message = page.locator(f"[data-testid=message][data-ts='{ts}']")
    expect(message).to_be_visible()
    assert message.locator("img, script, b").count() == 0
    assert message.locator("a").count() == 0  # a javascript: link stays text
    expect(message).to_contain_text("<b>not bold</b>")
    expect(message).to_contain_text("click me")
    assert page.evaluate("window.pwned") is None


def test_it_renders_block_kit_as_slack_does(page: Any, dev_stack: DevStack) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly report"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*bold* _italic_ ~strike~ `code` <https://example.com|a link> "
                "<@U_BOB> <!subteam^S_ONCALL> <!here> <!date^1700000000^{date_num}|Nov 14>",
            },
            "accessory": {
                "type": "overflow",
                "action_id": "demo_overflow",
                "options": [{"text": {"type": "plain_text", "text": "Open"}, "value": "open"}],
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Open*\n3"},
                {"type": "mrkdwn", "text": "*Resolved*\n12"},
            ],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "context line"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "```line one\n*not bold*```"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "b1",
                    "text": {"type": "plain_text", "text": "Go"},
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "b2",
                    "text": {"type": "plain_text", "text": "Stop"},
                    "style": "danger",
                },
                {
                    "type": "static_select",
                    "action_id": "s1",
                    "placeholder": {"type": "plain_text", "text": "Pick"},
                    "option_groups": [
                        {
                            "label": {"type": "plain_text", "text": "Soon"},
                            "options": [
                                {"text": {"type": "plain_text", "text": "1 hour"}, "value": "1h"}
                            ],
                        }
                    ],
                },
            ],
        },
    ]
    ts = post(dev_stack, text="fallback", blocks=blocks)
    open_as(page, dev_stack, "U_ALICE", "C_GENERAL")
    message = page.locator(f"[data-testid=message][data-ts='{ts}']")
    expect(message.get_by_test_id("bk-header")).to_have_text("Weekly report")
    section = message.locator(".bk-section-text").first
    expect(section.locator("b")).to_have_text("bold")
    expect(section.locator("i")).to_have_text("italic")
    expect(section.locator("s")).to_have_text("strike")
    expect(section.locator("code")).to_have_text("code")
    expect(section.locator("a")).to_have_attribute("href", "https://example.com")
    expect(section.locator(".mk-mention[data-user=U_BOB]")).to_have_text("@bob")
    expect(section.locator(".mk-group")).to_have_text("@oncall")
    expect(section.locator(".mk-broadcast")).to_have_text("@here")
    expect(section.locator(".mk-date")).to_have_text("2023-11-14")
    expect(message.locator(".bk-field")).to_have_count(2)
    expect(message.locator("hr.bk-divider")).to_have_count(1)
    expect(message.locator("pre.mk-pre")).to_contain_text("*not bold*")
    expect(message.locator("button.bk-btn-primary")).to_have_text("Go")
    expect(message.locator("button.bk-btn-danger")).to_have_text("Stop")
    expect(message.locator("select[data-action-id=s1] optgroup")).to_have_attribute("label", "Soon")
    message.locator("button.bk-overflow-btn").click()
    expect(message.locator(".bk-menu-item")).to_have_text("Open")
    screenshot(page, "10-block-kit")
