"""Preview (`411 search test`) shares the run's code path and writes nothing; the CLI around it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.cli import main
from bot.definitions.search import parse_definition
from bot.models import Alert, AlertEvent, Delivery, Search, SearchRun, Suppression
from bot.runs.runner import preview_search, run_search
from searches.base import Hit
from tests.memory_source import T0


def counts(runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Alert, AlertEvent, Delivery, SearchRun, Suppression)
        }


def test_a_preview_shows_what_a_run_would_do_and_writes_nothing(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [
        Hit("1", T0 - timedelta(minutes=2), {"user": "bob"}),
        Hit("2", T0 - timedelta(minutes=1), {"user": "eve"}),
    ]
    search_id = make_search(name, key_fields=["user"], title="{{ user }}!")
    with runtime.sessions.begin() as session:
        session.add(Suppression(search_id=search_id, match={"user": "eve"}))
    before = counts(runtime)
    preview = preview_search(runtime, search_id, now=T0)
    assert counts(runtime) == before
    assert [(n.key, n.title) for n in preview.plan.new] == [("user=bob", "bob!")]
    assert preview.plan.suppressed == 1
    with runtime.sessions() as session:
        assert session.scalar(select(Suppression.suppressed_count)) == 0
        assert session.scalar(select(Search.last_window_end)) is None
    run = run_search(runtime, search_id, now=T0)  # the real run decides the same
    assert (run.alerts_new, run.suppressed) == (1, 1)
    again = preview_search(runtime, search_id, now=T0 + timedelta(minutes=1))
    assert again.window.start == T0  # a preview continues from the last real window


def test_a_preview_of_an_unsaved_definition_needs_no_search_row(runtime, dataset):
    name, data = dataset
    data.hits = [Hit("1", T0 - timedelta(minutes=1), {"user": "bob"})]
    defn = parse_definition(
        {"name": "draft", "source": "memory", "source_config": {"dataset": name}}
    )
    preview = preview_search(runtime, defn, now=T0)
    assert preview.error is None and len(preview.plan.new) == 1 and counts(runtime)["Alert"] == 0


def test_search_test_prints_json_for_a_file_and_a_given_window(
    runtime, dataset, monkeypatch, tmp_path: Path, capsys
):
    name, data = dataset
    now = datetime.now(UTC)
    data.hits = [
        Hit("1", now - timedelta(hours=2), {"user": "old"}),
        Hit("2", now - timedelta(minutes=1), {"user": "new"}),
    ]
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    path = tmp_path / "draft.yaml"
    path.write_text(
        f"name: draft\nsource: memory\nsource_config: {{dataset: '{name}'}}\nkey_fields: [user]\n"
    )
    assert main(["search", "test", str(path), "--json", "--from", "now-3h", "--to", "now"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [n["key"] for n in out["new"]] == ["user=old", "user=new"] and out["hits"] == 2
    assert main(["search", "test", str(path), "--json"]) == 0  # default window: the look-back range
    assert [n["key"] for n in json.loads(capsys.readouterr().out)["new"]] == ["user=new"]
    assert counts(runtime)["Alert"] == 0


def test_search_commands_report_bad_input_in_one_line(runtime, monkeypatch, tmp_path: Path, capsys):
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    assert main(["search", "run", "no-such-search"]) == 2
    assert "no search with id or name 'no-such-search'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource: memory\nschedule: sometimes\n")
    assert main(["search", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: search 'x': schedule:" in err and "source_config.dataset: is required" in err


def test_search_import_run_list_and_export_from_the_command_line(
    runtime, dataset, monkeypatch, tmp_path: Path, capsys
):
    name, data = dataset
    data.hits = [Hit("1", datetime.now(UTC) - timedelta(minutes=1), {"user": "bob"})]
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    (tmp_path / "s.yaml").write_text(
        f"name: cli search\nsource: memory\nsource_config: {{dataset: '{name}'}}\nchannel: C1\n"
    )
    assert main(["search", "import", str(tmp_path)]) == 0
    assert "1 created" in capsys.readouterr().out
    assert main(["search", "run", "cli search", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alerts_new"] == 1
    assert main(["search", "list"]) == 0
    assert "cli search" in capsys.readouterr().out
    assert main(["search", "export", "--dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "cli-search.yaml").read_text().startswith("name: cli search")
