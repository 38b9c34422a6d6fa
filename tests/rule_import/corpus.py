"""The Sigma corpus (../shared/corpus/sigma beside the repository) and documents shaped for it.

The corpus is read where it lies, never copied into the project. Windows events
are indexed the way Winlogbeat 7+ ships them: every raw field under
``winlog.event_data``, the record's system fields under ``winlog``, and the ECS
fields its ingest pipeline fills. Which ECS field a raw field fills is asked of
the same pySigma pipeline the importer uses, per log source, so the documents
and the converted queries name fields alike by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus" / "sigma"
LINUX_AND_WEB = [CORPUS / "rules" / "linux", CORPUS / "rules" / "web"]
REGRESSION = CORPUS / "regression"

# What Winlogbeat's index template does: strings are keywords, and the ECS fields that
# pySigma queries through ".caseless" have that lowercase-normalised sub-field.
WINLOGBEAT_SETTINGS = {
    "analysis": {"normalizer": {"lowercase": {"type": "custom", "filter": ["lowercase"]}}}
}


def corpus_files(folders: list[Path]) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.yml"))


@dataclass(frozen=True)
class RegressionCase:
    """A Windows rule and the events its author captured (most have one, a few several)."""

    rule_id: str
    rule_path: Path
    events: tuple[dict[str, Any], ...]

    def document_ids(self) -> list[str]:
        return [f"{self.rule_id}/{n}" for n in range(len(self.events))]


def regression_cases() -> list[RegressionCase]:
    return [
        RegressionCase(d.name, d / "rule.yml", tuple(json_objects(d / "event.json")))
        for d in sorted(REGRESSION.iterdir())
    ]


def json_objects(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects written one after another in ``path`` (one, or several)."""
    text, decoder, at = path.read_text(encoding="utf-8"), json.JSONDecoder(), 0
    while (at := _skip_space(text, at)) < len(text):
        value, at = decoder.raw_decode(text, at)
        yield value


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def parsed_rule(path: Path) -> Any:
    from sigma.collection import SigmaCollection

    [rule] = SigmaCollection.from_yaml(path.read_text(encoding="utf-8")).rules
    return rule


def detection_fields(detection: Any) -> Iterator[str]:
    """Every field name a (processed) rule's detection items name."""
    for item in detection.detection_items:
        if hasattr(item, "detection_items"):
            yield from detection_fields(item)
        elif item.field:
            yield item.field


def queried_fields(path: Path, pipeline: str) -> set[str]:
    """The field names the converted query of the rule in ``path`` uses."""
    from bot.rule_import.sigma import lucene_query

    rule = parsed_rule(path)
    lucene_query(rule, pipeline)  # applies the pipeline to the rule
    return {f for d in rule.detection.detections.values() for f in detection_fields(d)}


def ecs_names(logsource: Any, raw_fields: list[str], pipeline: str) -> dict[str, list[str]]:
    """raw field -> the field names ``pipeline`` maps it to, for rules of ``logsource``.

    One probe rule with a selection per raw field goes through the pipeline once.
    """
    from sigma.collection import SigmaCollection
    from sigma.pipelines.elasticsearch import pipelines

    selections = {f"probe{n}": {raw: "x"} for n, raw in enumerate(raw_fields)}
    rule_dict = {
        "title": "field probe",
        "logsource": logsource.to_dict(),
        "detection": {**selections, "condition": "1 of probe*"},
    }
    [rule] = SigmaCollection.from_dicts([rule_dict]).rules
    pipelines[pipeline]().apply(rule)
    detections = rule.detection.detections
    return {
        raw: sorted(set(detection_fields(detections[f"probe{n}"])))
        for n, raw in enumerate(raw_fields)
    }


def put(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return  # a scalar holds that path already (two raw fields, one ECS field)
    node.setdefault(last, value)


def winlogbeat_documents(case: RegressionCase, pipeline: str, timestamp: str) -> dict[str, Any]:
    """Document id -> document, for each of the case's events."""
    rule = parsed_rule(case.rule_path)
    return {
        doc_id: winlogbeat_document(event, rule.logsource, pipeline, timestamp)
        for doc_id, event in zip(case.document_ids(), case.events, strict=True)
    }


def winlogbeat_document(
    event: dict[str, Any], logsource: Any, pipeline: str, timestamp: str
) -> dict[str, Any]:
    """The event as Winlogbeat 7+ indexes it, with the ECS fields ``pipeline`` queries."""
    system = event["Event"]["System"]
    data = {k: v for k, v in (event["Event"].get("EventData") or {}).items() if v is not None}
    provider = system.get("Provider", {}).get("#attributes", {}).get("Name")
    event_id = system.get("EventID")
    if isinstance(event_id, dict):  # <EventID Qualifiers="...">4657</EventID>
        event_id = event_id.get("#text")
    raw = {
        **data,
        "EventID": event_id,
        "Channel": system.get("Channel"),
        "Provider_Name": provider,
        "ComputerName": system.get("Computer"),
    }
    document: dict[str, Any] = {
        "@timestamp": timestamp,
        "winlog": {
            "event_data": data,
            "event_id": str(event_id),
            "channel": system.get("Channel"),
            "provider_name": provider,
            "computer_name": system.get("Computer"),
        },
        "event": {"code": str(event_id)},
    }
    for name, targets in ecs_names(logsource, sorted(raw), pipeline).items():
        if raw[name] is None:
            continue
        for target in targets:
            put(document, target.removesuffix(".caseless"), raw[name])
    return document


def winlogbeat_mappings(caseless: set[str]) -> dict[str, Any]:
    """Every dynamic value a keyword; ``caseless`` fields get their lowercase sub-field."""
    keyword = {"type": "keyword", "ignore_above": 8191}
    templates = [
        {f"{kind}_as_keyword": {"match_mapping_type": kind, "mapping": keyword}}
        for kind in ("string", "long", "double", "boolean")
    ]
    properties: dict[str, Any] = {"@timestamp": {"type": "date"}}
    for field in sorted(caseless):
        subfield = {"caseless": {"type": "keyword", "normalizer": "lowercase"}}
        put(properties, field.replace(".", ".properties."), {**keyword, "fields": subfield})
    return {"dynamic_templates": templates, "properties": properties}
