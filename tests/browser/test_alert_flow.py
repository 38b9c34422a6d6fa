"""The page as a person uses it: a slash command, an alert's buttons, a modal with errors.

Everything goes the real way: the page -> the stand-in's UI API -> a signed request to the
bot (waitress, Bolt) -> the database -> the delivery loop -> the stand-in's Web API ->
the page's next refresh.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from bot.cli.dev_stack import DevStack
from tests.browser.conftest import open_as, screenshot

ALERT_WAIT_MS = 60_000

pytestmark = pytest.mark.browser


def first_alert(page: Any) -> Any:
    """The oldest alert message in the channel that still offers "Take it"."""
    button = page.locator("[data-testid=message] button[data-action-id=alert_take]").first
    expect(button).to_be_visible(timeout=ALERT_WAIT_MS)
    ts = button.locator("xpath=ancestor::div[@data-testid='message']").get_attribute("data-ts")
    return page.locator(f"#messages [data-testid=message][data-ts='{ts}']")


def type_command(page: Any, text: str) -> None:
    box = page.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")


def test_it_answers_slash_411_search_list_with_a_reply_only_i_see(
    page: Any, dev_stack: DevStack
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    type_command(page, "/411 search list")
    reply = page.get_by_test_id("ephemeral").filter(has_text="Scraper at work")
    expect(reply).to_be_visible()
    expect(reply.get_by_test_id("only-visible-to-you")).to_be_visible()
    expect(reply).to_contain_text("Successful logins dropped to zero")
    screenshot(page, "01-search-list")


def test_it_takes_snoozes_and_resolves_an_alert_with_its_buttons(
    page: Any, dev_stack: DevStack
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    alert = first_alert(page)
    expect(alert.get_by_test_id("bk-header")).to_be_visible()
    screenshot(page, "02-alert-posted")

    alert.locator("button[data-action-id=alert_take]").click()
    expect(alert).to_contain_text("👀 @alice")
    screenshot(page, "03-alert-taken")

    alert.locator("select[data-action-id=alert_snooze]").select_option(label="1 hour")
    expect(alert).to_contain_text("💤 until")
    expect(alert.locator("button[data-action-id=alert_unsnooze]")).to_be_visible()
    screenshot(page, "04-alert-snoozed")

    alert.locator("button[data-action-id=alert_resolve]").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(modal.get_by_test_id("modal-title")).to_have_text("Resolve alert")
    modal.get_by_label("Not an issue").check()
    modal.locator("textarea[data-action-id=note]").fill("Lucy was shadowing the on-call engineer.")
    screenshot(page, "05-resolve-modal")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    expect(alert).to_contain_text("Resolved by @alice")
    expect(alert).to_contain_text("not an issue")
    expect(alert.locator("button[data-action-id=alert_reopen]")).to_be_visible()
    expect(alert.locator("button[data-action-id=alert_take]")).to_have_count(0)
    screenshot(page, "06-alert-resolved")

    alert.get_by_test_id("open-thread").click()
    thread = page.get_by_test_id("thread-pane")
    expect(thread).to_be_visible()
    expect(thread).to_contain_text("Lucy was shadowing")
    screenshot(page, "07-alert-thread")


def test_it_shows_a_field_error_under_a_bad_schedule_in_the_create_search_modal(
    page: Any, dev_stack: DevStack
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    type_command(page, "/411 search create")
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(modal.get_by_test_id("modal-title")).to_have_text("New search")
    modal.locator("input[data-action-id=name]").fill("Logins from a new country")
    modal.locator("select[data-action-id=source]").select_option("file")
    # The file source's own settings replace the others.
    modal.locator("input[data-action-id='sc.path']").fill(str(dev_stack.events_path))
    modal.locator("textarea[data-action-id='sc.query']").fill("event.type:login")
    modal.locator("input[data-action-id=schedule]").fill("every banana")
    modal.get_by_test_id("modal-submit").click()
    error = modal.locator("[data-testid=input-error][data-block-id=schedule]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("banana")
    # What was typed is still there, as in Slack.
    expect(modal.locator("input[data-action-id=name]")).to_have_value("Logins from a new country")
    error.scroll_into_view_if_needed()
    screenshot(page, "08-create-search-error")

    # Fixed, the same form is accepted: every kind of input reached the bot.
    expect(modal.locator("select[data-action-id=channel]")).to_have_value("C_ALERTS")
    expect(modal.get_by_label("Enabled")).to_be_checked()
    modal.locator("select[data-action-id=owner]").select_option("U_CAROL")
    modal.locator("select[data-action-id=priority]").select_option("low")
    modal.locator("input[data-action-id=schedule]").fill("every 10m")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    type_command(page, '/411 search show "Logins from a new country"')
    shown = page.get_by_test_id("ephemeral").filter(has_text="every 10m")
    expect(shown).to_contain_text("Logins from a new country")
    expect(shown).to_contain_text("@carol")


def test_it_opens_the_app_home_tab_with_the_open_alerts(page: Any, dev_stack: DevStack) -> None:
    open_as(page, dev_stack, "U_ALICE")
    expect(page.locator("#messages button[data-action-id=alert_take]").nth(1)).to_be_visible(
        timeout=ALERT_WAIT_MS
    )
    page.get_by_test_id("nav-home").click()
    home = page.get_by_test_id("home-view")
    expect(home).to_be_visible()
    expect(home.locator("[data-block-id^='alert:']").first).to_be_visible()
    expect(home.locator("button[data-action-id=home_create_search]")).to_be_visible()
    screenshot(page, "09-app-home")


def test_a_user_outside_the_channel_does_not_see_it(page: Any, dev_stack: DevStack) -> None:
    open_as(page, dev_stack, "U_ALICE")
    expect(page.get_by_test_id("nav-C_ALERTS")).to_be_visible()
    page.get_by_test_id("user-switcher").select_option("U_DAVE")
    expect(page.locator("body[data-user='U_DAVE']")).to_have_count(1)
    expect(page.get_by_test_id("nav-C_GENERAL")).to_be_visible()
    expect(page.get_by_test_id("nav-C_ALERTS")).to_have_count(0)


def test_the_digest_preview_shows_its_chart_inline(page: Any, dev_stack: DevStack) -> None:
    open_as(page, dev_stack, "U_ALICE")
    first_alert(page)  # a quiet day has no chart
    type_command(page, "/411 digest preview")
    preview = page.get_by_test_id("ephemeral").filter(has_text="daily digest")
    expect(preview).to_be_visible()
    expect(preview.locator("img.bk-image-el")).to_be_visible()
    page.wait_for_function(
        "document.querySelector('[data-testid=ephemeral] img.bk-image-el').naturalWidth > 100",
        timeout=10_000,
    )
    preview.scroll_into_view_if_needed()
    screenshot(page, "11-digest-preview")


def test_the_assign_menu_offers_only_people_who_may_act_on_the_alert(
    page: Any, dev_stack: DevStack
) -> None:
    open_as(page, dev_stack, "U_BOB")
    alert = first_alert(page)
    menu = alert.locator("select[data-action-id=alert_assign]")
    menu.focus()  # the page asks the bot for the options, as Slack does (block_suggestion)
    expect(menu.locator("option", has_text="Carol Analyst (@carol)")).to_have_count(1)
    labels = menu.locator("option").all_inner_texts()
    assert "Dave Outsider (@dave)" not in labels and not any("411" in label for label in labels)
    menu.select_option(label="Carol Analyst (@carol)")
    expect(alert).to_contain_text("👀 @carol")
