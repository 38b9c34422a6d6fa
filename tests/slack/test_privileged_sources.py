"""Sources that read the bot host's files or databases (file, sql): only admins, from Slack."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models import Search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_search, wait_for


def _said_with(standin: SlackStandIn, user: str, needle: str) -> str:
    found = wait_for(
        lambda: [e for e in standin.ephemerals(user, "C_ALERTS") if needle in e.text], what=needle
    )
    return str(found[0].text)


def _said(standin: SlackStandIn, user: str, count: int) -> str:
    wait_for(lambda: len(standin.ephemerals(user, "C_ALERTS")) >= count, what=f"reply #{count}")
    return str(standin.ephemerals(user, "C_ALERTS")[count - 1].text)


def _sqlite(tmp_path: Path) -> str:
    path = tmp_path / "secrets.db"
    with sqlite3.connect(path) as db:
        db.execute("create table secrets (name text)")
        db.execute("insert into secrets values ('the root password')")
    return f"sqlite:///{path}"


def _settings(kind: str, tmp_path: Path) -> str:
    if kind == "sql":
        return f'source=sql url={_sqlite(tmp_path)} query="select name from secrets"'
    log = tmp_path / "host.log"
    stamp = datetime.now(UTC).isoformat()
    log.write_text(json.dumps({"@timestamp": stamp, "secret": "x"}) + "\n")
    return f"source=file path={log}"


def _searches(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Search.name).order_by(Search.id)))


@pytest.mark.parametrize("kind", ["sql", "file"])
def test_it_refuses_a_non_admin_who_creates_or_tests_a_host_reading_search_inline(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path, kind: str
) -> None:
    settings = _settings(kind, tmp_path)
    standin.send_command("U_BOB", "C_ALERTS", f'search create name=peek {settings} schedule="5m"')
    assert "Only admins" in _said(standin, "U_BOB", 1)
    standin.send_command("U_BOB", "C_ALERTS", f"search test {settings}")
    text = _said(standin, "U_BOB", 2)
    assert "Only admins" in text and f"`{kind}`" in text
    assert _searches(runtime) == []
    assert not [e for e in standin.ephemerals("U_BOB", "C_ALERTS") if "secret" in e.text]

    standin.send_command("U_ALICE", "C_ALERTS", f'search create name=peek {settings} schedule="5m"')
    assert "Created search *peek*" in _said_with(standin, "U_ALICE", "Created")
    assert _searches(runtime) == ["peek"]


@pytest.mark.parametrize("kind", ["sql", "file"])
def test_it_refuses_a_non_admin_owner_who_tests_or_edits_a_host_reading_search(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path, kind: str
) -> None:
    log = tmp_path / "host.log"
    log.write_text(json.dumps({"@timestamp": datetime.now(UTC).isoformat()}) + "\n")
    config = (
        {"url": _sqlite(tmp_path), "query": "select name from secrets"}
        if kind == "sql"
        else {"path": str(log)}
    )
    search_id = add_search(runtime, source=kind, source_config=config, owner="U_BOB")
    standin.send_command("U_BOB", "C_ALERTS", f"search test {search_id}")
    assert "Only admins" in _said(standin, "U_BOB", 1)
    standin.send_command("U_BOB", "C_ALERTS", f'search edit {search_id} query="select 1"')
    assert "Only admins" in _said(standin, "U_BOB", 2)
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None and search.source_config == config and search.version == 1

    standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id}")
    assert "hits" in _said_with(standin, "U_ALICE", "hits")


def test_it_refuses_a_non_admin_on_the_source_field_of_the_create_modal(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    def text(value: str) -> dict[str, object]:
        return {"type": "plain_text_input", "value": value}

    def values(source: str, config: str) -> dict[str, object]:
        return {
            "name": {"name": text("peek")},
            "source": {"source": {"type": "static_select", "selected_option": {"value": source}}},
            "source_config": {"source_config": text(config)},
            "schedule": {"schedule": text("every 5m")},
        }

    sql = values("sql", f"url: {_sqlite(tmp_path)}\nquery: select name from secrets")
    standin.send_command("U_BOB", "C_ALERTS", "search create")
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the modal")[-1]
    reply = standin.submit_view("U_BOB", modal.id, sql)
    assert "Only admins" in reply.json()["errors"]["source"]
    assert _searches(runtime) == []
    # Another source is fine for Bob (an Elasticsearch one would need a cluster: see
    # tests/slack/test_search_modal_checks.py).
    alerts = values("alerts", "mode: count")
    reply = standin.submit_view("U_BOB", modal.id, alerts)
    assert reply.ok and not reply.body.strip(), reply.body
    assert _searches(runtime) == ["peek"]
