"""``411 import sigma``: what a rule carries over, re-imports, bad files, pipelines, output.

On both databases; the alert test runs an imported search on the real
Elasticsearch and builds the Slack message of the alert it makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import Elasticsearch
from sqlalchemy import func, select

from bot.cli import main
from bot.config import ClusterConfig, Settings
from bot.db import make_engine
from bot.messages.blocks import alert_message
from bot.models import Alert, Priority, Search
from bot.runs.runner import run_search
from bot.runtime import Runtime

RULE_ID = "5f1a3c2e-7b9d-4e8a-9c1f-2d3e4f5a6b7c"
RULE = f"""
title: Shadow file read by a shell tool
id: {RULE_ID}
status: experimental
description: Someone reads /etc/shadow with cat or less.
references:
    - https://example.org/shadow-reads
author: 411 tests
date: 2026-12-05
tags:
    - attack.credential-access
    - attack.t1003.008
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith:
            - '/cat'
            - '/less'
        CommandLine|contains: '/etc/shadow'
    condition: selection
falsepositives:
    - Administrators {{{{ checking }}}} the file by hand
level: high
"""
FIELD_REFERENCE_RULE = """
title: Same user on both sides
id: 0c7b3a1e-1111-4e8a-9c1f-2d3e4f5a6b7c
logsource: {product: linux, category: process_creation}
detection:
    selection:
        User|fieldref: ParentUser
    condition: selection
level: low
"""
WINDOWS_RULE = """
title: Registry run key written
id: 7a1c0b9e-2222-4e8a-9c1f-2d3e4f5a6b7c
logsource: {product: windows, category: registry_set}
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run'
    condition: selection
level: informational
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    (folder / "linux").mkdir(parents=True)
    (folder / "linux" / "shadow.yml").write_text(RULE)
    (folder / "linux" / "fieldref.yml").write_text(FIELD_REFERENCE_RULE)
    (folder / "broken.yml").write_text("title: [unclosed\n")
    (folder / "registry.yaml").write_text(WINDOWS_RULE)
    return folder


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("ELASTICSEARCH_URL", raising=False)
    monkeypatch.delenv("ELASTICSEARCH_SIGMA_PIPELINE", raising=False)
    return db_url


def searches(db_url: str) -> dict[str, Search]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection, connection.begin():
            from sqlalchemy.orm import Session

            with Session(bind=connection) as session:
                rows = session.scalars(select(Search).where(Search.deleted_at.is_(None)))
                found = {s.origin or s.name: s for s in rows}
                for search in found.values():
                    session.expunge(search)
                return found
    finally:
        engine.dispose()


def test_rules_become_searches_and_the_bad_ones_are_listed_with_reasons(
    cli_env: str, rules: Path, capsys: Any
) -> None:
    code = main(["import", "sigma", str(rules), "--channel", "C0SEC", "--owner", "U0OWNER"])
    out, err = capsys.readouterr()
    assert code == 1  # something was not convertible
    assert "field references" in err and "fieldref.yml" in err
    assert "broken.yml" in err
    assert "2 converted, 2 not convertible" in out and "2 created" in out

    found = searches(cli_env)
    shadow = found[f"sigma:{RULE_ID}"]
    assert shadow.name == "Shadow file read by a shell tool"
    assert shadow.priority == Priority.HIGH
    assert shadow.tags == ["attack.credential-access", "attack.t1003.008"]
    assert (
        shadow.source == "elasticsearch" and shadow.channel == "C0SEC" and shadow.owner == "U0OWNER"
    )
    assert shadow.source_config["index"] == "logs-*"
    assert shadow.source_config["query"] == (
        "(Image:(*\\/cat OR *\\/less)) AND CommandLine:*\\/etc\\/shadow*"
    )
    assert "Someone reads /etc/shadow" in shadow.description
    assert f"Sigma rule {RULE_ID}" in shadow.description and "pipeline none" in shadow.description
    assert "- Administrators {{ checking }} the file by hand" in shadow.body_template
    assert "References:\n- https://example.org/shadow-reads" in shadow.body_template

    registry = found["sigma:7a1c0b9e-2222-4e8a-9c1f-2d3e4f5a6b7c"]
    assert registry.priority == Priority.LOW  # informational
    assert registry.source_config["index"] == "winlogbeat-*"
    assert (
        registry.source_config["query"] == "registry.path:*\\\\CurrentVersion\\\\Run*"
    )  # ecs_windows


