"""The Sigma corpus (../shared/corpus/sigma beside the repository) and documents shaped for it.

The corpus is read where it lies, never copied into the project. Windows events
are indexed the way Winlogbeat 7+ ships them, shaped by the importer's own code
(``bot.rule_import.sigma_events``, which also writes them as imported rules'
examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.rule_import.sigma_events import detection_fields, event_document, json_objects, put
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


def parsed_rule(path: Path) -> Any:
    from sigma.collection import SigmaCollection

    [rule] = SigmaCollection.from_yaml(path.read_text(encoding="utf-8")).rules
    return rule


def queried_fields(path: Path, pipeline: str) -> set[str]:
    """The field names the converted query of the rule in ``path`` uses."""
    from bot.rule_import.sigma import lucene_query

    rule = parsed_rule(path)
    lucene_query(rule, pipeline)  # applies the pipeline to the rule
    return {f for d in rule.detection.detections.values() for f in detection_fields(d)}


def winlogbeat_documents(case: RegressionCase, pipeline: str, timestamp: str) -> dict[str, Any]:
    """Document id -> document, for each of the case's events."""
    rule = parsed_rule(case.rule_path)
    return {
        doc_id: event_document(event, rule.logsource, pipeline, timestamp)
        for doc_id, event in zip(case.document_ids(), case.events, strict=True)
    }


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
