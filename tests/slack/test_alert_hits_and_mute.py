""" "Show hits" and "Mute this key…" on an alert, through the stand-in and the real bot.

The hits come from the search's own source (a log file here), asked again over the
time the alert was seen and narrowed to the alert's key; the mute is a suppression
that the next run honours.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId, MoreChoice
from bot.models import AlertAction, AlertEvent, Suppression
from bot.runs.hits import PAGE
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for

HOSTILE = "<!channel> `tick` *bold* <https://evil.example|click>"


def _log(tmp_path: Path, now: datetime) -> Path:
    """Twelve failed logins of bob (one with a hostile message), two of alice."""
    lines = []
    for i in range(12):
        message = HOSTILE if i == 3 else f"failed password #{i}"
        at = now - timedelta(seconds=60 - i)
        lines.append({"@timestamp": at.isoformat(), "user": "bob", "n": i, "message": message})
    for i in range(2):
        at = now - timedelta(seconds=30 + i)
        lines.append({"@timestamp": at.isoformat(), "user": "alice", "n": 100 + i})
    path = tmp_path / "auth.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _alert(runtime: Runtime, loop: DeliveryLoop, log: Path) -> tuple[int, str]:
    search_id = add_search(
        runtime, source_config={"path": str(log), "mode": "hits"}, lookback_seconds=600
    )
    alert_id = add_alert(runtime, search_id, dedupe_key="user=bob", content={"user": "bob", "n": 0})
    drain(loop)
    alert = get_alert(runtime, alert_id)
    assert alert.message_ts
    return alert_id, alert.message_ts


def _texts(view: Any) -> str:
    from bot.messages.limits import iter_texts

    return "\n".join(iter_texts(view.definition.get("blocks") or []))


def test_show_hits_pages_through_the_alerts_own_hits_escaped(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop, tmp_path: Path
) -> None:
    alert_id, ts = _alert(runtime, loop, _log(tmp_path, datetime.now(UTC)))
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.HITS, value=str(alert_id)).ok
    view = wait_for(
        lambda: [v for v in standin.modal_stack("U_BOB") if "12* hits" in _texts(v)],
        what="the hits modal, filled in",
    )[-1]
    text = _texts(view)
    assert "Page 1 of 3" in text and '"user": "bob"' in text and "alice" not in text
    assert text.count("```") == 2 * PAGE  # one pretty-printed block per hit
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text  # escaped
    assert standin.click_in_view("U_BOB", view.id, f"{ActionId.HITS_PAGE}_next", value="1").ok
    page_two = wait_for(
        lambda: [v for v in standin.modal_stack("U_BOB") if "Page 2 of 3" in _texts(v)],
        what="page two",
    )[-1]
    assert '"n": 5' in _texts(page_two) and '"n": 0' not in _texts(page_two)


def test_mute_this_key_creates_a_suppression_and_refuses_a_bad_duration(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop, tmp_path: Path
) -> None:
    alert_id, ts = _alert(runtime, loop, _log(tmp_path, datetime.now(UTC)))
    more = {"selected_option": {"value": f"{MoreChoice.MUTE.value}:{alert_id}"}}
    assert standin.click("U_BOB", "C_ALERTS", ts, ActionId.MORE, **more).ok
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the mute modal")[-1]

    def values(duration: str) -> dict[str, Any]:
        return {
            "duration": {"duration": {"type": "plain_text_input", "value": duration}},
            "reason": {"reason": {"type": "plain_text_input", "value": "pen test this week"}},
        }

    bad = standin.submit_view("U_BOB", modal.id, values("100d"))
    assert "duration" in bad.json()["errors"]
    with runtime.sessions() as session:
        assert session.scalars(select(Suppression)).all() == []
    good = standin.submit_view("U_BOB", modal.id, values("2h"))
    assert good.ok and not standin.modal_stack("U_BOB")
    with runtime.sessions() as session:
        row = session.scalars(select(Suppression)).one()
        assert row.dedupe_key == "user=bob" and row.reason == "pen test this week"
        assert row.expires_at is not None and row.created_by == "U_BOB"
        event = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        ).all()[-1]
        assert event.action == AlertAction.MUTED and event.detail["suppression_id"] == row.id
    drain(loop)
    reply = standin.replies("C_ALERTS", ts)[-1]["text"]
    assert f"SUP-{row.id}" in reply and "muted key" in reply
