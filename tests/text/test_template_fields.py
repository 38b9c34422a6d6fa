"""Templates read nested documents by dotted name, and a misspelt name is reported, not silent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.models import Alert, AlertAction, AlertEvent, RunStatus
from bot.runs.runner import preview_search, run_search
from bot.runtime import Runtime
from bot.text.fields import FieldView, template_fields
from tests.memory_source import T0, create_memory_search
from tests.search_servers import SearchServer

EVERY_FORM = (
    "{{ fields['user.name'] }}/{{ fields.user.name }}/{{ fields['user']['name'] }}/{{ user.name }}"
)
DOC = {"user": {"name": "bob", "role": "dev"}, "event": "ssh", "host": {"name": "web1"}}


@pytest.fixture
def es_runtime(engine, search_server: SearchServer) -> Runtime:
    clusters = {"default": search_server.cluster()}
    return Runtime(
        settings=Settings(database_url=str(engine.url), clusters=clusters), engine=engine
    )


def index_nested(server: SearchServer, index: str) -> None:
    server.create_index(index, {"properties": {"@timestamp": {"type": "date"}}})
    stamp = (T0 - timedelta(minutes=2)).isoformat()
    server.bulk([{"_index": index, "_id": "d1", "_source": {"@timestamp": stamp, **DOC}}])


def the_alert(runtime: Runtime, search_id: int) -> Alert:
    with runtime.sessions() as session:
        return session.scalars(select(Alert).where(Alert.search_id == search_id)).one()


def test_every_way_of_naming_a_nested_field_renders_from_elasticsearch(
    search_server, search_index, es_runtime
):
    index_nested(search_server, search_index)
    config = {"index": search_index, "query": "event:ssh"}
    search_id = create_memory_search(
        es_runtime,
        "unused",
        source="elasticsearch",
        source_config=config,
        title=EVERY_FORM,
        body="{{ user.name }} ({{ fields['user.role'] }}) on {{ fields.host.name }}",
    )
    run = run_search(es_runtime, search_id, now=T0)
    assert (run.status, run.alerts_new, run.error) == (RunStatus.SUCCEEDED, 1, None)
    alert = the_alert(es_runtime, search_id)
    assert (alert.title, alert.body) == ("bob/bob/bob/bob", "bob (dev) on web1")


def test_a_misspelt_name_renders_empty_and_is_reported_in_preview_and_run(
    search_server, search_index, es_runtime
):
    index_nested(search_server, search_index)
    config = {"index": search_index, "query": "event:ssh"}
    search_id = create_memory_search(
        es_runtime,
        "unused",
        source="elasticsearch",
        source_config=config,
        title="{{ user.nam }} on {{ fields['host.name'] }}{{ fields['nope'] | default('') }}",
    )
    preview = preview_search(es_runtime, search_id, now=T0)
    [new] = preview.plan.new
    assert new.title == "on web1"
    assert new.template_error == "title: 'user.nam' is undefined"  # default('') is a check
    run = run_search(es_runtime, search_id, now=T0)
    assert run.status == RunStatus.SUCCEEDED
    assert run.error == "template: title: 'user.nam' is undefined"
    with es_runtime.sessions() as session:
        created = session.scalars(
            select(AlertEvent).where(AlertEvent.action == AlertAction.CREATED)
        ).one()
    assert created.detail["template_error"] == "title: 'user.nam' is undefined"


def test_the_file_source_renders_nested_fields_the_same_way(runtime, tmp_path: Path):
    log = tmp_path / "auth.ndjson"
    stamp = (T0 - timedelta(minutes=2)).isoformat()
    log.write_text(json.dumps({"@timestamp": stamp, **DOC}) + "\n")
    search_id = create_memory_search(
        runtime,
        "unused",
        source="file",
        source_config={"path": str(log), "query": "event:ssh"},
        title=EVERY_FORM,
    )
    run = run_search(runtime, search_id, now=T0)
    assert (run.status, run.alerts_new, run.error) == (RunStatus.SUCCEEDED, 1, None)
    assert the_alert(runtime, search_id).title == "bob/bob/bob/bob"


def test_a_field_view_answers_flat_dotted_names_as_objects_too():
    view, top = template_fields({"source.ip": "1.2.3.4", "count": 3, "user": {"name": None}})
    assert view["source"]["ip"] == view["source.ip"] == top["source"]["ip"] == "1.2.3.4"
    assert "user.name" in view and view.get("user.name", "x") is None  # present, but null
    assert "user.nam" not in view and view.get("user.nam", "x") == "x"
    with pytest.raises(KeyError):
        view["source.port"]
    assert isinstance(view["user"], FieldView) and json.dumps(view["user"]) == '{"name": null}'
