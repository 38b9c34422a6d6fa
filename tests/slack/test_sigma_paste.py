"""`/411 search create sigma`: a pasted Sigma rule becomes a search, through the stand-in.

Signed requests to the real bot; what the user sees comes back from the stand-in:
the modal, its per-field errors, the confirmation. A second paste of the same rule
updates its search; someone who may not change that search is told so.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import ClusterConfig
from bot.models import Priority, Search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, make_runtime, serve_bot, wait_for

RULE = """
title: Registry run key written
id: 7a1c0b9e-2222-4e8a-9c1f-2d3e4f5a6b7c
description: A value under a Run key starts a program at every logon.
references:
    - https://example.org/run-keys
tags:
    - attack.persistence
    - attack.t1547.001
logsource:
    product: windows
    category: registry_set
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run'
    condition: selection
falsepositives:
    - Software installers
level: high
"""
FIELD_REFERENCE_RULE = """
title: Same user on both sides
logsource: {product: linux, category: process_creation}
detection:
    selection:
        User|fieldref: ParentUser
    condition: selection
"""


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def values(rule: str, **chosen: str) -> dict[str, Any]:
    pipeline = chosen.pop("pipeline", "default")
    out: dict[str, Any] = {
        "rule": {"rule": text(rule)},
        "pipeline": {"pipeline": {"type": "static_select", "selected_option": {"value": pipeline}}},
        "schedule": {"schedule": text(chosen.pop("schedule", "every 5m"))},
        "channel": {
            "channel": {"type": "conversations_select", "selected_conversation": "C_ALERTS"}
        },
    }
    for block, value in chosen.items():
        out[block] = {block: text(value)}
    return out


def open_modal(standin: SlackStandIn, user: str) -> Any:
    standin.send_command(user, "C_ALERTS", "search create sigma")
    return wait_for(lambda: standin.modal_stack(user), what="the Sigma modal")[-1]


def imported(runtime: Runtime) -> list[Search]:
    with runtime.sessions() as session:
        found = list(session.scalars(select(Search).where(Search.origin.is_not(None))))
        for search in found:
            session.expunge(search)
        return found


def test_a_pasted_rule_becomes_a_search_and_a_second_paste_updates_it(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    modal = open_modal(standin, "U_ALICE")
    assert modal.definition["callback_id"] == "sigma_import_modal"
    blocks = {b["block_id"] for b in modal.definition["blocks"]}
    assert blocks == {"rule", "index", "pipeline", "cluster", "schedule", "channel"}

    reply = standin.submit_view("U_ALICE", modal.id, values("title: [unclosed\n"))
    assert "invalid YAML" in reply.json()["errors"]["rule"]
    reply = standin.submit_view("U_ALICE", modal.id, values(FIELD_REFERENCE_RULE))
    assert "field references" in reply.json()["errors"]["rule"]
    reply = standin.submit_view("U_ALICE", modal.id, values(RULE, schedule="every banana"))
    assert set(reply.json()["errors"]) == {"schedule"}
    reply = standin.submit_view("U_ALICE", modal.id, values(RULE, index="bad index"))
    assert set(reply.json()["errors"]) == {"index"}
    assert standin.modal_stack("U_ALICE") and imported(runtime) == []  # nothing half-saved

    reply = standin.submit_view("U_ALICE", modal.id, values(RULE))
    assert reply.ok and not reply.body.strip()
    said = wait_for(lambda: standin.ephemerals("U_ALICE", "C_ALERTS"), what="the confirmation")
    assert "Created search *Registry run key written*" in said[-1].text
    [search] = imported(runtime)
    assert search.origin == "sigma:7a1c0b9e-2222-4e8a-9c1f-2d3e4f5a6b7c"
    assert search.owner == "U_ALICE" and search.channel == "C_ALERTS"
    assert search.priority == Priority.HIGH
    assert search.tags == ["attack.persistence", "attack.t1547.001"]
    assert search.source_config == {
        "index": "winlogbeat-*",
        "query": "registry.path:*\\\\CurrentVersion\\\\Run*",  # ecs_windows, by log source
    }
    assert "Software installers" in search.body_template

    modal = open_modal(standin, "U_ALICE")
    renamed = RULE.replace("Registry run key written", "Run key value set")
    reply = standin.submit_view(
        "U_ALICE", modal.id, values(renamed, pipeline="ecs_windows_old", index="winlogbeat-6-*")
    )
    assert reply.ok
    wait_for(
        lambda: any(
            "Updated search *Run key value set*" in e.text
            for e in standin.ephemerals("U_ALICE", "C_ALERTS")
        ),
        what="the update's confirmation",
    )
    [search] = imported(runtime)
    assert search.name == "Run key value set" and search.version == 2
    assert search.source_config["query"] == "event_data.TargetObject:*\\\\CurrentVersion\\\\Run*"

    modal = open_modal(standin, "U_BOB")  # not the owner, not an admin
    reply = standin.submit_view("U_BOB", modal.id, values(RULE))
    assert "Only the owner" in reply.json()["errors"]["rule"]
    [search] = imported(runtime)
    assert search.version == 2


@pytest.fixture
def offline_runtime(db_url: str, standin: SlackStandIn) -> Iterator[Runtime]:
    """A cluster "default" that does not answer: saving checks what it can, then warns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends
    url = f"http://127.0.0.1:{port}"
    runtime = make_runtime(
        db_url, standin.api_url, clusters={"default": ClusterConfig("default", url)}
    )
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def offline_bot(offline_runtime: Runtime, standin: SlackStandIn) -> Iterator[BotServer]:
    server = serve_bot(offline_runtime, standin)
    yield server
    server.stop()


def test_editing_an_imported_search_in_the_form_keeps_it_matched_to_its_rule(
    offline_runtime: Runtime, standin: SlackStandIn, offline_bot: BotServer
) -> None:
    runtime = offline_runtime
    modal = open_modal(standin, "U_ALICE")
    assert standin.submit_view("U_ALICE", modal.id, values(RULE)).ok
    [search] = wait_for(lambda: imported(runtime), what="the imported search")
    standin.send_command("U_ALICE", "C_ALERTS", f"search edit {search.id}")
    edit = wait_for(
        lambda: [m for m in standin.modal_stack("U_ALICE") if m.id != modal.id],
        what="the edit form",
    )[-1]
    changed = dict(edit.state_values)
    changed["schedule"] = {"schedule": text("every 15m")}
    saved = standin.submit_view("U_ALICE", edit.id, changed)
    assert saved.ok and not saved.body.strip(), saved.body
    [search] = imported(runtime)
    assert search.schedule == "every 15m" and search.version == 2
    assert search.origin == "sigma:7a1c0b9e-2222-4e8a-9c1f-2d3e4f5a6b7c"
