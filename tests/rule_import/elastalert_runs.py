"""Helpers of the ElastAlert2 tests: convert a rule, index documents, run the search for real.

A converted rule is saved as a search and run by the runner (``run_search``), the
code path of every scheduled run, at a fixed ``NOW``; the test then reads the
alerts it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from bot.definitions.search import SearchDefinition
from bot.definitions.store import create_search, find_search_by_name
from bot.models import Alert, RunStatus, SearchRun
from bot.rule_import.elastalert import convert_rule
from bot.rule_import.options import ImportOptions
from bot.rule_import.report import Converted
from bot.runs.runner import run_search
from bot.runtime import Runtime
from tests.conftest import REPO
from tests.search_servers import SearchServer

CORPUS = REPO.parent / "shared" / "corpus" / "elastalert2" / "rules"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(minutes_ago: float) -> str:
    moment = NOW - timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def index_docs(
    server: SearchServer,
    index: str,
    docs: list[dict[str, Any]],
    keywords: tuple[str, ...] = (),
    floats: tuple[str, ...] = (),
    time_field: str = "@timestamp",
) -> None:
    """``docs`` with ``minutes_ago`` turned into @timestamp; other fields mapped dynamically
    (strings as text with a .keyword sub-field, as most log pipelines do) unless named."""
    properties: dict[str, Any] = {time_field: {"type": "date"}}
    properties |= {name: {"type": "keyword"} for name in keywords}
    properties |= {name: {"type": "float"} for name in floats}
    if not server.client.indices.exists(index=index):
        server.create_index(index, {"properties": properties})
    actions = []
    for doc in docs:
        source = {k: v for k, v in doc.items() if k != "minutes_ago"}
        actions.append({"_index": index, "_source": {time_field: at(doc["minutes_ago"]), **source}})
    server.bulk(actions)


def corpus_rule(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def convert(raw: dict[str, Any], index: str) -> SearchDefinition:
    """The rule as a 411 search on ``index`` (the rule's own index is replaced, as --index does)."""
    outcome = convert_rule(raw, "test", ImportOptions(index=index, channel="C0ALERTS"))
    assert isinstance(outcome, Converted), outcome
    return outcome.definition


@dataclass
class Fired:
    status: RunStatus
    error: str | None
    alerts: dict[str, Alert]  # by dedupe key


def run(runtime: Runtime, defn: SearchDefinition, now: datetime | None = None) -> Fired:
    """Save ``defn`` (the first time) and run it at ``now``; the search's alerts afterwards.

    Without ``now`` the first run is at ``NOW`` and each later one a second after the last.
    """
    with runtime.sessions.begin() as session:
        search = find_search_by_name(session, defn.name) or create_search(
            session, defn, "U_TEST", "test"
        )
        search_id = search.id
        runs = session.scalar(select(func.count()).where(SearchRun.search_id == search_id))
    now = now or NOW + timedelta(seconds=runs or 0)
    done = run_search(runtime, search_id, now=now)
    with runtime.sessions() as session:
        rows = session.scalars(select(Alert).where(Alert.search_id == search_id)).all()
        alerts = {a.dedupe_key: a for a in rows}
        session.expunge_all()
    return Fired(done.status, done.error, alerts)


def rule_file(tmp: Path, name: str, raw: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path