def test_a_reimport_updates_the_same_search_even_under_a_new_title(
    cli_env: str, rules: Path, capsys: Any
) -> None:
    shadow = rules / "linux" / "shadow.yml"
    assert main(["import", "sigma", str(shadow)]) == 0
    assert main(["import", "sigma", str(shadow)]) == 0
    assert "0 created, 0 updated, 1 unchanged" in capsys.readouterr().out
    shadow.write_text(
        RULE.replace("Shadow file read", "Shadow file opened").replace("high", "critical")
    )
    assert main(["import", "sigma", str(shadow)]) == 0
    assert "0 created, 1 updated" in capsys.readouterr().out
    [search] = searches(cli_env).values()
    assert search.name == "Shadow file opened by a shell tool"
    assert search.priority == Priority.CRITICAL and search.version == 2


def test_a_title_taken_by_another_search_gets_the_rule_id_in_the_name(
    cli_env: str, rules: Path, tmp_path: Path, capsys: Any
) -> None:
    other = RULE.replace(RULE_ID, "99999999-3333-4e8a-9c1f-2d3e4f5a6b7c")
    (tmp_path / "same-title.yml").write_text(other)
    assert main(["import", "sigma", str(rules / "linux" / "shadow.yml")]) == 0
    assert main(["import", "sigma", str(tmp_path / "same-title.yml")]) == 0
    names = sorted(s.name for s in searches(cli_env).values())
    assert names == [
        "Shadow file read by a shell tool",
        "Shadow file read by a shell tool [99999999]",
    ]


