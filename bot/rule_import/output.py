"""Converted rules out: as 411 YAML files, and/or saved as searches (one rule, one transaction).

Saving goes through the same upsert as ``411 search import``: a search made from
the same rule before (same ``origin``) is updated, so importing a rule set again
changes what changed and adds nothing twice.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.definitions.search import SearchDefinition
from bot.definitions.store import find_search_by_name
from bot.definitions.yaml_files import ImportReport, upsert, write_directory
from bot.errors import BotError
from bot.rule_import.report import Converted

NAME_MAX = 200


def distinct_names(converted: list[Converted]) -> list[SearchDefinition]:
    """The definitions, where two rules with one title get their origin added to the name."""
    titles = [item.definition.name for item in converted]
    return [
        _with_origin(item.definition) if titles.count(item.definition.name) > 1 else item.definition
        for item in converted
    ]


def _with_origin(defn: SearchDefinition) -> SearchDefinition:
    if not defn.origin:
        return defn
    suffix = f" [{defn.origin.split(':', 1)[-1][:8]}]"
    return dataclasses.replace(defn, name=defn.name[: NAME_MAX - len(suffix)] + suffix)


def write_yaml(
    converted: list[Converted], definitions: list[SearchDefinition], directory: Path
) -> list[Path]:
    """One file per search (``definitions``: those of ``converted`` under distinct names),
    with the rule's examples in it."""
    examples = {
        defn.name: item.examples
        for item, defn in zip(converted, definitions, strict=True)
        if item.examples
    }
    return write_directory(definitions, directory, examples)


def save(
    sessions: sessionmaker[Session],
    definitions: list[SearchDefinition],
    actor: str,
    reason: str,
    *,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update each search in its own transaction; one that fails is reported and the
    others are saved all the same."""
    report = ImportReport()
    for defn in definitions:
        with sessions() as session:
            try:
                upsert(session, free_name(session, defn), actor, reason, report)
            except BotError as exc:
                session.rollback()
                report.problems.append(f"{defn.name}: {exc.message}")
                continue
            if dry_run:
                session.rollback()
            else:
                session.commit()
    return report


def free_name(session: Session, defn: SearchDefinition) -> SearchDefinition:
    """A search of that name made from another rule (or by hand) keeps its name; this one
    takes its origin in its name instead of overwriting it."""
    holder = find_search_by_name(session, defn.name)
    if holder is None or not defn.origin or holder.origin == defn.origin:
        return defn
    return _with_origin(defn)
