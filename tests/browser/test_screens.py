"""The messages people read, captured at 1400 px (a desktop) and 390 px (a phone).

Each state of an alert (open, acknowledged, snoozed, resolved, resolved by itself), a
burst, a maintenance notice and a digest, from the demo running in the dev stack,
driven through the page as a person would. The screenshots go to artifacts/screens/;
with UPDATE_SCREENS=1 to docs/screens/ (the README shows two), so a test run does not
rewrite tracked files. The tests check what a reader sees at a glance: the first line of
each state differs, a resolved alert is a few lines, a demo alert fits two phone
screens, the digest's chart is in the channel post.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from bot.alerts.permissions import SlackDirectory
from bot.alerts.visibility import channel_search_ids
from bot.cli.dev_stack import DevStack
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.digest.compose import build_digest, enqueue_digest
from bot.digest.periods import parse_timezone
from bot.models import DigestPeriod, utcnow
from bot.text.links import permalink_base
from tests.browser.conftest import REPO, open_as

pytestmark = pytest.mark.browser

SCREENS = REPO / ("docs" if os.environ.get("UPDATE_SCREENS") == "1" else "artifacts") / "screens"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 14's CSS pixels
ALERT_WAIT_MS = 150_000  # the all-clear needs the demo's outage to end (40 s) and a run
LINE_PX = 22  # one line of message text in the page (15px * 1.47)


def capture(page: Any, message: Any, name: str) -> dict[int, float]:
    """The message at both widths, written to docs/screens/<name>-<width>.png; its heights."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    heights: dict[int, float] = {}
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        path = SCREENS / f"{name}-{size['width']}.png"
        _settled(partial(message.screenshot, path=str(path), animations="disabled"))
        box = _settled(message.bounding_box)
        assert box is not None and path.stat().st_size > 1000
        heights[size["width"]] = box["height"]
    page.set_viewport_size(DESKTOP)
    return heights


def _settled(action: Any, tries: int = 4) -> Any:
    """The page redraws a message when anything in the channel changes: try again then."""
    for attempt in range(tries):
        try:
            return action()
        except PlaywrightError:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)
    return None


def block_height(page: Any, blocks: Any, size: dict[str, int]) -> float:
    page.set_viewport_size(size)
    box = blocks.bounding_box()
    page.set_viewport_size(DESKTOP)
    assert box is not None
    return float(box["height"])


def first_line(message: Any) -> str:
    """What the message says first: its header block, or its first section's text."""
    return str(message.locator(".bk-blocks > *").first.inner_text()).strip()


def message_with(page: Any, text: str) -> Any:
    found = page.locator("#messages [data-testid=message]").filter(has_text=text).first
    expect(found).to_be_visible(timeout=ALERT_WAIT_MS)
    ts = found.get_attribute("data-ts")
    return page.locator(f"#messages [data-testid=message][data-ts='{ts}']")


