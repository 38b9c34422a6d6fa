"""The search modal in a real browser, for two sources: their own settings, hints and errors.

Choosing a source swaps in that source's inputs (the page sends the menu's choice,
the bot updates the view); errors land under the input they concern; people,
channels, clusters and user groups are menus. Screenshots: artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers
from playwright.sync_api import expect

from bot.cli.dev_stack import DevOptions, DevStack
from bot.demo.scenario import Timing
from tests.browser.conftest import _require_chromium, open_as, screenshot
from tests.browser.test_alert_flow import type_command

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def es_stack(tmp_path_factory: pytest.TempPathFactory, es_url: str) -> Iterator[DevStack]:
    """`411 dev` with Elasticsearch as its cluster "default" (and the demo as usual)."""
    _require_chromium()
    root = tmp_path_factory.mktemp("dev-es")
    options = DevOptions(
        port=0,
        database_url=f"sqlite:///{root / 'dev.db'}",
        data_dir=root / "data",
        seed=17,
        timing=Timing(),
    )
    stack = DevStack(options, environ={"ELASTICSEARCH_URL": es_url}).start()
    yield stack
    stack.stop()


@pytest.fixture
def logins(es: Elasticsearch, es_index: str) -> str:
    docs = [{"@timestamp": "2026-11-29T11:50:00Z", "event": "login", "user": "mallory"}]
    helpers.bulk(es, [{"_index": es_index, "_source": d} for d in docs], refresh="wait_for")
    return es_index


def open_create(page: Any) -> Any:
    type_command(page, "/411 search create")
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    return modal


def test_the_elasticsearch_form_checks_fields_against_the_cluster(
    page: Any, es_stack: DevStack, logins: str
) -> None:
    open_as(page, es_stack, "U_ALICE")
    modal = open_create(page)
    modal.locator("select[data-action-id=source]").select_option("elasticsearch")
    index = modal.locator("input[data-action-id='sc.index']")
    expect(index).to_be_visible()  # the Elasticsearch settings came in
    expect(modal.locator("select[data-action-id='sc.cluster']")).to_have_value("default")
    expect(modal.locator("select[data-action-id='sc.mode']")).to_have_value("hits")
    expect(modal).to_contain_text("e.g. logs-*")  # this source's hint
    expect(modal.locator("select[data-action-id=owner]")).to_be_visible()  # a person, picked
    index.scroll_into_view_if_needed()
    screenshot(page, "16-search-modal-elasticsearch-settings")
    modal.locator("input[data-action-id=name]").fill("Mallory logs in")
    index.fill(logins)
    modal.locator("textarea[data-action-id='sc.query']").fill("event:login AND user:mallory")
    modal.locator("input[data-action-id=key_fields]").fill("usr")
    modal.get_by_test_id("modal-submit").click()
    error = modal.locator("[data-testid=input-error][data-block-id=key_fields]")
    expect(error).to_contain_text("no field `usr`")
    expect(error).to_contain_text("did you mean `user`?")
    error.scroll_into_view_if_needed()
    screenshot(page, "17-search-modal-elasticsearch-field-error")

    modal.locator("input[data-action-id=key_fields]").fill("user")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()
    type_command(page, '/411 search show "Mallory logs in"')
    shown = page.get_by_test_id("ephemeral").filter(has_text="version 1")
    expect(shown).to_contain_text(logins)


def test_the_file_form_has_its_own_settings_and_errors_under_them(
    page: Any, dev_stack: DevStack
) -> None:
    open_as(page, dev_stack, "U_ALICE")
    modal = open_create(page)
    modal.locator("select[data-action-id=source]").select_option("file")
    path = modal.locator("input[data-action-id='sc.path']")
    expect(path).to_be_visible()
    expect(modal.locator("input[data-action-id='sc.index']")).to_have_count(0)  # not ES's
    expect(modal).to_contain_text("NDJSON on the bot's host")
    path.scroll_into_view_if_needed()
    screenshot(page, "16-search-modal-file-settings")
    modal.locator("input[data-action-id=name]").fill("Failed logins per address")
    path.fill(str(dev_stack.events_path))
    modal.locator("textarea[data-action-id='sc.query']").fill("event.type:login")
    modal.locator("select[data-action-id='sc.mode']").select_option("terms")
    modal.get_by_test_id("modal-submit").click()
    error = modal.locator("[data-testid=input-error][data-block-id='sc.group_by']")
    expect(error).to_contain_text("is required in terms mode")
    error.scroll_into_view_if_needed()
    screenshot(page, "18-search-modal-file-settings-error")

    modal.locator("input[data-action-id='sc.group_by']").fill("source.ip")
    modal.locator("input[data-action-id=condition]").fill("count > 20")
    modal.locator("input[data-action-id=key_fields]").fill("source.ip")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden()


def test_a_non_admin_is_not_offered_privileged_sources(page: Any, dev_stack: DevStack) -> None:
    open_as(page, dev_stack, "U_BOB")
    modal = open_create(page)
    offered = modal.locator("select[data-action-id=source] option").all_inner_texts()
    assert "elasticsearch" in offered and "http" in offered
    assert "file" not in offered and "sql" not in offered
    screenshot(page, "19-search-modal-sources-for-a-non-admin")
