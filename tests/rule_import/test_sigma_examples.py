"""Imported Sigma rules bring their regression event as their example, and ``411 search
verify`` checks it: offline (the file source's Lucene engine) and on the real Elasticsearch.

The corpus's Windows rules are imported with ``--out`` exactly as a user would; every
converted rule must carry one ``must_fire`` example holding every captured event. ``search verify``
then runs over the folder written. On the cluster, the scratch index takes the mapping
of the index the searches query (here Winlogbeat's, made as ``test_sigma_windows``
makes it), so the rules that fail are those that miss their own event there: the
letter-case misses of ``sigma_expectations.yaml``. Offline, the file engine reads every
string as Elasticsearch's dynamic mapping does (lower-cased word tokens, no keyword
sub-fields but ``.keyword``), not as Winlogbeat's keyword fields, so more rules fail
there; that list is in the same file. A set of failures that differs fails the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from elasticsearch import Elasticsearch

from bot.cli import main
from bot.config import ClusterConfig, Settings
from bot.definitions.examples import parse_examples
from bot.runs.verify import Outcome, verify_paths
from tests.rule_import.corpus import (
    REGRESSION,
    WINLOGBEAT_SETTINGS,
    queried_fields,
    regression_cases,
    winlogbeat_mappings,
)
from tests.rule_import.expectations import expected, report_difference

PIPELINE = "ecs_windows"


def import_with_examples(out: Path, index: str, capsys: Any) -> dict[Path, str]:
    """Import the corpus's Windows rules into ``out``; written file -> rule id."""
    assert main(["import", "sigma", str(REGRESSION), "--out", str(out), "--index", index]) == 1
    assert "114 converted, 1 not convertible" in capsys.readouterr().out  # the field reference
    return {
        path: yaml.safe_load(path.read_text(encoding="utf-8"))["origin"].removeprefix("sigma:")
        for path in sorted(out.glob("*.yaml"))
    }


def failing_rules(outcomes: list[Outcome], rule_of: dict[Path, str]) -> dict[str, str]:
    """rule id -> the first failure of its examples."""
    failed: dict[str, str] = {}
    for outcome in outcomes:
        if not outcome.ok:
            failed.setdefault(rule_of[outcome.path], f"{outcome.example}: {outcome.detail}")
    return failed


def winlogbeat_index(es: Elasticsearch, index: str) -> None:
    """An empty index with Winlogbeat's mapping: what the searches' pattern matches."""
    caseless: set[str] = set()
    for case in regression_cases():
        try:
            fields = queried_fields(case.rule_path, PIPELINE)
        except Exception:  # the rule pySigma cannot convert names no field
            fields = set()
        caseless |= {f.removesuffix(".caseless") for f in fields if f.endswith(".caseless")}
    es.indices.create(
        index=index, settings=WINLOGBEAT_SETTINGS, mappings=winlogbeat_mappings(caseless)
    )


def test_imported_windows_rules_carry_and_verify_their_events(
    tmp_path: Path, es: Elasticsearch, es_url: str, module_indices: Any, capsys: Any
) -> None:
    index = module_indices("winlogbeat-examples")
    winlogbeat_index(es, index)
    rule_of = import_with_examples(tmp_path, index, capsys)

    events_of = {case.rule_id: len(case.events) for case in regression_cases()}
    assert len(rule_of) == 114
    for path, rule_id in rule_of.items():  # every converted rule carries each of its events
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
        examples = parse_examples(raw)
        assert not examples.problems, (path, examples.problems)
        [example] = examples.items  # a capture of several events is one example
        assert (example.kind, len(example.events)) == ("must_fire", events_of[rule_id]), path
        assert all("@timestamp" not in event for event in example.events)  # placed by verify

    offline = verify_paths([tmp_path])
    settings = Settings(clusters={"default": ClusterConfig(name="default", url=es_url)})
    on_es = verify_paths([tmp_path], settings=settings, cluster="default")
    assert not es.indices.get(index="411-verify-*", allow_no_indices=True).body  # cleaned up

    counts: dict[str, tuple[int, int]] = {}
    for where, outcomes in (("offline", offline), ("elasticsearch", on_es)):
        checked = [o for o in outcomes if o.example]
        counts[where] = (sum(o.ok for o in checked), len(checked))
        assert len(checked) == len(rule_of)
    with capsys.disabled():
        for where, (ok, total) in counts.items():
            print(
                f"\nsearch verify {where} on {len(rule_of)} imported Sigma Windows rules: "
                f"{ok} of {total} examples (their captured events) fire"
            )
    want = expected("windows")["verify_examples"]
    report_difference(
        actual={
            "offline": failing_rules(offline, rule_of),
            "elasticsearch": failing_rules(on_es, rule_of),
        },
        expected={"offline": want["offline"], "elasticsearch": want["elasticsearch"]},
    )
