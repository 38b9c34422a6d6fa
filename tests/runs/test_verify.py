"""`411 search verify`: every search's example events, offline and on a real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.definitions.examples import parse_examples
from bot.definitions.yaml_files import import_paths, yaml_files
from bot.runs.verify import verify_paths

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "bot" / "demo" / "searches"
BROKEN = REPO / "tests" / "fixtures" / "verify_broken"


def test_the_demo_searches_prove_themselves_offline(capsys) -> None:
    assert main(["search", "verify", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "10 examples of 4 searches checked, 0 problems" in out
    assert "must_not_fire[1]: did not fire on 20 event(s)" in out  # "count > 20" holds at 20


def test_the_demo_searches_prove_themselves_on_elasticsearch(es, es_url, monkeypatch, capsys):
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    assert main(["search", "verify", str(DEMO), "--cluster", "default"]) == 0
    assert "10 examples of 4 searches checked, 0 problems" in capsys.readouterr().out
    assert not es.indices.get(index="411-verify-*", allow_no_indices=True).body  # cleaned up


def test_a_broken_example_fails_naming_its_search_and_example(capsys) -> None:
    assert main(["search", "verify", str(BROKEN)]) == 1
    captured = capsys.readouterr()
    assert (
        f"FAIL {BROKEN / 'root-logins.yaml'}: search 'Root logins': must_fire[2]: "
        "did not fire on 1 event(s) but must fire"
    ) in captured.err
    assert "must_fire[1]: fired" in captured.out
    # The examples beside sudo.yaml were found and hold.
    assert f"{BROKEN / 'sudo.yaml'}: search 'Sudo to root': must_not_fire[1]" in captured.out
    assert "5 examples of 2 searches checked, 1 problems" in captured.out


@pytest.mark.parametrize("server", ["es_url", "es8_url"])
def test_the_broken_example_fails_on_the_cluster_too(server: str, request) -> None:
    from bot.config import ClusterConfig, Settings

    es_url = request.getfixturevalue(server)  # Elasticsearch 9.x, then 8.x
    settings = Settings(clusters={"default": ClusterConfig(name="default", url=es_url)})
    failed = [o for o in verify_paths([BROKEN], settings=settings, cluster="default") if not o.ok]
    assert [(o.search, o.example) for o in failed] == [("Root logins", "must_fire[2]")]


def test_examples_are_not_imported_and_their_files_are_no_searches(engine) -> None:
    from bot.db import session_factory

    assert [p.name for p in yaml_files([BROKEN])] == ["root-logins.yaml", "sudo.yaml"]
    report = import_paths(session_factory(engine), [BROKEN], "cli:test")
    assert (report.problems, sorted(report.created)) == ([], ["Root logins", "Sudo to root"])


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"must_fires": []}, "examples.must_fires: unknown; use must_fire or must_not_fire"),
        ({"must_fire": [{"repeat": 0, "event": {"a": 1}}]}, "examples.must_fire[1]: repeat must"),
        ({"must_fire": ["text"]}, "examples.must_fire[1]: must be an event"),
    ],
)
def test_a_malformed_example_is_a_problem_naming_it(raw, problem) -> None:
    assert parse_examples(raw).problems[0].startswith(problem)
