"""Converted rules out: as 411 YAML files, and/or saved as searches (one rule, one transaction).

Saving goes through the same upsert as ``411 search import`` (by name), so
importing a rule set again changes what changed and adds nothing twice.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.definitions.search import SearchDefinition
from bot.definitions.yaml_files import ImportReport, upsert, write_directory
from bot.errors import BotError
from bot.rule_import.report import Converted


def distinct_names(converted: list[Converted]) -> list[SearchDefinition]:
    """The definitions; a name already taken by an earlier rule is refused when saved."""
    return [item.definition for item in converted]


def write_yaml(definitions: list[SearchDefinition], directory: Path) -> list[Path]:
    return write_directory(definitions, directory)


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
                upsert(session, defn, actor, reason, report)
            except BotError as exc:
                session.rollback()
                report.problems.append(f"{defn.name}: {exc.message}")
                continue
            if dry_run:
                session.rollback()
            else:
                session.commit()
    return report
