"""Checks of a search against where it runs: made when it is saved, tested and run.

``parse_definition`` checks what a definition says; these check that it can work:
its alerts have somewhere to go, its cluster exists, and the fields it names
(key fields, group-by, fields to show, the time field) exist in the data and can
be used that way. An unknown field is reported with the nearest known names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.definitions.search import SearchDefinition
from searches.base import (
    Deadline,
    FieldError,
    Source,
    SourceCancelled,
    SourceConfigError,
    SourceContext,
    SourceError,
)
from searches.fields import FieldUse, Use, plain_name

_NOT_CHECKED = "the fields were not checked"
# Run warnings that start so are field findings: the owner is told of them (once a version).
OWNER_WARNINGS = ("key_fields:", "source_config.")
NOWHERE = (
    "give a channel or an owner: without either, the search's alerts would be created "
    "and posted nowhere"
)


@dataclass
class Findings:
    errors: list[FieldError] = field(default_factory=list)  # the search cannot work as written
    warnings: list[str] = field(default_factory=list)  # it may not; someone should look

    def lines(self) -> list[str]:
        """Every finding as one line, errors first (for run notes and test output)."""
        return [str(e) for e in self.errors] + self.warnings


def check_for_save(
    defn: SearchDefinition, settings: Any, *, reach: bool = True, timeout: float | None = None
) -> Findings:
    """Everything that can be known before the search runs; ``reach``: ask its data too.

    ``timeout`` bounds the questions to the data (a Slack modal must answer in 3 s).
    """
    findings = Findings()
    if not defn.channel and not defn.owner:
        findings.errors.append(FieldError("channel", NOWHERE))
    source = _open(defn, settings)
    if source is None:
        return findings  # parse_definition reports an invalid source config
    if timeout is not None:
        source.deadline = Deadline.after(timeout)
    try:
        more = check_fields(source, defn, reach=reach)
    finally:
        source.close()
    findings.errors += more.errors
    findings.warnings += more.warnings
    return findings


def check_fields(source: Source, defn: SearchDefinition, *, reach: bool = True) -> Findings:
    """The cluster, and the fields the search names against the fields its data has."""
    findings = Findings()
    environment = source.environment_problems()
    findings.errors += [FieldError(f"source_config.{e.field}", e.message) for e in environment]
    uses = source.field_uses() + _key_uses(source, defn, findings)
    if environment or not reach or not uses:
        return findings
    try:
        catalog = source.field_catalog()
    except SourceCancelled:
        findings.warnings.append(f"{_NOT_CHECKED}: the data did not answer in time")
        return findings
    except SourceError as exc:
        if exc.permanent:
            where = f"source_config.{exc.field}" if exc.field else _where_data_is(source)
            findings.errors.append(FieldError(where, str(exc)))
        else:
            findings.warnings.append(f"{_NOT_CHECKED}: {exc}")
        return findings
    if catalog is not None:
        errors, warnings = catalog.check(uses)
        findings.errors += errors
        findings.warnings += warnings
    return findings


def _key_uses(source: Source, defn: SearchDefinition, findings: Findings) -> list[FieldUse]:
    """Key fields to look up in the data; those a fixed-shape result cannot carry are errors."""
    names = source.result_names()
    if names is None:
        return [FieldUse(k, "key_fields", Use.KEY) for k in defn.key_fields]
    for key in defn.key_fields:
        if plain_name(key) not in names:
            carried = ", ".join(f"`{n}`" for n in sorted(names))
            findings.errors.append(
                FieldError(
                    "key_fields",
                    f"`{key}` is not in the results: each one carries only {carried}",
                )
            )
    return []


def _where_data_is(source: Source) -> str:
    """The config field naming where the data lives, for an error reaching it."""
    config = source.config
    for name in ("cluster", "index", "path", "url"):
        if hasattr(config, name) or (isinstance(config, dict) and name in config):
            return f"source_config.{name}"
    return "source_config"


def _open(defn: SearchDefinition, settings: Any) -> Source | None:
    from searches.registry import get_source

    try:
        source_class = get_source(defn.source)
        config = source_class.parse_config(defn.source_config)
    except SourceConfigError:
        return None
    return source_class(config, SourceContext(search_name=defn.name, settings=settings))


CHECK_SECONDS = 5.0  # what a run or a test spends at most on checking its fields


def run_findings(source: Source, defn: SearchDefinition, timeout: float) -> list[str]:
    """Field findings for a run or a test, as lines; never fails the run itself.

    Bounded by a short deadline of its own (the run's starts when the query does);
    a data source that cannot be reached now is left to the query to report.
    """
    source.deadline = Deadline.after(min(CHECK_SECONDS, timeout / 4))
    try:
        findings = check_fields(source, defn)
    except SourceError:
        return []
    return [line for line in findings.lines() if not line.startswith(_NOT_CHECKED)]
