"""Each silent failure of issue 17, against Elasticsearch 9.x and 8.x and the file source.

A search author's mistake (a key field the documents lack, `.keyword` on one side
only, a group-by field that does not exist, an index pattern matching nothing, a
server that is not Elasticsearch) is now an error at save or a visible warning of
the run, and no two different key values ever share one alert.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers
from sqlalchemy import select

from bot.config import ClusterConfig, Settings
from bot.definitions.checks import check_for_save
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.models import Alert, Delivery, RunStatus
from bot.runs.runner import preview_search, run_search
from bot.runtime import Runtime
from tests.memory_source import T0
from tests.memory_source import runtime as runtime  # the fixture

MIN = timedelta(minutes=1)
# 7 failed logins from 6 users; two scraping addresses.
LOGINS = [
    ("alice", "203.0.113.7"),
    ("bob", "203.0.113.7"),
    ("carol", "203.0.113.7"),
    ("dave", "198.51.100.4"),
    ("erin", "198.51.100.4"),
    ("frank", "198.51.100.4"),
    ("alice", "198.51.100.4"),
]


def documents() -> list[dict[str, Any]]:
    return [
        {
            "@timestamp": (T0 - (10 - i) * MIN).isoformat(),
            "event": "login_failed",
            "user": user,
            "source": {"ip": ip},
        }
        for i, (user, ip) in enumerate(LOGINS)
    ]


@pytest.fixture(params=["es", "es8"])
def cluster(request: pytest.FixtureRequest) -> Iterator[tuple[Elasticsearch, str, str]]:
    """(client, url, index with the logins) on Elasticsearch 9.x, then on 8.x."""
    client: Elasticsearch = request.getfixturevalue(request.param)
    url: str = request.getfixturevalue(f"{request.param}_url")
    index: str = request.getfixturevalue(f"{request.param}_index")
    actions = [{"_index": index, "_id": f"d{i}", "_source": d} for i, d in enumerate(documents())]
    helpers.bulk(client, actions, refresh="wait_for")  # dynamic mapping, as users' logs get
    yield client, url, index


@pytest.fixture
def es_runtime(engine, cluster) -> Runtime:
    clusters = {"default": ClusterConfig(name="default", url=cluster[1])}
    settings = Settings(database_url=str(engine.url), clusters=clusters, burst_threshold=50)
    return Runtime(settings=settings, engine=engine)


def es_definition(index: str, **fields: Any) -> dict[str, Any]:
    config = {"index": index, "query": "event:login_failed", **fields.pop("config", {})}
    return {
        "name": fields.pop("name", "failed logins"),
        "source": "elasticsearch",
        "source_config": config,
        "schedule": "every 5m",
        "lookback": "15m",
        "owner": "U_OWNER",
        "channel": "C_ALERTS",
        **fields,
    }


def save(runtime: Runtime, raw: dict[str, Any]) -> int:
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_OWNER").id


def alert_keys(runtime: Runtime, search_id: int) -> list[str]:
    with runtime.sessions() as session:
        return sorted(session.scalars(select(Alert.dedupe_key).where(Alert.search_id == search_id)))


# ------------------------------------------------------------------ at save


def test_an_unknown_key_field_is_an_error_at_save_with_a_suggestion(cluster, es_runtime) -> None:
    index = cluster[2]
    defn = parse_definition(es_definition(index, key_fields=["usr"]))
    findings = check_for_save(defn, es_runtime.settings)
    [error] = findings.errors
    assert error.field == "key_fields"
    assert error.message == (f"no field `usr` in {index} on cluster default; did you mean `user`?")


def test_group_by_fields_are_checked_and_text_fields_resolve_to_keyword(
    cluster, es_runtime
) -> None:
    index = cluster[2]
    terms = {"mode": "terms", "group_by": ["source.ipp"]}
    wrong = parse_definition(es_definition(index, config=terms, condition="count > 2"))
    [error] = check_for_save(wrong, es_runtime.settings).errors
    assert error.field == "source_config.group_by"
    assert "no field `source.ipp`" in error.message and "`source.ip`" in error.message
    # A text field with a .keyword sub-field is fine (it is grouped by the sub-field).
    right = {"mode": "terms", "group_by": ["source.ip"]}
    defn = parse_definition(es_definition(index, config=right, key_fields=["source.ip"]))
    assert check_for_save(defn, es_runtime.settings).errors == []
    # The key field of a terms search must be one of the bucket's fields.
    keyed = parse_definition(es_definition(index, config=right, key_fields=["user"]))
    [error] = check_for_save(keyed, es_runtime.settings).errors
    assert error.field == "key_fields"
    assert "`user` is not in the results: each one carries only `count`, `source.ip`" in (
        error.message
    )


def test_a_text_field_without_keyword_cannot_be_grouped_by(cluster, es_runtime) -> None:
    client, _url, index = cluster
    text_only = f"{index}-text"
    client.indices.create(
        index=text_only,
        mappings={"properties": {"@timestamp": {"type": "date"}, "note": {"type": "text"}}},
    )
    config = {"mode": "terms", "group_by": ["note"]}
    defn = parse_definition(es_definition(text_only, config=config))
    [error] = check_for_save(defn, es_runtime.settings).errors
    assert error.message == (
        f"`note` in {text_only} on cluster default is a text field and has no `.keyword` "
        "sub-field, so it cannot be grouped by; map it as keyword"
    )


def test_time_field_and_fields_to_show_are_checked(cluster, es_runtime) -> None:
    index = cluster[2]
    raw = es_definition(index, config={"time_field": "user", "fields": ["user", "sorce.ip"]})
    errors = check_for_save(parse_definition(raw), es_runtime.settings).errors
    assert [(e.field, e.message) for e in errors] == [
        ("source_config.time_field", f"`user` in {index} on cluster default is a text field, not a date"),
        ("source_config.fields", f"no field `sorce.ip` in {index} on cluster default; did you mean `source.ip`?"),
    ]  # fmt: skip


def test_unknown_cluster_no_channel_and_empty_pattern_are_errors_at_save(
    cluster, es_runtime, tmp_path: Path
) -> None:
    from bot.definitions.yaml_files import import_paths

    raw = es_definition(cluster[2], config={"cluster": "prod"})
    (tmp_path / "prod.yaml").write_text(json.dumps(raw))
    nowhere = es_definition(cluster[2], name="nowhere", channel=None, owner=None)
    (tmp_path / "nowhere.yaml").write_text(json.dumps(nowhere))
    typo = es_definition("logs-prdo-*", name="typo")
    (tmp_path / "typo.yaml").write_text(json.dumps(typo))
    report = import_paths(es_runtime.sessions, [tmp_path], "cli:test", settings=es_runtime.settings)
    assert report.created == []
    assert sorted(report.problems) == sorted(
        [
            f"{tmp_path / 'prod.yaml'}: search 'failed logins': source_config.cluster: "
            "unknown Elasticsearch cluster 'prod' (known: default)",
            f"{tmp_path / 'nowhere.yaml'}: search 'nowhere': channel: give a channel or an "
            "owner: without either, the search's alerts would be created and posted nowhere",
            f"{tmp_path / 'typo.yaml'}: search 'typo': source_config.index: index pattern "
            "logs-prdo-* matches no index on cluster default (set allow_no_indices: true if "
            "that is expected)",
        ]
    )


# ------------------------------------------------------------------- at run


def test_hits_lacking_the_key_field_each_keep_their_own_alert_and_warn(cluster, es_runtime):
    search_id = save(es_runtime, es_definition(cluster[2], key_fields=["usr"]))
    run = run_search(es_runtime, search_id, now=T0)
    assert run.status == RunStatus.SUCCEEDED, run.error
    keys = alert_keys(es_runtime, search_id)
    assert len(keys) == 7 == len(set(keys))  # not ONE alert keyed usr=∅
    assert all(key.startswith("usr=∅|own=id:d") for key in keys)
    assert "key field `usr` is missing in 7 of 7 results" in (run.error or "")
    assert "no field `usr`" in (run.error or "")  # the field check, at run time too
    with es_runtime.sessions() as session:
        [notice] = session.scalars(
            select(Delivery).where(Delivery.idempotency_key == f"search:{search_id}:warning:v1")
        ).all()
    assert notice.channel == "U_OWNER" and "key field `usr` is missing" in notice.payload["text"]
    # The test shows it too, and a second run does not tell the owner again.
    preview = preview_search(es_runtime, search_id, now=T0 + MIN)
    assert any("key_fields: no field `usr`" in w for w in preview.to_dict()["warnings"])
    run_search(es_runtime, search_id, now=T0 + 2 * MIN)
    with es_runtime.sessions() as session:
        notices = session.scalars(
            select(Delivery).where(Delivery.idempotency_key.like(f"search:{search_id}:warning:%"))
        ).all()
    assert len(notices) == 1


def test_a_test_over_the_window_shows_the_warning(cluster, es_runtime) -> None:
    from searches.base import TimeWindow

    defn = parse_definition(es_definition(cluster[2], key_fields=["usr"], condition="count > 0"))
    preview = preview_search(es_runtime, defn, TimeWindow(T0 - 15 * MIN, T0), now=T0)
    assert preview.error is None
    assert len(preview.plan.new) == 7  # count > 0 groups by key: none of the 7 merge
    warnings = preview.to_dict()["warnings"]
    assert any(w.startswith("key_fields: no field `usr`") for w in warnings), warnings
    assert any("key field `usr` is missing in 7 of 7 results" in w for w in warnings)


def test_keyword_on_one_side_or_both_never_merges_and_templates_see_plain_values(
    cluster, es_runtime
) -> None:
    for n, (group_by, key) in enumerate(
        [("source.ip.keyword", "source.ip"), ("source.ip.keyword", "source.ip.keyword")]
    ):
        raw = es_definition(
            cluster[2],
            name=f"scrapers {n}",
            config={"mode": "terms", "group_by": [group_by]},
            condition="count > 2",
            key_fields=[key],
            title="scraper {{ fields['source.ip'] }}",
        )
        assert check_for_save(parse_definition(raw), es_runtime.settings).errors == []
        search_id = save(es_runtime, raw)
        run = run_search(es_runtime, search_id, now=T0)
        assert run.status == RunStatus.SUCCEEDED and run.alerts_new == 2, run.error
        with es_runtime.sessions() as session:
            titles = sorted(
                session.scalars(select(Alert.title).where(Alert.search_id == search_id))
            )
        assert titles == ["scraper 198.51.100.4", "scraper 203.0.113.7"]


def test_an_index_pattern_matching_nothing_fails_the_run(cluster, es_runtime) -> None:
    dead_man = es_definition("logs-prdo-*", condition="count < 1", config={"mode": "count"})
    search_id = save(es_runtime, dead_man)
    run = run_search(es_runtime, search_id, now=T0)
    assert run.status == RunStatus.FAILED
    assert "index pattern logs-prdo-* matches no index on cluster default" in (run.error or "")
    assert alert_keys(es_runtime, search_id) == []  # not "count 0 < 1"
    # ... unless the search says that empty is expected.
    allowed = es_definition(
        "logs-prdo-*",
        name="expected empty",
        condition="count < 1",
        config={"mode": "count", "allow_no_indices": True},
    )
    run = run_search(es_runtime, save(es_runtime, allowed), now=T0)
    assert run.status == RunStatus.SUCCEEDED and run.alerts_new == 1


class NotElasticsearch(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>Welcome to nginx</body></html>")

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


def test_a_server_that_is_not_elasticsearch_is_named_with_its_url(engine) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotElasticsearch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        clusters = {"default": ClusterConfig(name="default", url=url)}
        runtime = Runtime(settings=Settings(clusters=clusters), engine=engine)
        raw = es_definition("logs-*")
        [error] = check_for_save(parse_definition(raw), runtime.settings).errors
        assert error.field == "source_config.cluster"
        run = run_search(runtime, save(runtime, raw), now=T0)
    finally:
        server.shutdown()
    assert run.status == RunStatus.FAILED
    expected = (
        f"the server at {url} (cluster 'default') is not Elasticsearch or OpenSearch: it "
        "answered HTTP 404 '<html><body>Welcome to nginx</body></html>'"
    )
    assert expected in (run.error or "") and expected in error.message


# ------------------------------------------------------------- file source


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents()))
    return path


def file_definition(path: Path, **fields: Any) -> dict[str, Any]:
    config = {"path": str(path), "query": "event:login_failed", **fields.pop("config", {})}
    return {**es_definition("unused", **fields), "source": "file", "source_config": config}


def test_the_file_source_checks_fields_from_what_it_has_seen(runtime, log_file: Path) -> None:
    raw = file_definition(log_file, key_fields=["usr"], config={"group_by": ["source.ipp"]})
    raw["source_config"]["mode"] = "terms"
    errors = check_for_save(parse_definition(raw), runtime.settings).errors
    assert [(e.field, e.message) for e in errors] == [
        ("key_fields", "`usr` is not in the results: each one carries only `count`, `source.ipp`"),
        ("source_config.group_by", f"no field `source.ipp` in the events of {log_file}; did you mean `source.ip`?"),
    ]  # fmt: skip
    hits = parse_definition(file_definition(log_file, key_fields=["usr"]))
    [error] = check_for_save(hits, runtime.settings).errors
    assert error.message == f"no field `usr` in the events of {log_file}; did you mean `user`?"


def test_the_file_source_keeps_a_key_per_hit_lacking_the_key_field(runtime, log_file) -> None:
    search_id = save(runtime, file_definition(log_file, key_fields=["usr"]))
    run = run_search(runtime, search_id, now=T0)
    assert run.status == RunStatus.SUCCEEDED, run.error
    keys = alert_keys(runtime, search_id)
    assert len(keys) == 7 == len(set(keys))
    assert all(key.startswith("usr=∅|own=hash:") for key in keys)
    assert "key field `usr` is missing in 7 of 7 results" in (run.error or "")
    # Grouped hits (a count condition) do not merge either.
    grouped = file_definition(log_file, name="grouped", key_fields=["usr"], condition="count > 0")
    run = run_search(runtime, save(runtime, grouped), now=T0)
    assert run.alerts_new == 7, run.error


def test_the_file_source_resolves_keyword_and_templates_see_plain_values(runtime, log_file) -> None:
    raw = file_definition(
        log_file,
        config={"mode": "terms", "group_by": ["source.ip.keyword"]},
        condition="count > 2",
        key_fields=["source.ip"],
        title="scraper {{ fields['source.ip'] }}",
    )
    search_id = save(runtime, raw)
    run = run_search(runtime, search_id, now=T0)
    assert run.status == RunStatus.SUCCEEDED and run.alerts_new == 2, run.error
    with runtime.sessions() as session:
        titles = sorted(session.scalars(select(Alert.title).where(Alert.search_id == search_id)))
    assert titles == ["scraper 198.51.100.4", "scraper 203.0.113.7"]


def test_the_cli_test_prints_the_warnings(runtime, log_file, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    path = tmp_path / "usr.yaml"
    path.write_text(json.dumps(file_definition(log_file, key_fields=["usr"])))
    start, end = (T0 - 15 * MIN).isoformat(), T0.isoformat()
    assert main(["search", "test", str(path), "--from", start, "--to", end]) == 0
    out = capsys.readouterr().out
    assert f"warning: key_fields: no field `usr` in the events of {log_file}" in out
    assert "warning: key field `usr` is missing in 7 of 7 results" in out
    assert "7 new alerts" in out
    # Saved and run, `search show` carries the run's warning too.
    search_id = save(runtime, file_definition(log_file, name="saved", key_fields=["usr"]))
    run_search(runtime, search_id, now=T0)
    assert main(["search", "show", "saved"]) == 0
    assert "key field `usr` is missing in 7 of 7 results" in capsys.readouterr().out


def test_slack_test_output_shows_the_warnings(runtime, log_file) -> None:
    from bot.slack.commands.preview import preview_text
    from searches.base import TimeWindow

    defn = parse_definition(file_definition(log_file, key_fields=["usr"]))
    preview = preview_search(runtime, defn, TimeWindow(T0 - 15 * MIN, T0), now=T0)
    text = preview_text(preview)
    assert (
        ":warning: `key_fields: no field \\`usr\\`" in text
        or ":warning: `key_fields: no field" in text
    )
    assert "key field" in text and "missing in 7 of 7 results" in text
