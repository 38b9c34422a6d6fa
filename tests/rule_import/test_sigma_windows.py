"""Each of the 115 Windows rules of the corpus, on the real event its author captured.

Every event is indexed as Winlogbeat 7+ ships it (ECS fields filled the way the
``ecs_windows`` pipeline names them, raw fields under ``winlog.event_data``),
all in one bulk request; each rule is imported, saved and run through the same
code path as ``/411 search test``. A rule must alert on its own event and not on
its neighbour's (the next rule of the same log source). Two mappings are tried:
Winlogbeat's own, where only the executables have a lowercase ``caseless``
sub-field, and one where every keyword is lowercase-normalised; Sigma matches
without regard to case, so only the second can honour that everywhere.

What is not so is listed with its reason in ``sigma_expectations.yaml``; the test
fails when the actual misses differ from that list, either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from bot.definitions.store import find_search_by_origin
from bot.rule_import.options import ImportOptions
from bot.rule_import.output import distinct_names, save
from bot.rule_import.sigma import convert_paths
from bot.runs.runner import preview_search
from bot.runtime import Runtime
from searches.base import TimeWindow
from tests.rule_import.corpus import (
    REGRESSION,
    WINLOGBEAT_SETTINGS,
    RegressionCase,
    parsed_rule,
    queried_fields,
    regression_cases,
    winlogbeat_documents,
    winlogbeat_mappings,
)
from tests.rule_import.expectations import expected, report_difference

PIPELINE = "ecs_windows"
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = TimeWindow(NOW - timedelta(minutes=10), NOW + timedelta(minutes=1))


def neighbours(cases: list[RegressionCase]) -> dict[str, str]:
    """rule id -> the next rule's id among those of the same log source (else the next one)."""

    def kind(case: RegressionCase) -> tuple[str, ...]:
        source = parsed_rule(case.rule_path).logsource
        return (str(source.product), str(source.category), str(source.service))

    kinds = {case.rule_id: kind(case) for case in cases}
    ids = [case.rule_id for case in cases]
    result = {}
    for n, rule_id in enumerate(ids):
        same = [other for other in ids if kinds[other] == kinds[rule_id] and other != rule_id]
        after = [other for other in same if other > rule_id] or same
        result[rule_id] = after[0] if after else ids[(n + 1) % len(ids)]
    return result


def lowercase_everywhere(mappings: dict[str, Any]) -> dict[str, Any]:
    for template in mappings["dynamic_templates"]:
        [body] = template.values()
        body["mapping"] = {**body["mapping"], "normalizer": "lowercase"}
    return mappings


MAPPINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "winlogbeat": lambda mappings: mappings,
    "lowercase": lowercase_everywhere,
}


def index_events(es: Elasticsearch, index: str, variant: str, cases: list[RegressionCase]) -> None:
    timestamp = (NOW - timedelta(minutes=2)).isoformat()
    documents: dict[str, dict[str, Any]] = {}
    caseless: set[str] = set()
    for case in cases:
        documents.update(winlogbeat_documents(case, PIPELINE, timestamp))
        try:
            fields = queried_fields(case.rule_path, PIPELINE)
        except Exception:  # a rule pySigma cannot convert names no field
            fields = set()
        caseless |= {f.removesuffix(".caseless") for f in fields if f.endswith(".caseless")}
    mappings = MAPPINGS[variant](winlogbeat_mappings(caseless))
    es.indices.create(index=index, settings=WINLOGBEAT_SETTINGS, mappings=mappings)
    actions = [{"_index": index, "_id": i, "_source": d} for i, d in documents.items()]
    indexed, errors = helpers.bulk(es, actions, refresh="wait_for", raise_on_error=False)
    assert not errors, errors[:3]
    assert indexed == sum(len(case.events) for case in cases) > len(cases)


def alerted_rules(runtime: Runtime, search_id: int) -> tuple[set[str], str | None]:
    """The rules whose events the search alerts on (its alert keys are document ids)."""
    preview = preview_search(runtime, search_id, WINDOW, now=NOW)
    if preview.error or preview.plan is None:
        return set(), preview.error or "no plan"
    return {new.key.removeprefix("id:").split("/")[0] for new in preview.plan.new}, None


@pytest.mark.parametrize("variant", list(MAPPINGS))
def test_windows_rules_alert_on_their_own_events(
    variant: str, es: Elasticsearch, module_indices: Any, corpus_runtime: Runtime, capsys: Any
) -> None:
    cases = regression_cases()
    assert len(cases) == 115
    index = module_indices(variant)
    index_events(es, index, variant, cases)

    report = convert_paths([REGRESSION], ImportOptions(index=index), PIPELINE)
    saved = save(corpus_runtime.sessions, distinct_names(report.converted), "test", "corpus")
    assert saved.ok, saved.problems[:3]

    neighbour_of = neighbours(cases)
    missed: dict[str, str] = {}
    neighbour_hits: dict[str, str] = {}
    other_hits: dict[str, list[str]] = {}
    with corpus_runtime.sessions() as session:
        search_ids = {
            case.rule_id: search.id
            for case in cases
            if (search := find_search_by_origin(session, f"sigma:{case.rule_id}"))
        }
    for rule_id, search_id in sorted(search_ids.items()):
        hits, error = alerted_rules(corpus_runtime, search_id)
        if error:
            missed[rule_id] = f"query error: {error}"
        elif rule_id not in hits:
            missed[rule_id] = "no alert on its own event"
        if neighbour_of[rule_id] in hits:
            neighbour_hits[rule_id] = neighbour_of[rule_id]
        if others := sorted(hits - {rule_id}):
            other_hits[rule_id] = others
    not_convertible = {Path(f.where).parent.name: f.reason for f in report.failed}

    alerted = len(search_ids) - len(missed)
    false_positives = sum(len(v) for v in other_hits.values())
    with capsys.disabled():
        print(
            f"\nSigma Windows rules ({PIPELINE} pipeline, {variant} mapping): "
            f"{len(cases)} rules, {len(report.converted)} converted, "
            f"{alerted} alerted on their own event, "
            f"{len(neighbour_hits)} false positives on the neighbouring rule's event, "
            f"{false_positives} matches of other rules' events "
            f"(by {len(other_hits)} rules)"
        )
    want = expected("windows")
    report_difference(
        actual={
            "not_convertible": not_convertible,
            "missed_own_event": missed,
            "neighbour_false_positives": neighbour_hits,
            "matches_other_events": other_hits,
        },
        expected={
            "not_convertible": want["not_convertible"],
            "missed_own_event": want["missed_own_event"][variant],
            "neighbour_false_positives": want["neighbour_false_positives"][variant],
            "matches_other_events": want["matches_other_events"][variant],
        },
    )
