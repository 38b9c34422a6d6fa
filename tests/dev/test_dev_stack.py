"""`411 dev` in-process (no demo): what a person types reaches the bot as Slack would send it."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli.dev_stack import DevOptions, DevStack, database_url_option
from bot.errors import BotError
from bot.models import Search


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[DevStack]:
    # Bolt reads SLACK_BOT_TOKEN itself, whatever the settings say: as a real shell may have it.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    caplog.set_level(logging.WARNING)
    options = DevOptions(
        port=0,
        database_url=database_url_option(str(tmp_path / "dev.db")),
        data_dir=tmp_path / "data",
        demo=False,
    )
    running = DevStack(options, environ={}).start()
    yield running
    running.stop()


def test_channel_owner_and_group_mentions_typed_in_a_command_are_stored_as_ids(
    stack: DevStack, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("")
    text = (
        f'/411 search create name="typed mentions" source=file path={log} query="outcome:failure"'
        ' schedule="every 5m" channel=#alerts owner=@carol oncall_group=@oncall'
        " restricted_to=@bob,@security"
    )
    answer = post_json(
        f"{stack.page_url}ui/api/command", {"user": "U_ALICE", "channel": "C_GENERAL", "text": text}
    )
    assert answer["ok"] and answer["reply"]["status"] == 200, answer
    assert stack.runtime is not None
    with stack.runtime.sessions() as session:
        search = session.scalar(select(Search).where(Search.name == "typed mentions"))
    assert search is not None, stack.standin and stack.standin.ephemerals("U_ALICE")
    assert (search.channel, search.owner) == ("C_ALERTS", "U_CAROL")
    assert search.oncall_group == "S_ONCALL"
    assert search.restricted_to == ["U_BOB", "S_SECURITY"]


def test_it_starts_without_bolts_client_and_token_warning(
    stack: DevStack, caplog: pytest.LogCaptureFixture
) -> None:
    assert stack.bot_url
    started = caplog.get_records("setup")  # the fixture started the stack
    warnings = [r.getMessage() for r in started if r.levelno >= logging.WARNING]
    assert not [w for w in warnings if "`token` will be unused" in w], warnings


def test_a_plain_file_path_in_db_becomes_an_absolute_sqlite_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url_option("x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url_option("sqlite:///y.db") == "sqlite:///y.db"
    assert database_url_option("postgresql://u@h/d") == "postgresql://u@h/d"


def test_a_db_value_that_is_no_url_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(BotError, match=r"^--db 'nosuch://x' is neither a usable database URL"):
        database_url_option("nosuch://x")
