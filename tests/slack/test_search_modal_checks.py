"""The search modal and `/411 search create` check a search against its cluster on submit."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch, helpers
from sqlalchemy import select

from bot.models import Search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, wait_for


@pytest.fixture
def logins(es: Elasticsearch, es_index: str) -> str:
    docs = [{"@timestamp": "2026-11-29T11:50:00Z", "user": "alice", "event": "login"}]
    helpers.bulk(es, [{"_index": es_index, "_source": d} for d in docs], refresh="wait_for")
    return es_index


def _text(value: str) -> dict[str, object]:
    return {"type": "plain_text_input", "value": value}


def test_the_modal_shows_unknown_fields_on_their_inputs(
    es_runtime: Runtime, standin: SlackStandIn, es_bot: BotServer, logins: str
) -> None:
    standin.send_command("U_ALICE", "C_ALERTS", "search create")
    modal = wait_for(lambda: standin.modal_stack("U_ALICE"), what="the modal")[-1]
    standin.click_in_view("U_ALICE", modal.id, "source", selected_option={"value": "elasticsearch"})

    def es_settings() -> dict[str, dict[str, object]] | None:
        view = standin.modal_stack("U_ALICE")[-1]
        blocks = {b["block_id"]: b for b in view.definition["blocks"]}
        return blocks if "sc.index" in blocks else None

    blocks = wait_for(es_settings, what="the Elasticsearch settings")
    cluster_menu = blocks["sc.cluster"]["element"]
    assert [o["value"] for o in cluster_menu["options"]] == ["default"]  # picked, not typed
    assert blocks["owner"]["element"]["type"] == "users_select"
    assert blocks["restricted_to"]["element"]["type"] == "multi_users_select"
    values = {
        "name": {"name": _text("logins")},
        "source": {"source": {"type": "static_select", "selected_option": {"value": "elasticsearch"}}},
        "sc.index": {"sc.index": _text(logins)},
        "sc.query": {"sc.query": _text("event:login")},
        "schedule": {"schedule": _text("every 5m")},
        "key_fields": {"key_fields": _text("usr")},
    }  # fmt: skip
    errors = standin.submit_view("U_ALICE", modal.id, values).json()["errors"]
    assert errors == {
        "key_fields": f"no field `usr` in {logins} on cluster default; did you mean `user`?"
    }
    values["sc.index"] = {"sc.index": _text("logs-prdo-*")}
    values["key_fields"] = {"key_fields": _text("user")}
    errors = standin.submit_view("U_ALICE", modal.id, values).json()["errors"]
    assert "index pattern logs-prdo-* matches no index on cluster default" in errors["sc.index"]
    values["sc.index"] = {"sc.index": _text(logins)}
    reply = standin.submit_view("U_ALICE", modal.id, values)
    assert reply.ok and not reply.body.strip(), reply.body
    with es_runtime.sessions() as session:
        [search] = session.scalars(select(Search)).all()
    assert search.name == "logins"
    assert search.source_config == {
        "cluster": "default",
        "index": logins,
        "query": "event:login",
        "mode": "hits",
    }


def test_inline_create_names_an_unknown_cluster(
    es_runtime: Runtime, standin: SlackStandIn, es_bot: BotServer
) -> None:
    standin.send_command(
        "U_ALICE",
        "C_ALERTS",
        "search create name=peek source=elasticsearch index=logs-* cluster=prod query=x",
    )
    said = wait_for(lambda: standin.ephemerals("U_ALICE", "C_ALERTS"), what="the reply")[-1].text
    assert "unknown Elasticsearch cluster 'prod' (known: default)" in said
    with es_runtime.sessions() as session:
        assert list(session.scalars(select(Search.name))) == []
