"""Searches as code: YAML files in, YAML files out.

A file holds one search (a mapping), a list of them, several YAML documents, or
``searches: [...]``. Import validates everything first and reports every problem
with its file and field; a file with any problem imports nothing, and each file
is imported in one transaction, upserting by name (a revision only on change).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.definitions.examples import BESIDE
from bot.definitions.search import (
    DefinitionError,
    SearchDefinition,
    definition_from_search,
    definition_to_dict,
    parse_definition,
    redacted_definition_dict,
)
from bot.definitions.store import (
    create_search,
    find_search,
    find_search_by_name,
    find_search_by_origin,
    update_search,
)
from bot.errors import BotError
from bot.models import Search

SUFFIXES = (".yaml", ".yml")


@dataclass
class FileResult:
    path: Path
    definitions: list[SearchDefinition] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Raw ``examples`` per search name: proof for ``411 search verify``, not stored.
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the YAML files inside directories named (sorted, recursive)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in SUFFIXES and p.is_file() and not p.name.endswith(BESIDE)
                )
            )
        else:
            found.append(path)
    return found


def read_file(path: Path) -> FileResult:
    result = FileResult(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.problems.append(f"{path}: cannot read: {exc}")
        return result
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        result.problems.append(f"{path}: {yaml_error(exc)}")
        return result
    names: dict[str, str] = {}
    for label, raw in _entries(documents):
        where = f"{path}: {_label(label, raw)}"
        if not isinstance(raw, Mapping):
            result.problems.append(f"{where}: a search must be a mapping of fields")
            continue
        raw = dict(raw)
        examples = raw.pop("examples", None)  # verified by `411 search verify`, not stored
        try:
            defn = parse_definition(raw)
        except DefinitionError as exc:
            result.problems.extend(f"{where}: {e.field}: {e.message}" for e in exc.errors)
            continue
        if defn.name in names:
            result.problems.append(
                f"{where}: name: {defn.name!r} is also defined at {names[defn.name]}"
            )
            continue
        names[defn.name] = label
        result.definitions.append(defn)
        if examples is not None:
            result.examples[defn.name] = examples
    if not result.definitions and not result.problems:
        result.problems.append(f"{path}: no search in this file")
    return result


def _entries(documents: list[Any]) -> Iterator[tuple[str, Any]]:
    many = len(documents) > 1
    for d, doc in enumerate(documents, 1):
        if isinstance(doc, Mapping) and set(doc) == {"searches"}:
            doc = doc["searches"]
        if isinstance(doc, list):
            for i, item in enumerate(doc, 1):
                yield (f"document {d} item {i}" if many else f"item {i}"), item
        else:
            yield (f"document {d}" if many else ""), doc


def _label(position: str, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    parts = [p for p in (position, f"search {name!r}" if isinstance(name, str) else "") if p]
    return ", ".join(parts) or "search"


def yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1} column {mark.column + 1}: invalid YAML: {problem}"
    return f"invalid YAML: {problem}"


def import_paths(
    sessions: sessionmaker[Session],
    paths: Iterable[str | Path],
    actor: str,
    *,
    dry_run: bool = False,
    settings: Any = None,
) -> ImportReport:
    """Import every file; with ``settings``, each search is also checked against its data."""
    report = ImportReport()
    files = [read_file(path) for path in yaml_files(paths)]
    _check_names_across_files(files)
    if settings is not None:
        for result in files:
            _check_against_data(result, settings, report)
    for result in files:
        if result.problems:
            report.problems.extend(result.problems)
            report.skipped_files.append(result.path)
            continue
        counts = (len(report.created), len(report.updated), len(report.unchanged))
        with sessions() as session:  # one file, one transaction
            try:
                for defn in result.definitions:
                    upsert(session, defn, actor, f"imported from {result.path.name}", report)
            except BotError as exc:
                session.rollback()
                _forget_since(report, counts)
                report.problems.append(f"{result.path}: {exc.message}")
                report.skipped_files.append(result.path)
                continue
            if dry_run:
                session.rollback()
            else:
                session.commit()
    return report


def _check_against_data(result: FileResult, settings: Any, report: ImportReport) -> None:
    """Where alerts go, the cluster and the fields, per search (see bot/definitions/checks.py)."""
    from bot.definitions.checks import check_for_save

    for defn in result.definitions:
        where = f"{result.path}: search {defn.name!r}"
        findings = check_for_save(defn, settings)
        result.problems += [f"{where}: {e.field}: {e.message}" for e in findings.errors]
        report.warnings += [f"{where}: {w}" for w in findings.warnings]


def _forget_since(report: ImportReport, counts: tuple[int, int, int]) -> None:
    """Drop what a file that was rolled back claimed to have done."""
    del report.created[counts[0] :]
    del report.updated[counts[1] :]
    del report.unchanged[counts[2] :]


def _check_names_across_files(files: list[FileResult]) -> None:
    seen: dict[str, Path] = {}
    for result in files:
        for defn in result.definitions:
            if defn.name in seen and seen[defn.name] != result.path:
                result.problems.append(
                    f"{result.path}: name: {defn.name!r} is also defined in {seen[defn.name]}"
                )
            seen.setdefault(defn.name, result.path)


def upsert(
    session: Session, defn: SearchDefinition, actor: str, reason: str, report: ImportReport
) -> None:
    """Create or update one search; an imported rule (``origin``) is matched by its origin
    first, so a renamed rule updates its search instead of adding a second one."""
    existing = find_search_by_origin(session, defn.origin) if defn.origin else None
    if existing is None:
        existing = find_search_by_name(session, defn.name)
    if existing is None:
        create_search(session, defn, actor, reason)
        report.created.append(defn.name)
    elif update_search(session, existing, defn, actor, reason):
        report.updated.append(defn.name)
    else:
        report.unchanged.append(defn.name)


# ------------------------------------------------------------------- export


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # templates read best as literal blocks
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_definition(defn: SearchDefinition, *, redact: bool = False) -> str:
    """The definition as YAML; ``redact`` masks secrets, for showing it to people."""
    as_dict = redacted_definition_dict if redact else definition_to_dict
    return _dump(as_dict(defn, compact=True))


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def export_searches(session: Session, refs: Iterable[str] = ()) -> list[SearchDefinition]:
    """Every live search by name, or those ``refs`` name (ids or names; NotFound if unknown)."""
    wanted = list(refs)
    if not wanted:
        query = select(Search).where(Search.deleted_at.is_(None)).order_by(Search.name)
        return [definition_from_search(s) for s in session.scalars(query)]
    found: dict[int, Search] = {}
    for ref in wanted:
        search = find_search(session, ref)
        found.setdefault(search.id, search)
    return [definition_from_search(s) for s in found.values()]


def file_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "search"
    return f"{slug[:80]}.yaml"


def write_directory(
    definitions: list[SearchDefinition],
    directory: Path,
    examples: Mapping[str, Any] | None = None,
) -> list[Path]:
    """One YAML file per search; ``examples`` (per search name) are written into its file."""
    examples = examples or {}
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for defn in definitions:
        name = file_name(defn.name)
        stem, n = name[:-5], 2
        while name in used:  # two names with the same slug
            name, n = f"{stem}-{n}.yaml", n + 1
        used.add(name)
        path = directory / name
        text = dump_definition(defn)
        if examples.get(defn.name):
            text += _dump({"examples": examples[defn.name]})
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def dump_all(definitions: list[SearchDefinition]) -> str:
    return "---\n".join(dump_definition(d) for d in definitions)
