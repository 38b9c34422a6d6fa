"""`/411 search edit` merges source settings; `/411 search test <id>` looks over a real range."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.models import Search, SearchRevision
from bot.runtime import Runtime
from bot.slack.commands.preview import preview_window
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_search, wait_for


def _said(standin: SlackStandIn, user: str, count: int) -> str:
    wait_for(lambda: len(standin.ephemerals(user, "C_ALERTS")) >= count, what=f"reply #{count}")
    return str(standin.ephemerals(user, "C_ALERTS")[count - 1].text)


def _answer(standin: SlackStandIn, user: str, count: int) -> str:
    """The ``count``-th preview answer (each test is acked with a notice first)."""

    def answers() -> list[str]:
        return [e.text for e in standin.ephemerals(user, "C_ALERTS") if "Working on" not in e.text]

    wait_for(lambda: len(answers()) >= count, what=f"answer #{count}")
    return answers()[count - 1]


def test_it_merges_edited_source_settings_and_takes_the_reason_for_the_history(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(
        runtime,
        source="alerts",  # a source whose settings need no cluster or file to check
        source_config={"mode": "count", "states": ["new"]},
        owner="U_BOB",
    )
    standin.send_command(
        "U_BOB", "C_ALERTS", f'search edit {search_id} mode=hits reason="only failures"'
    )
    assert "updated" in _said(standin, "U_BOB", 1)
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None
        assert search.source_config == {"mode": "hits", "states": ["new"]}
        reasons = list(
            session.scalars(
                select(SearchRevision.reason).where(SearchRevision.search_id == search_id)
            )
        )
    assert reasons[-1] == "only failures"


def _log(tmp_path: Path, minutes_ago: int, users: list[str]) -> Path:
    path = tmp_path / "auth.log"
    now = datetime.now(UTC)
    with path.open("w") as out:
        for i, user in enumerate(users):
            stamp = (now - timedelta(minutes=minutes_ago, seconds=i)).isoformat()
            out.write(json.dumps({"@timestamp": stamp, "outcome": "failure", "user": user}) + "\n")
    return path


def test_it_tests_a_search_that_just_ran_over_its_look_back_range_or_the_given_one(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    log = _log(tmp_path, minutes_ago=5, users=["ann", "ben", "cid"])
    search_id = add_search(
        runtime,
        source_config={"path": str(log), "query": "outcome:failure"},
        key_fields=["user"],
        lookback_seconds=900,
        # It ran 10 s ago: the time since then holds no events.
        last_window_end=datetime.now(UTC) - timedelta(seconds=10),
        title_template="{{ 1 / 0 }}",
    )
    standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id}")
    text = _answer(standin, "U_ALICE", 1)
    assert "*3* hits" in text, text
    assert "Template errors" in text and "division" in text.lower()
    standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id} last=1m")
    assert "*0* hits" in _answer(standin, "U_ALICE", 2)
    standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id} from=now-10m to=now-4m")
    assert "*3* hits" in _answer(standin, "U_ALICE", 3)
    standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id} from=yesterday")
    assert "is not a time" in _answer(standin, "U_ALICE", 4)


def test_it_reads_test_windows_from_options() -> None:
    now = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert preview_window({}, 900, now).start == now - timedelta(minutes=15)
    assert preview_window({"last": "1h"}, 900, now).start == now - timedelta(hours=1)
    window = preview_window({"from": "2026-01-31T08:00", "to": "now-1h"}, 900, now)
    assert (window.start, window.end) == (
        datetime(2026, 1, 31, 8, 0, tzinfo=UTC),
        datetime(2026, 1, 31, 11, 0, tzinfo=UTC),
    )
