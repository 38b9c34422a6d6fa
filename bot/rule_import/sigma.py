"""Sigma rules to 411 searches, through pySigma and its Elasticsearch (Lucene) backend.

Each rule becomes one ``elasticsearch`` search whose Lucene query is pySigma's
conversion of the rule's detection. Field names depend on how the user's logs
are shipped, so a processing pipeline renames them: chosen by the user, by the
cluster's ``SIGMA_PIPELINE`` setting, or per log source (Windows rules:
``ecs_windows``, the field names of Winlogbeat 7 and later; Zeek: ``ecs_zeek_beats``;
others: none, Sigma's own field names).

What a rule carries over: title (the search's name), description, level (the
priority), tags (ATT&CK ids among them, shown on every alert), references and
false positives (the alert's body), and the rule id (``origin: sigma:<id>``, so
importing the rule again updates its search instead of adding another). A rule
file with its regression event beside it also brings that event, shaped as the
pipeline's documents, as the search's ``must_fire`` example (sigma_events.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.definitions.search import DefinitionError, SearchDefinition, parse_definition
from bot.definitions.yaml_files import yaml_error, yaml_files
from bot.errors import InvalidInput
from bot.models.enums import Priority
from bot.rule_import.options import ImportOptions
from bot.rule_import.report import ConversionReport, Converted, NotConverted
from bot.rule_import.sigma_events import NO_PIPELINE, NotAnEvent, must_fire_examples
from searches.base import FieldError

AUTO = "auto"  # the default pipeline for each rule's log source
DEFAULT_PIPELINE_OF_PRODUCT = {"windows": "ecs_windows", "zeek": "ecs_zeek_beats"}
DEFAULT_INDEX_OF_PRODUCT = {"windows": "winlogbeat-*"}
DEFAULT_INDEX = "logs-*"
NAME_MAX = 200
PRIORITY_OF_LEVEL = {
    "informational": Priority.LOW,
    "low": Priority.LOW,
    "medium": Priority.MEDIUM,
    "high": Priority.HIGH,
    "critical": Priority.CRITICAL,
}
NOT_CARRIED = ("fields", "related", "scope")  # rule attributes a search has no place for


def pipeline_names() -> list[str]:
    """Every pipeline a user may choose: auto, none, and those of the Elasticsearch backend."""
    from sigma.pipelines.elasticsearch import pipelines

    return [AUTO, NO_PIPELINE, *sorted(pipelines)]


def check_pipeline(name: str) -> str:
    if name not in pipeline_names():
        raise InvalidInput(
            f"unknown Sigma pipeline {name!r}; choose one of: {', '.join(pipeline_names())}",
            field="pipeline",
        )
    return name


def chosen_pipeline(settings: Settings, cluster: str | None, given: str | None) -> str:
    """The command line's choice, else the cluster's configured one, else per log source."""
    if given:
        return check_pipeline(given)
    config = settings.clusters.get(cluster or "default")
    return check_pipeline(config.sigma_pipeline) if config and config.sigma_pipeline else AUTO


def pipeline_for(rule: Any, chosen: str) -> str:
    if chosen != AUTO:
        return chosen
    return DEFAULT_PIPELINE_OF_PRODUCT.get(rule.logsource.product or "", NO_PIPELINE)


def lucene_query(rule: Any, pipeline: str) -> str:
    """pySigma's Lucene query for ``rule`` (several queries, one per condition, are OR-ed).

    The rule is changed by the pipeline: convert each parsed rule only once.
    """
    from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
    from sigma.pipelines.elasticsearch import pipelines

    backend = LuceneBackend(None if pipeline == NO_PIPELINE else pipelines[pipeline]())
    for detection in rule.detection.detections.values():
        _unescape_slashes(detection)
    queries = [str(q) for q in backend.convert_rule(rule)]
    if not queries:
        raise ValueError("pySigma produced no query for this rule")
    return queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)


# In a regex, backslash-slash means a slash. The backend escapes every slash once more, so
# a rule written with backslash-slash became two backslashes and a slash, which ends the
# Lucene regex early: an invalid query. Such slashes lose their needless backslash first.
_ESCAPED_SLASH = re.compile(r"(?<!\\)((?:\\\\)*)\\/")


def _unescape_slashes(detection: Any) -> None:
    from sigma.types import SigmaRegularExpression

    for item in detection.detection_items:
        if hasattr(item, "detection_items"):
            _unescape_slashes(item)
            continue
        for n, value in enumerate(item.value):
            if isinstance(value, SigmaRegularExpression):
                plain = _ESCAPED_SLASH.sub(r"\1/", str(value.regexp))
                if plain != str(value.regexp):
                    item.value[n] = SigmaRegularExpression(plain, value.flags)


def convert_text(
    text: str,
    where: str,
    options: ImportOptions,
    pipeline: str = AUTO,
    rule_path: Path | None = None,
) -> ConversionReport:
    """Every rule in one file's text (a file may hold several YAML documents); a file of one
    rule at ``rule_path`` with an event beside it gets that event as its example."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    report = ConversionReport()
    try:
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
        collection.resolve_rule_references()
    except yaml.YAMLError as exc:
        report.failed.append(NotConverted(where, "(file)", yaml_error(exc)))
        return report
    except (SigmaError, ValueError, TypeError, AttributeError) as exc:  # YAML, but not Sigma
        report.failed.append(NotConverted(where, "(file)", _reason(exc)))
        return report
    for error in collection.errors:
        if not any(error in rule.errors for rule in collection.rules):
            report.failed.append(NotConverted(where, "(file)", _reason(error)))
    rules = collection.rules
    for position, rule in enumerate(rules, 1):
        place = f"{where} (rule {position})" if len(rules) > 1 else where
        label = rule.title or str(rule.id or "(untitled)")
        if not isinstance(rule, SigmaRule):
            kind = type(rule).__name__.removeprefix("Sigma")
            report.failed.append(NotConverted(place, label, f"a {kind} cannot become a search"))
            continue
        if rule.errors:
            report.failed.append(NotConverted(place, label, _reason(rule.errors[0])))
            continue
        try:
            defn = definition_of(rule, options, pipeline_for(rule, pipeline))
        except NotASearch as exc:
            report.failed.append(NotConverted(place, label, str(exc), exc.errors[0].field))
            continue
        except (SigmaError, ValueError) as exc:
            report.failed.append(NotConverted(place, label, _reason(exc)))
            continue
        notes = _not_carried(rule)
        examples = None
        if rule_path is not None and len(rules) == 1:
            try:
                examples = must_fire_examples(
                    rule_path, rule.logsource, pipeline_for(rule, pipeline)
                )
            except NotAnEvent as exc:
                notes += (f"example: {exc}",)
        report.converted.append(Converted(place, defn, notes, examples))
    return report


