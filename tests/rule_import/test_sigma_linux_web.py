"""All 255 Linux and web rules of the corpus become valid 411 searches.

Each rule is imported (no pipeline: Sigma's own field names, as ``auto`` picks for
these log sources), saved, and run through the code path of ``/411 search test``
against the real Elasticsearch, on an index that maps every field the queries
name as a keyword, so the cluster parses each query for real. A search counts as
valid when it saves and its run reports no query error. Rules that do not are
listed with their reason in ``sigma_expectations.yaml``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from bot.definitions.store import find_search_by_origin
from bot.rule_import.options import ImportOptions
from bot.rule_import.output import distinct_names, save
from bot.rule_import.sigma import AUTO, NO_PIPELINE, convert_paths
from bot.rule_import.sigma_events import put
from bot.runs.runner import preview_search
from bot.runtime import Runtime
from searches.base import TimeWindow
from tests.rule_import.corpus import LINUX_AND_WEB, corpus_files, queried_fields
from tests.rule_import.expectations import expected, report_difference

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = TimeWindow(NOW - timedelta(minutes=10), NOW + timedelta(minutes=1))


def keyword_mappings(fields: set[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {"@timestamp": {"type": "date"}}
    for field in sorted(fields):  # a field that is also another's parent object stays an object
        put(properties, field.replace(".", ".properties."), {"type": "keyword"})
    return {"properties": properties}


def test_linux_and_web_rules_become_valid_searches(
    es: Elasticsearch, module_indices: Any, corpus_runtime: Runtime, capsys: Any
) -> None:
    files = corpus_files(LINUX_AND_WEB)
    assert len(files) == 255
    index = module_indices("linux-web")
    fields = set().union(*(_fields(path) for path in files))
    es.indices.create(index=index, mappings=keyword_mappings(fields))
    sample = {"@timestamp": (NOW - timedelta(minutes=2)).isoformat()}
    es.index(index=index, id="sample", document=sample, refresh="wait_for")

    report = convert_paths(LINUX_AND_WEB, ImportOptions(index=index), AUTO)
    definitions = distinct_names(report.converted)
    saved = save(corpus_runtime.sessions, definitions, "test", "corpus")

    invalid: dict[str, str] = {Path(f.where).stem: f.reason for f in report.failed}
    invalid |= {problem.split(":")[0]: problem for problem in saved.problems}
    stems = {
        defn.origin: Path(item.where).stem
        for defn, item in zip(definitions, report.converted, strict=True)
    }
    valid = 0
    with corpus_runtime.sessions() as session:
        search_ids = {
            stem: search.id
            for origin, stem in stems.items()
            if origin and (search := find_search_by_origin(session, origin))
        }
    for stem, search_id in sorted(search_ids.items()):
        preview = preview_search(corpus_runtime, search_id, WINDOW, now=NOW)
        if preview.error:
            invalid[stem] = f"query error: {preview.error}"
        else:
            valid += 1
    with capsys.disabled():
        print(
            f"\nSigma Linux and web rules: {len(files)} rules, {len(report.converted)} converted, "
            f"{len(saved.created) + len(saved.updated)} saved, "
            f"{valid} valid 411 searches (run on Elasticsearch without a query error)"
        )
    report_difference(
        actual={"not_valid": invalid}, expected={"not_valid": expected("linux_web")["not_valid"]}
    )
    assert valid == len(search_ids) == len(files) - len(invalid)


def _fields(path: Path) -> set[str]:
    try:
        return queried_fields(path, NO_PIPELINE)
    except Exception:  # not convertible: it names no field; the import reports why
        return set()
