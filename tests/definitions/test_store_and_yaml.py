"""Search CRUD with revisions, and searches as code (YAML import and export)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.definitions.search import parse_definition
from bot.definitions.store import (
    create_search,
    delete_search,
    find_search,
    list_searches,
    revisions,
    set_enabled,
    update_search,
)
from bot.definitions.yaml_files import (
    dump_all,
    export_searches,
    import_paths,
    read_file,
    write_directory,
)
from bot.errors import InvalidInput, NotFound
from bot.models import Search, SearchRevision

GOOD = """
name: ssh into prod
source: file
source_config: {path: /var/log/auth.ndjson, query: "event:ssh"}
schedule: every 5m
key_fields: [user]
title: "{{ user }} ssh'd in"
"""


def test_every_change_writes_a_revision_with_who_and_why(session):
    defn = parse_definition({"name": "a", "source": "file", "source_config": {"path": "/x"}})
    search = create_search(session, defn, "U_ALICE", "first")
    assert update_search(session, search, defn, "U_BOB") is False  # nothing changed: no revision
    changed = parse_definition({"name": "a", "source": "file", "source_config": {"path": "/y"}})
    assert update_search(session, search, changed, "U_BOB", "moved log") is True
    set_enabled(session, search, False, "U_CAROL")
    history = revisions(session, search)
    assert [(r.version, r.changed_by, r.reason) for r in history] == [
        (1, "U_ALICE", "first"),
        (2, "U_BOB", "moved log"),
        (3, "U_CAROL", "disabled"),
    ]
    assert history[1].snapshot["source_config"] == {"path": "/y"} and search.version == 3


def test_names_are_unique_among_live_searches_and_freed_by_delete(session):
    defn = parse_definition({"name": "dup", "source": "file", "source_config": {"path": "/x"}})
    search = create_search(session, defn, "U_ALICE")
    with pytest.raises(InvalidInput, match="exists already"):
        create_search(session, defn, "U_ALICE")
    delete_search(session, search, "U_ALICE")
    with pytest.raises(NotFound):
        find_search(session, "dup")
    again = create_search(session, defn, "U_ALICE")
    assert find_search(session, "dup").id == again.id == find_search(session, str(again.id)).id
    assert [s.name for s in list_searches(session)] == ["dup"]


def test_import_creates_then_updates_by_name_and_export_reads_back(engine, tmp_path: Path):
    from bot.db import session_factory

    sessions = session_factory(engine)
    (tmp_path / "ssh.yaml").write_text(GOOD)
    report = import_paths(sessions, [tmp_path], "cli:test")
    assert (report.created, report.problems) == (["ssh into prod"], [])
    assert import_paths(sessions, [tmp_path], "cli:test").unchanged == ["ssh into prod"]
    (tmp_path / "ssh.yaml").write_text(GOOD.replace("every 5m", "every 10m"))
    assert import_paths(sessions, [tmp_path], "cli:test").updated == ["ssh into prod"]
    with sessions() as session:
        [defn] = export_searches(session)
        out = tmp_path / "out"
        [path] = write_directory([defn], out)
        assert read_file(path).definitions == [defn]
        assert "schedule: every 10m" in dump_all([defn])
        assert session.scalar(select(func.count()).select_from(SearchRevision)) == 2


def test_a_file_with_any_problem_imports_nothing_and_every_problem_is_reported(
    engine, tmp_path: Path
):
    from bot.db import session_factory

    sessions = session_factory(engine)
    (tmp_path / "mixed.yaml").write_text(
        GOOD.strip().replace("name:", "- name:", 1).replace("\n", "\n  ")
        + "\n- name: broken\n  source: file\n  schedule: often\n  priority: urgent\n"
    )
    (tmp_path / "syntax.yml").write_text("name: [unclosed\n")
    (tmp_path / "fine.yaml").write_text(GOOD.replace("ssh into prod", "fine one"))
    report = import_paths(sessions, [tmp_path], "cli:test")
    joined = "\n".join(report.problems)
    assert f"{tmp_path / 'mixed.yaml'}: item 2, search 'broken': schedule:" in joined
    assert "priority: must be one of" in joined and "source_config.path: is required" in joined
    assert f"{tmp_path / 'syntax.yml'}: line 2 column 1: invalid YAML" in joined
    assert report.created == ["fine one"]
    with sessions() as session:
        assert sorted(session.scalars(select(Search.name))) == [
            "fine one"
        ]  # nothing from mixed.yaml


def test_the_same_name_in_two_files_is_a_problem(engine, tmp_path: Path):
    from bot.db import session_factory

    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    report = import_paths(session_factory(engine), [tmp_path], "cli:test")
    assert report.created == ["ssh into prod"]
    assert any("also defined in" in p and "b.yaml" in p for p in report.problems)
