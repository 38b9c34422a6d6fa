"""Every example rule ElastAlert2 ships converts into a valid 411 search, or says why not.

The rules are read where they lie (../shared/corpus/elastalert2 beside the
repository), never copied. For each file the test states what the rule must
become: its mode, condition, keys and look-back, and what is reported as not
carried over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.definitions.search import definition_to_dict
from bot.rule_import.elastalert import convert_paths
from bot.rule_import.options import ImportOptions
from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus" / "elastalert2" / "rules"
OPTIONS = ImportOptions(channel="C0ALERTS", owner="U0OWNER")

# file -> (mode, condition, key fields, look-back, a setting of the mode, a note expected)
EXPECTED: dict[str, tuple[str, str, list[str], str, dict[str, Any], str]] = {
    "example_iris_alert_any.yaml": ("hits", "any", [], "15m", {}, "iris_api_token"),
    "exemple_discord_any.yaml": ("hits", "any", [], "15m", {}, "your_indice_*"),
    "example_frequency.yaml": ("count", "count >= 50", [], "4h", {}, "alert (email)"),
    "example_opsgenie_frequency.yaml": ("count", "count >= 50", [], "2h", {}, "opsgenie_key"),
    "example_tencent_sms.yaml": ("count", "count >= 50", [], "4h", {}, "tencent_sms_secret_key"),
    "ssh.yaml": ("terms", "count >= 20", ["source.ip"], "1h", {"latest_document": True},
                 "include_match_in_root"),
    "ssh-repeat-offender.yaml": ("terms", "count >= 2", ["match_body.source.ip"], "1w",
                                 {"group_by": ["match_body.source.ip"]}, "include"),
    "example_cardinality.yaml": ("metric", "any", [], "4h",
                                 {"metric": {"agg": "cardinality", "field": "Hostname",
                                             "below": 15.0}}, "alert (email)"),
    "example_change.yaml": ("change", "any", ["username"], "15m",
                            {"change": {"fields": ["country_name"], "ignore_null": True,
                                        "within": "1d"}}, "previous value"),
    "example_new_term.yaml": ("new_terms", "any", [], "15m",
                              {"new_terms": {"fields": ["ip_address"], "since": "90d"}},
                              "document type"),
    "example_percentage_match.yaml": ("percentage", "any", ["Hostname.keyword"], "5m",
                                      {"percentage": {"match_query_dsl": {"terms": {
                                          "ResponseStatus": [200]}}, "below": 95.0}},
                                      "document type"),
    "example_single_metric_agg.yaml": ("metric", "any", ["beat.hostname"], "5m",
                                       {"metric": {"agg": "avg", "field": "system.cpu.user.pct",
                                                   "above": 0.8, "below": 0.1}},
                                       "bucket_interval"),
    "example_spike.yaml": ("spike", "any", [], "2h",
                           {"spike": {"height": 3.0, "direction": "up", "min_current": 5.0}},
                           "document type"),
    "example_spike_single_metric_agg.yaml": ("spike", "any", ["beat.hostname"], "4h",
                                             {"min_doc_count": 5, "spike": {
                                                 "height": 2.0, "direction": "up",
                                                 "min_current": 0.9, "agg": "avg",
                                                 "field": "system.cpu.user.pct"}},
                                             "buffer_time"),
}  # fmt: skip
# ElastAlert2 itself refuses this one: a frequency rule needs a timeframe.
NOT_CONVERTIBLE = {
    "example_thehive_frequency.yaml": "timeframe: is required by the frequency rule type",
}


@pytest.fixture(scope="module")
def report() -> Any:
    assert CORPUS.is_dir(), f"the ElastAlert2 corpus is missing at {CORPUS}"
    return convert_paths([CORPUS], OPTIONS)


def test_every_shipped_rule_is_accounted_for(report: Any) -> None:
    files = sorted(p.name for p in CORPUS.glob("*.y*ml"))
    assert files == sorted([*EXPECTED, *NOT_CONVERTIBLE])
    converted = sorted(Path(c.where).name for c in report.converted)
    failed = {Path(f.where).name: f.reason for f in report.failed}
    print(f"\nElastAlert2 corpus: {len(converted)} converted, {len(failed)} not convertible")
    assert converted == sorted(EXPECTED)
    assert sorted(failed) == sorted(NOT_CONVERTIBLE)
    for name, reason in NOT_CONVERTIBLE.items():
        assert reason in failed[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_shipped_rule_becomes_the_expected_search(report: Any, name: str) -> None:
    mode, condition, keys, lookback, settings, note = EXPECTED[name]
    [item] = [c for c in report.converted if Path(c.where).name == name]
    search = definition_to_dict(item.definition)
    config = search["source_config"]
    assert (config.get("mode", "hits"), search["condition"]) == (mode, condition)
    assert (search["key_fields"], search["lookback"]) == (keys, lookback)
    assert {k: config[k] for k in settings} == settings
    assert (search["channel"], search["owner"]) == ("C0ALERTS", "U0OWNER")
    assert any(note in n for n in item.notes), item.notes


def test_subjects_and_texts_become_jinja_templates(report: Any) -> None:
    [ssh] = [c.definition for c in report.converted if Path(c.where).name == "ssh.yaml"]
    missing = '| default("<MISSING VALUE>")'
    assert ssh.title_template == f'SSH abuse on <{{{{ fields["host.hostname"] {missing} }}}}>'
    assert f'User: {{{{ fields["user.name"] {missing} }}}}' in ssh.body_template
    assert ssh.renotify_seconds == 60  # realert: 1 minute