def test_yaml_out_round_trips_through_search_import(
    cli_env: str, rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # `search import` checks the cluster's name and that the alerts go somewhere.
    monkeypatch.setenv("ELASTICSEARCH_URL", "http://127.0.0.1:9")
    out_dir, shadow = tmp_path / "out", str(rules / "linux" / "shadow.yml")
    assert main(["import", "sigma", shadow, "--out", str(out_dir), "--channel", "C0123"]) == 0
    [written] = out_dir.glob("*.yaml")
    data = yaml.safe_load(written.read_text())
    assert data["origin"] == f"sigma:{RULE_ID}" and data["priority"] == "high"
    assert searches(cli_env) == {}  # --out alone writes files only
    assert main(["search", "import", str(out_dir)]) == 0
    assert main(["import", "sigma", shadow, "--db", "--channel", "C0123"]) == 0
    assert "1 unchanged" in capsys.readouterr().out  # the same search, matched by its origin
    assert list(searches(cli_env)) == [f"sigma:{RULE_ID}"]


def test_the_pipeline_comes_from_the_command_line_or_the_cluster(
    cli_env: str, rules: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    registry = str(rules / "registry.yaml")
    monkeypatch.setenv("ELASTICSEARCH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ELASTICSEARCH_SIGMA_PIPELINE", "ecs_windows_old")
    assert main(["import", "sigma", registry, "--dry-run"]) == 0
    assert main(["import", "sigma", registry, "--index", "win-*"]) == 0
    [search] = searches(cli_env).values()
    assert search.source_config == {
        "index": "win-*",
        "query": "event_data.TargetObject:*\\\\CurrentVersion\\\\Run*",
    }
    assert main(["import", "sigma", registry, "--pipeline", "none", "--index", "win-*"]) == 0
    [search] = searches(cli_env).values()
    assert search.source_config["query"] == "TargetObject:*\\\\CurrentVersion\\\\Run*"
    capsys.readouterr()
    assert main(["import", "sigma", registry, "--pipeline", "splunk_windows"]) == 2
    assert "unknown Sigma pipeline 'splunk_windows'" in capsys.readouterr().err


def test_an_imported_search_alerts_with_its_tags_and_false_positives(
    db_url: str, es: Elasticsearch, es_url: str, es_index: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.rule_import.options import ImportOptions
    from bot.rule_import.output import save
    from bot.rule_import.sigma import convert_text

    keyword = {"type": "keyword"}
    properties = {"@timestamp": {"type": "date"}, "Image": keyword, "CommandLine": keyword}
    es.indices.create(index=es_index, mappings={"properties": properties})
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for doc_id, image, command in [("hit", "/usr/bin/cat", "cat /etc/shadow"),
                                   ("other", "/usr/bin/vi", "vi /etc/shadow")]:  # fmt: skip
        document = {"@timestamp": at, "Image": image, "CommandLine": command}
        es.index(index=es_index, id=doc_id, document=document, refresh="wait_for")
    report = convert_text(RULE, "shadow.yml", ImportOptions(index=es_index, channel="C0SEC"))
    settings = Settings(database_url=db_url, clusters={"default": ClusterConfig("default", es_url)})
    runtime = Runtime(settings=settings, engine=make_engine(db_url))
    try:
        assert save(runtime.sessions, [c.definition for c in report.converted], "test", "t").ok
        with runtime.sessions() as session:
            search_id = session.scalar(select(Search.id).where(Search.origin == f"sigma:{RULE_ID}"))
        run = run_search(runtime, search_id)
        assert run.error is None and run.alerts_new == 1
        with runtime.sessions() as session:
            [alert] = session.scalars(select(Alert))
            search = session.get(Search, search_id)
            assert session.scalar(select(func.count()).select_from(Alert)) == 1
            message = alert_message(alert, search)
    finally:
        runtime.engine.dispose()
    text = str(message.blocks)
    assert "`attack.t1003.008`" in text and "`attack.credential-access`" in text
    assert "Administrators {{ checking }} the file by hand" in text
    assert "https://example.org/shadow-reads" in text
    assert "cat /etc/shadow" in text


def test_tags_on_an_alert_are_escaped_and_capped() -> None:
    from bot.messages.blocks import MAX_TAGS, tag_blocks

    search = Search(name="x", tags=["<!channel>", "*bold*", *[f"t{n}" for n in range(20)]])
    [block] = tag_blocks(search)
    line = block["elements"][0]["text"]
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line
    assert "`*bold*`" in line  # inside a code span: no formatting
    assert f"+{22 - MAX_TAGS} more" in line
    assert tag_blocks(Search(name="y", tags=[])) == []


def test_an_event_beside_a_rule_becomes_its_example_and_anything_else_is_said(
    tmp_path: Path, capsys: Any
) -> None:
    rules, out = tmp_path / "rules", tmp_path / "out"
    rules.mkdir()
    (rules / "shadow.yml").write_text(RULE, encoding="utf-8")
    event = {
        "Event": {
            "System": {"EventID": 1, "Channel": "audit", "Computer": "web-1"},
            "EventData": {"Image": "/usr/bin/cat", "CommandLine": "cat /etc/shadow"},
        }
    }
    (rules / "shadow.json").write_text(json.dumps(event), encoding="utf-8")
    other = RULE.replace(RULE_ID, "6f1a3c2e-7b9d-4e8a-9c1f-2d3e4f5a6b7c").replace(
        "title: Shadow file", "title: Other shadow file"
    )
    (rules / "other.yml").write_text(other, encoding="utf-8")
    (rules / "other.json").write_text('{"not": "an event record"}', encoding="utf-8")

    assert main(["import", "sigma", str(rules), "--out", str(out), "-v"]) == 0
    printed = capsys.readouterr().out
    assert "not carried over: example: other.json: not a Windows event record" in printed

    written = yaml.safe_load((out / "shadow-file-read-by-a-shell-tool.yaml").read_text())
    # Linux rules keep Sigma's field names (pipeline none): the event's raw fields, as queried.
    assert written["examples"] == {
        "must_fire": [
            {
                "Image": "/usr/bin/cat",
                "CommandLine": "cat /etc/shadow",
                "EventID": 1,
                "Channel": "audit",
                "ComputerName": "web-1",
            }
        ]
    }
    assert "examples" not in yaml.safe_load(
        (out / "other-shadow-file-read-by-a-shell-tool.yaml").read_text()
    )
