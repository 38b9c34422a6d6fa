"""`411 dev` stopped and started again on the same database and data dir: old alerts still work.

The stand-in keeps its workspace in <data-dir>/standin.json, so the messages the database
points at are still there after the restart, and pressing a button on one updates it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from .test_dev_command import ALERTS_WITHIN_SECONDS, Running, free_port, get_json

TAKEN = "*<@U_ALICE>*"  # the first line of a taken alert: "👀 *<@U_ALICE>*"


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def alert_messages(url: str) -> list[dict[str, Any]]:
    """Bot messages in #alerts with a Take button."""
    messages = get_json(f"{url}ui/api/state?user=U_ALICE")["messages"]["C_ALERTS"]
    return [m for m in messages if m.get("bot_id") and "alert_take" in json.dumps(m)]


def wait_for(check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    return None


def test_a_button_on_an_alert_posted_before_a_restart_updates_the_message(
    tmp_path: Path,
) -> None:
    first = Running(tmp_path, "--port", str(free_port()))
    try:
        assert first.ready.wait(60) and first.url, first.output
        url = first.url
        alerts = wait_for(lambda: alert_messages(url), ALERTS_WITHIN_SECONDS)
        assert alerts, f"no alert before the restart:\n{first.output}"
        ts = alerts[0]["ts"]
    finally:
        assert first.stop() == 0, first.output
    assert (tmp_path / "411-dev-data" / "standin.json").exists()

    second = Running(tmp_path, "--port", str(free_port()))
    try:
        assert second.ready.wait(60) and second.url, second.output
        url = second.url
        kept = {m["ts"]: m for m in alert_messages(url)}
        assert ts in kept, f"the alert {ts} is gone after the restart"
        assert TAKEN not in json.dumps(kept[ts])

        body = {"user": "U_ALICE", "channel": "C_ALERTS", "message_ts": ts}
        answer = post_json(f"{url}ui/api/action", {**body, "action_id": "alert_take"})
        assert answer["ok"] and answer["reply"]["status"] == 200, answer

        def taken() -> bool:  # a taken alert has no "Take it": look at every message
            state = get_json(f"{url}ui/api/state?user=U_ALICE")["messages"]["C_ALERTS"]
            now = {m["ts"]: m for m in state}
            return ts in now and TAKEN in json.dumps(now[ts])

        assert wait_for(taken, 30), f"the alert was not updated:\n{second.output}"
    finally:
        assert second.stop() == 0, second.output
    assert "message_not_found" not in second.output and "thread_not_found" not in second.output