def convert_paths(
    paths: Iterable[str | Path], options: ImportOptions, pipeline: str = AUTO
) -> ConversionReport:
    """Every ``.yml``/``.yaml`` file named or below a folder named; a bad file stops nothing."""
    report = ConversionReport()
    for path in yaml_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.failed.append(NotConverted(str(path), "(file)", f"cannot read: {exc}"))
            continue
        report.extend(convert_text(text, str(path), options, pipeline, rule_path=path))
    return report


class NotASearch(ValueError):
    """The rule converted, but what it converted into (with the chosen options) is no valid
    search; ``errors`` name the search's fields."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        problems = "; ".join(map(str, errors))  # FieldError's str: "field: message"
        super().__init__(f"not a valid 411 search: {problems}")


def definition_of(rule: Any, options: ImportOptions, pipeline: str) -> SearchDefinition:
    """The search for one parsed rule; ValueError (NotASearch, pySigma's) says why there is
    none."""
    product = rule.logsource.product or ""
    config = options.source_config(DEFAULT_INDEX_OF_PRODUCT.get(product, DEFAULT_INDEX))
    config["query"] = lucene_query(rule, pipeline)
    raw: dict[str, Any] = {
        "name": _name(rule),
        "description": _description(rule, pipeline),
        "source": "elasticsearch",
        "source_config": config,
        "condition": "any",
        "priority": PRIORITY_OF_LEVEL.get(
            str(rule.level or "medium").lower(), Priority.MEDIUM
        ).value,
        "tags": [str(tag) for tag in rule.tags],
        "body": _body(rule),
        "origin": f"sigma:{rule.id}" if rule.id else None,
        **options.search_fields(),
    }
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        raise NotASearch(exc.errors) from None


def _name(rule: Any) -> str:
    title = " ".join(str(rule.title or "").split()) or f"Sigma rule {rule.id}"
    return title[:NAME_MAX]


def _description(rule: Any, pipeline: str) -> str:
    parts = [str(rule.description or "").strip()]
    about = [f"Sigma rule {rule.id}" if rule.id else "Sigma rule"]
    if rule.author:
        about.append(f"by {rule.author}")
    if rule.status:
        about.append(f"status {rule.status}")
    about.append(f"log source {_logsource(rule)}, pipeline {pipeline}")
    parts.append(", ".join(about) + ".")
    return "\n\n".join(p for p in parts if p)


def _logsource(rule: Any) -> str:
    source = rule.logsource
    named = [f"{k}={getattr(source, k)}" for k in ("product", "category", "service")]
    return " ".join(n for n in named if not n.endswith("=None")) or "any"


def _body(rule: Any) -> str:
    """False positives and references, shown in the alert's body, as literal text."""
    lines: list[str] = []
    if rule.falsepositives:
        lines.append("False positives:")
        lines.extend(f"- {fp}" for fp in rule.falsepositives)
    if rule.references:
        lines.append("References:")
        lines.extend(f"- {ref}" for ref in rule.references)
    return _literal("\n".join(lines))


def _literal(text: str) -> str:
    """``text`` as a template that renders to itself (a rule's text is not Jinja)."""
    if not any(mark in text for mark in ("{{", "{%", "{#")):
        return text
    return "{% raw %}" + text.replace("{% endraw %}", "{ % endraw % }") + "{% endraw %}"


def _not_carried(rule: Any) -> tuple[str, ...]:
    notes = []
    for name in NOT_CARRIED:
        value = getattr(rule, name, None)
        if value:
            notes.append(f"{name}: {_short(value)}")
    return tuple(notes)


def _short(value: Any, limit: int = 120) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