def type_command(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


@pytest.fixture(scope="module")
def shots() -> dict[str, str]:
    """First lines by state, filled in as the tests run (in file order)."""
    return {}


def test_an_open_alert_from_the_demo_fits_two_phone_screens(
    page: Any, dev_stack: DevStack, shots: dict[str, str]
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    alert = message_with(page, "opened an ssh session on")
    expect(alert.get_by_test_id("bk-header")).to_contain_text("High")
    expect(alert).to_contain_text("User name 🔑")  # a leaf field, readable label
    expect(alert.locator("button[data-action-id=alert_hits]")).to_be_visible()
    assert "{" not in str(alert.locator(".bk-fields").inner_text())  # no parent-object JSON
    heights = capture(page, alert, "alert-open")
    assert heights[390] <= 2 * PHONE["height"], heights
    shots["open"] = first_line(alert)


def test_an_acknowledged_alert_says_who_has_it_first(
    page: Any, dev_stack: DevStack, shots: dict[str, str]
) -> None:
    open_as(page, dev_stack, "U_BOB")
    alert = message_with(page, "failed logins from")
    alert.locator("button[data-action-id=alert_take]").click()
    expect(alert.locator(".bk-blocks > *").first).to_contain_text("👀 @bob")
    expect(alert.locator("button[data-action-id=alert_take]")).to_have_count(0)
    capture(page, alert, "alert-acknowledged")
    shots["acknowledged"] = first_line(alert)


def test_a_snoozed_alert_says_until_when_first(
    page: Any, dev_stack: DevStack, shots: dict[str, str]
) -> None:
    open_as(page, dev_stack, "U_CAROL")
    alert = message_with(page, "Scraper at work:")
    alert.locator("select[data-action-id=alert_snooze]").select_option(label="4 hours")
    expect(alert.locator(".bk-blocks > *").first).to_contain_text("💤 until")
    capture(page, alert, "alert-snoozed")
    shots["snoozed"] = first_line(alert)


def test_a_resolved_alert_collapses_to_a_few_lines_with_reopen(
    page: Any, dev_stack: DevStack, shots: dict[str, str]
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    alert = message_with(page, "opened an ssh session on")
    alert.locator("button[data-action-id=alert_resolve]").click()
    modal = page.get_by_test_id("modal")
    modal.get_by_label("Not an issue").check()
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    expect(alert).to_contain_text("✅ Resolved by @alice · not an issue")
    expect(alert.locator("button[data-action-id=alert_reopen]")).to_be_visible()
    capture(page, alert, "alert-resolved")
    blocks = alert.locator(".bk-blocks")
    assert blocks.locator("> *").count() == 1
    # A few lines: one on a desktop (the Reopen button is as tall), at most four on a phone.
    assert block_height(page, blocks, DESKTOP) < 2 * LINE_PX, "more than a line on a desktop"
    assert block_height(page, blocks, PHONE) < 5 * LINE_PX, "more than four lines on a phone"
    shots["resolved"] = first_line(alert)
    alert.get_by_test_id("open-thread").click()
    thread = page.get_by_test_id("thread-pane")
    expect(thread).to_contain_text("User name")  # the details moved to the thread


def test_an_auto_resolved_alert_says_it_cleared_and_tells_the_channel(
    page: Any, dev_stack: DevStack, shots: dict[str, str]
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    alert = message_with(page, "Successful logins dropped to zero")
    # Single sign-on comes back 40 s after the demo starts; the next run clears the alert.
    expect(alert).to_contain_text("✅ Cleared", timeout=ALERT_WAIT_MS)
    capture(page, alert, "alert-auto-resolved")
    shots["auto-resolved"] = first_line(alert)
    notice = message_with(page, "All clear")  # the thread reply, broadcast to the channel
    expect(notice).to_contain_text("replied to a thread")
    capture(page, notice, "alert-all-clear")


def test_the_five_states_read_differently_in_the_first_line(shots: dict[str, str]) -> None:
    assert set(shots) == {"open", "acknowledged", "snoozed", "resolved", "auto-resolved"}
    assert len(set(shots.values())) == 5, shots
    assert shots["open"].startswith("🟠 High")
    assert shots["acknowledged"].startswith("👀 @bob")
    assert shots["snoozed"].startswith("💤 until")
    assert shots["resolved"].startswith("✅ Resolved by @alice")
    assert shots["auto-resolved"].startswith("✅ Cleared")


def _add_burst_search(stack: DevStack) -> str:
    """A search that finds many new keys in one run: one summary post, a burst."""
    assert stack.runtime is not None
    name = f"Pages fetched by the scraper {uuid.uuid4().hex[:4]}"
    raw = {
        "name": name,
        "source": "file",
        "source_config": {"path": str(stack.events_path) + "*", "query": "event.type:http_request"},
        "schedule": "every 10s",
        "lookback": "10m",
        "condition": "any",
        "key_fields": ["url.path"],
        "priority": "low",
        "channel": "C_ALERTS",
        "title": "{{ fields['url.path'] }} fetched",
    }
    with stack.runtime.sessions.begin() as session:
        create_search(session, parse_definition(raw), "U_ALICE")
    return name


def test_a_burst_is_one_summary_post(page: Any, dev_stack: DevStack) -> None:
    name = _add_burst_search(dev_stack)
    open_as(page, dev_stack, "U_ALICE")
    burst = message_with(page, f"new alerts from {name}")
    expect(burst.locator("button[data-action-id=burst_resolve]")).to_be_visible()
    capture(page, burst, "burst")
    shots_maintenance(page, dev_stack, name)


def shots_maintenance(page: Any, stack: DevStack, name: str) -> None:
    """Planned work on the burst's search: the window's start is announced in its channel."""
    type_command(page, f'/411 maintenance add for=1h search="{name}" CDN move')
    expect(page.get_by_test_id("ephemeral").filter(has_text="Scheduled")).to_be_visible()
    notice = message_with(page, "has started")
    expect(notice).to_contain_text("alerts are recorded, not posted")
    capture(page, notice, "maintenance-start")


def test_the_digest_shows_its_chart_in_the_channel_post(page: Any, dev_stack: DevStack) -> None:
    runtime = dev_stack.runtime
    assert runtime is not None
    now = utcnow()
    with runtime.sessions.begin() as session:
        digest = build_digest(
            session,
            period=DigestPeriod.DAILY,
            start=now - timedelta(days=1),
            end=now,
            tz=parse_timezone("UTC"),
            now=now,
            link_base=permalink_base(runtime.settings.slack_api_url),
            # What every member of #digest may see, as the scheduler counts it.
            scope=channel_search_ids(
                session, "C_DIGEST", runtime.settings, SlackDirectory(runtime.slack_client())
            ),
        )
        enqueue_digest(session, digest, "C_DIGEST", f"digest:screens:{now:%H%M%S}")
    open_as(page, dev_stack, "U_ALICE", "C_DIGEST")
    post = message_with(page, "daily digest")
    chart = post.locator("img.bk-image-el")
    expect(chart).to_be_visible()
    page.wait_for_function(
        "document.querySelector('#messages img.bk-image-el').naturalWidth > 100", timeout=10_000
    )
    expect(post).to_contain_text("Time to acknowledge")
    heights = capture(page, post, "digest")
    assert heights[390] <= 2 * PHONE["height"], heights
    post.get_by_test_id("open-thread").click()
    thread = page.get_by_test_id("thread-pane")
    expect(thread).to_contain_text("By priority")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENS / "digest-thread-390.png"))
    assert Path(SCREENS / "digest-thread-390.png").stat().st_size > 1000
