""" "Show hits" on an Elasticsearch alert: the search asked again over the alert's time,
in hits mode for a terms search, keeping only the alert's group, on the real cluster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import make_engine
from bot.models import Alert, ConditionOp, Priority, Search
from bot.runs.hits import alert_hits, hits_window
from bot.runtime import Runtime
from tests.searches.conftest import END, START


def saved_search(**fields: object) -> Search:
    """A search as the store keeps it (every column set), without a database."""
    values: dict[str, object] = {
        "id": 1, "description": "", "owner": "U_ALICE", "channel": "C_ALERTS",
        "schedule": "every 5m", "delay_seconds": 0, "max_catchup_seconds": 86400,
        "timeout_seconds": 60, "condition_op": ConditionOp.ANY, "condition_threshold": 0,
        "key_fields": [], "priority": Priority.MEDIUM, "tags": [], "title_template": "",
        "body_template": "", "restricted_to": [], "auto_resolve": False,
        "failure_threshold": 3, "enabled": True,
    }  # fmt: skip
    return Search(**{**values, **fields})


@pytest.fixture
def runtime(es_settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    url = f"sqlite:///{tmp_path / 'hits.db'}"
    rt = Runtime(
        settings=Settings(database_url=url, clusters=es_settings.clusters), engine=make_engine(url)
    )
    yield rt
    rt.engine.dispose()


def test_a_terms_alert_shows_the_documents_of_its_group_in_its_window(
    runtime: Runtime, loaded_index: str
) -> None:
    search = saved_search(
        name="errors per user",
        source="elasticsearch",
        source_config={"index": loaded_index, "mode": "terms", "group_by": ["user"]},
        lookback_seconds=3600,
    )
    alert = Alert(
        id=5, search_id=1, dedupe_key="user=Bob", content={"user": "Bob", "count": 2},
        first_seen=END - timedelta(milliseconds=1), last_seen=END - timedelta(milliseconds=1),
    )  # fmt: skip
    window = hits_window(alert, search)
    assert window.start == START - timedelta(milliseconds=1) and window.end == END
    found = alert_hits(runtime, alert, search)
    assert found.error is None and not found.truncated
    assert sorted(hit["msg"] for hit in found.hits) == [
        "Connection timeout",
        "Failed password for root",
    ]
    assert all(hit["user"] == "Bob" for hit in found.hits)


def test_a_source_that_fails_says_why_and_shows_what_the_alert_recorded(
    runtime: Runtime,
) -> None:
    search = saved_search(
        name="down", source="elasticsearch", source_config={"index": "logs", "cluster": "down"},
        lookback_seconds=60, key_fields=["user"],
    )  # fmt: skip
    alert = Alert(
        id=6, search_id=1, dedupe_key="user=x", content={"user": "x"}, first_seen=END, last_seen=END
    )
    found = alert_hits(runtime, alert, search)
    assert found.error and "down" in found.error
    assert found.hits == [{"user": "x"}]
