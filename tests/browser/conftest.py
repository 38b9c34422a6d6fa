"""A real browser on the real page: headless Chromium from Debian, driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (`apt-get install
chromium`). Without it the tests skip on a workstation and fail under CI=true, where
.ci/run installs it. The dev stack (`411 dev`, in-process, on free ports, with a temp
SQLite database and the demo) is started once for the module; each test gets a fresh
browser context. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.cli.dev_stack import DevOptions, DevStack
from bot.demo.scenario import Timing
from tests.conftest import in_ci

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The bot answers through the delivery loop and the page's long-poll: allow for both.
expect.set_options(timeout=20_000)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    _require_chromium()
    root = tmp_path_factory.mktemp("dev")
    options = DevOptions(
        port=0,
        database_url=f"sqlite:///{root / 'dev.db'}",
        data_dir=root / "data",
        seed=411,
        timing=Timing(),
    )
    stack = DevStack(options, environ={}).start()
    yield stack
    stack.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.set_default_timeout(20_000)
    yield opened
    context.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_as(page: Any, stack: DevStack, user: str, where: str = "C_ALERTS") -> None:
    page.goto(f"{stack.page_url}?user={user}#{where}")
    page.wait_for_selector("body[data-ready='1']")
