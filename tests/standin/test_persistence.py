"""A stand-in given a `state_path` keeps its workspace across a stop and a start."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from standin import RateLimits, SlackStandIn
from standin.persist import StateFileError

from .conftest import SECRET, TOKEN, FakeClock, Receiver, alert_blocks
from .test_files import tiny_png

StandInFactory = Callable[[], SlackStandIn]


@pytest.fixture
def started(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> Iterator[tuple[Path, StandInFactory]]:
    """Start stand-ins on one state file (the same fake clock: ts must not repeat anyway)."""
    path = tmp_path / "data" / "standin.json"
    running: list[SlackStandIn] = []

    def start() -> SlackStandIn:
        standin = SlackStandIn(
            SECRET,
            TOKEN,
            receiver.url,
            clock=clock,
            rate_limits=RateLimits(enabled=False),
            state_path=path,
        ).start()
        running.append(standin)
        return standin

    yield path, start
    for standin in running:
        standin.stop()


def test_it_answers_for_messages_threads_and_files_from_before_a_restart(
    started: tuple[Path, StandInFactory],
) -> None:
    _, start = started
    first = start()
    client = WebClient(base_url=first.api_url, token=TOKEN)
    parent = client.chat_postMessage(channel="C_ALERTS", text="alert", blocks=alert_blocks())["ts"]
    reply = client.chat_postMessage(channel="C_ALERTS", text="taken by bob", thread_ts=parent)
    upload = client.files_upload_v2(channel="C_DIGEST", content=tiny_png(), filename="chart.png")
    file_id = upload["file"]["id"]
    first.stop()

    second = start()
    client = WebClient(base_url=second.api_url, token=TOKEN)
    history = client.conversations_history(channel="C_ALERTS")["messages"]
    assert [(m["ts"], m["text"]) for m in history] == [(parent, "alert")]
    assert history[0]["reply_count"] == 1
    assert history[0]["blocks"][2]["elements"][0]["action_id"] == "take"
    replies = client.conversations_replies(channel="C_ALERTS", ts=parent)["messages"]
    assert [m["ts"] for m in replies] == [parent, reply["ts"]]

    updated = client.chat_update(channel="C_ALERTS", ts=parent, text="alert (taken)")
    shown = second.message("C_ALERTS", parent)
    assert updated["ok"] and shown is not None and shown["text"] == "alert (taken)"
    later = client.chat_postMessage(channel="C_ALERTS", text="more", thread_ts=parent)["ts"]
    assert float(later) > float(reply["ts"]), "ts keep increasing across the restart"

    assert second.file_bytes(file_id) == tiny_png()
    again = client.files_upload_v2(channel="C_DIGEST", content=b"x", filename="b.txt")
    assert again["file"]["id"] != file_id, "file ids are not handed out twice"


def test_it_keeps_the_app_home_so_a_publish_with_the_old_hash_still_applies(
    started: tuple[Path, StandInFactory],
) -> None:
    _, start = started
    first = start()
    client = WebClient(base_url=first.api_url, token=TOKEN)
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a"}}],
    }
    published = client.views_publish(user_id="U_ALICE", view=home)["view"]
    first.stop()

    second = start()
    kept = second.home_view("U_ALICE")
    assert kept is not None and kept.id == published["id"] and kept.hash == published["hash"]
    client = WebClient(base_url=second.api_url, token=TOKEN)
    client.views_publish(user_id="U_ALICE", view=home, hash=published["hash"])


def test_it_writes_the_file_shortly_after_a_change_while_running(
    started: tuple[Path, StandInFactory],
) -> None:
    path, start = started
    standin = start()
    client = WebClient(base_url=standin.api_url, token=TOKEN)
    ts = client.chat_postMessage(channel="C_GENERAL", text="saved without a stop")["ts"]
    deadline = time.monotonic() + 5
    saved: list[str] = []
    while time.monotonic() < deadline and ts not in saved:
        if path.exists():
            saved = [m["ts"] for m in json.loads(path.read_text())["messages"]]
        time.sleep(0.1)
    assert ts in saved
    assert [p.name for p in path.parent.iterdir()] == ["standin.json"], "no temporary file left"


def test_it_refuses_a_damaged_file_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "standin.json"
    path.write_text('{"version": 1, "users": [')
    with pytest.raises(StateFileError, match=r"standin\.json is damaged"):
        SlackStandIn(SECRET, TOKEN, state_path=path)
    assert path.read_text() == '{"version": 1, "users": ['
