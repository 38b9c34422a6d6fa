"""The alerts source: a search over 411's own alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.models import Alert, Search
from bot.models.enums import AlertState, Priority
from bot.sources.alerts import AlertsSource
from searches.base import ResultKind, SourceConfigError, SourceContext
from tests.searches.conftest import END, MS, START, WINDOW


@pytest.fixture
def alerts(engine: Engine) -> dict[str, int]:
    """Search ids; alerts on both edges of the window and inside it."""
    minute = timedelta(minutes=1)
    with Session(engine) as session:
        searches = {
            n: Search(name=n, source="file", schedule="every 1m") for n in ("ssh", "web", "meta")
        }
        session.add_all(searches.values())
        session.flush()
        rows = [
            ("ssh", START - MS, AlertState.NEW, Priority.HIGH),  # outside
            ("ssh", START, AlertState.NEW, Priority.HIGH),
            ("ssh", START + minute, AlertState.IN_PROGRESS, Priority.HIGH),
            ("ssh", START + 2 * minute, AlertState.RESOLVED, Priority.LOW),
            ("web", START + 3 * minute, AlertState.NEW, Priority.MEDIUM),
            ("web", END - MS, AlertState.NEW, Priority.HIGH),
            ("web", END, AlertState.NEW, Priority.HIGH),  # outside
            ("meta", START + minute, AlertState.NEW, Priority.LOW),  # the meta-search itself
        ]
        for n, (search, at, state, priority) in enumerate(rows):
            session.add(
                Alert(search_id=searches[search].id, dedupe_key=f"k{n}", state=state,
                      priority=priority, title=f"alert {n}", created_at=at)
            )  # fmt: skip
        session.commit()
        return {name: search.id for name, search in searches.items()}


def run(engine: Engine, search_ids: dict[str, int], **raw: Any) -> Any:
    context = SourceContext(search_id=search_ids["meta"], search_name="meta", engine=engine)
    return AlertsSource(AlertsSource.parse_config(raw), context).run(WINDOW)


def test_it_counts_the_alerts_created_in_the_window_but_not_its_own(
    engine: Engine, alerts: dict[str, int]
) -> None:
    result = run(engine, alerts)
    assert result.kind is ResultKind.COUNT and result.count == 5
    assert run(engine, alerts, include_self=True).count == 6


def test_it_filters_by_search_state_and_priority(engine: Engine, alerts: dict[str, int]) -> None:
    assert run(engine, alerts, searches=["web"]).count == 2
    assert run(engine, alerts, searches=[str(alerts["ssh"])]).count == 3
    assert run(engine, alerts, states=["new", "in_progress"]).count == 4
    assert run(engine, alerts, priorities=["high"], searches=["ssh"]).count == 2


def test_it_groups_by_search_with_a_minimum_count(engine: Engine, alerts: dict[str, int]) -> None:
    result = run(engine, alerts, mode="terms", group_by=["search"], min_doc_count=3)
    assert result.kind is ResultKind.BUCKETS
    assert [(b.key, b.count) for b in result.buckets] == [({"search": "ssh"}, 3)]
    by_two = run(engine, alerts, mode="terms", group_by=["search", "priority"])
    assert (by_two.buckets[0].key, by_two.buckets[0].count) == (
        {"search": "ssh", "priority": "high"},
        2,
    )


def test_it_returns_alerts_as_hits_oldest_first(engine: Engine, alerts: dict[str, int]) -> None:
    result = run(engine, alerts, mode="hits", max_hits=4)
    assert [h.fields["search"] for h in result.hits] == ["ssh", "ssh", "ssh", "web"]
    assert result.hits[0].timestamp == START and result.hits[0].fields["state"] == "new"
    assert result.truncated


def test_it_reports_every_config_problem_naming_its_field() -> None:
    raw = {"mode": "terms", "states": ["open"], "priorities": ["urgent"], "group_by": ["owner"]}
    with pytest.raises(SourceConfigError) as raised:
        AlertsSource.parse_config(raw)
    assert {e.field for e in raised.value.errors} == {"states", "priorities", "group_by"}
