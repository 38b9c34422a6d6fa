"""The search modal fits its person and its source; list and history say what matters."""

from __future__ import annotations

import json

from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.models import RunStatus, SearchRun
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, wait_for


def _sources_offered(standin: SlackStandIn, user: str) -> list[str]:
    standin.send_command(user, "C_ALERTS", "search create")
    modal = wait_for(lambda: standin.modal_stack(user), what="the modal")[-1]
    [block] = [b for b in modal.definition["blocks"] if b["block_id"] == "source"]
    assert block["dispatch_action"] is True  # choosing one swaps in its settings
    return [o["value"] for o in block["element"]["options"]]


def test_privileged_sources_are_offered_to_admins_only(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    offered_to_bob = _sources_offered(standin, "U_BOB")
    assert "elasticsearch" in offered_to_bob and "http" in offered_to_bob
    assert "file" not in offered_to_bob and "sql" not in offered_to_bob
    assert {"file", "sql"} <= set(_sources_offered(standin, "U_ALICE"))  # an admin


def _save_alerts_search(runtime: Runtime) -> int:
    raw = {"name": "alert storm", "source": "alerts", "source_config": {"mode": "count"},
           "schedule": "every 5m", "owner": "U_ALICE", "channel": "C_ALERTS"}  # fmt: skip
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_ALICE", "created").id


def test_the_edit_modal_asks_why_and_the_history_shows_what_changed(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = _save_alerts_search(runtime)
    standin.send_command("U_ALICE", "C_ALERTS", f"search edit {search_id}")
    modal = wait_for(lambda: standin.modal_stack("U_ALICE"), what="the edit modal")[-1]
    blocks = {b["block_id"]: b for b in modal.definition["blocks"]}
    assert "why" in blocks and blocks["why"]["optional"] is True
    # The alerts source has no form of its own: its settings are YAML, with its example.
    assert "min_doc_count" in blocks["source_config"]["hint"]["text"]
    changed = dict(modal.state_values)
    changed["schedule"] = {"schedule": {"type": "plain_text_input", "value": "every 15m"}}
    changed["why"] = {"why": {"type": "plain_text_input", "value": "too noisy at 5 minutes"}}
    saved = standin.submit_view("U_ALICE", modal.id, changed)
    assert saved.ok and not saved.body.strip(), saved.body
    standin.send_command("U_ALICE", "C_ALERTS", f"search show {search_id}")
    shown = wait_for(
        lambda: [e for e in standin.ephemerals("U_ALICE", "C_ALERTS") if e.blocks],
        what="search show",
    )[-1]
    history = json.dumps(shown.blocks)
    assert "too noisy at 5 minutes" in history
    assert "schedule: every 5m \\u2192 every 15m" in history


def test_search_list_shows_owner_channel_priority_schedule_last_run_and_health(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    from datetime import UTC, datetime

    search_id = _save_alerts_search(runtime)
    with runtime.sessions.begin() as session:
        now = datetime.now(UTC)
        session.add(SearchRun(search_id=search_id, scheduled_for=now, status=RunStatus.FAILED,
                              finished_at=now, error="boom"))  # fmt: skip
    standin.send_command("U_ALICE", "C_ALERTS", "search list")
    listing = wait_for(lambda: standin.ephemerals("U_ALICE", "C_ALERTS"), what="the list")[-1].text
    assert "*alert storm*" in listing and "medium" in listing and "every 5m" in listing
    assert "owner <@U_ALICE>" in listing and "<#C_ALERTS>" in listing
    assert "last run: failed" in listing and "health: failing (1)" in listing


def test_user_groups_are_picked_from_the_workspace_list(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    standin.send_command("U_ALICE", "C_ALERTS", "search create")
    modal = wait_for(lambda: standin.modal_stack("U_ALICE"), what="the modal")[-1]
    [block] = [b for b in modal.definition["blocks"] if b["block_id"] == "oncall_group"]
    options = {o["value"]: o["text"]["text"] for o in block["element"]["options"]}
    assert block["element"]["type"] == "static_select"
    assert options == {"S_ONCALL": "@oncall", "S_SECURITY": "@security"}


def test_a_cloud_metadata_url_is_refused_when_the_search_is_saved(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    standin.send_command(
        "U_ALICE",
        "C_ALERTS",
        "search create name=meta source=http url=http://169.254.169.254/latest/meta-data",
    )
    said = wait_for(lambda: standin.ephemerals("U_ALICE", "C_ALERTS"), what="the reply")[-1].text
    assert (
        "`source_config.url`: refused: host 169.254.169.254 (169.254.169.254) is on the deny list"
        in said
    )
    standin.send_command(
        "U_ALICE", "C_ALERTS", "search create name=local source=http url=http://127.0.0.1:9/x"
    )
    said = wait_for(
        lambda: [
            e
            for e in standin.ephemerals("U_ALICE", "C_ALERTS")
            if "local" in e.text or "127.0.0.1" in e.text
        ],
        what="the second reply",
    )[-1].text
    assert "a loopback, private, link-local or reserved address" in said
