"""The demo: its events, and that every demo search finds its incident over the real log."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.definitions.search import SearchDefinition
from bot.definitions.store import find_search_by_name, set_enabled
from bot.demo.generator import BACKFILL_SECONDS, DemoGenerator
from bot.demo.install import demo_definitions, install_demo
from bot.demo.people import TECHNICAL_ROLES
from bot.models import DigestSubscription, Search
from bot.runtime import Runtime
from searches.base import SourceContext, TimeWindow
from searches.registry import get_source

START = 1_790_000_000.0  # a fixed moment, so the story is the same on every run


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_demo(path: Path, seconds: int, start: float = START) -> Clock:
    clock = Clock(start)
    generator = DemoGenerator(path, seed=7, clock=clock)
    generator.prepare()
    for _ in range(seconds):
        clock.now += 1
        generator.tick()
    return clock


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_search(defn: SearchDefinition, at: float) -> Any:
    source_class = get_source(defn.source)
    config = source_class.parse_config(defn.source_config)
    end = datetime.fromtimestamp(at, UTC)
    window = TimeWindow(end - timedelta(seconds=defn.lookback_seconds), end)
    return source_class(config, SourceContext(search_name=defn.name)).run(window)


def fires(defn: SearchDefinition, result: Any) -> list[Any]:
    from bot.pipeline.condition import evaluate

    return evaluate(result, defn.condition_op, defn.condition_threshold, defn.key_fields)


@pytest.fixture
def searches(tmp_path: Path) -> dict[str, SearchDefinition]:
    return {d.name: d for d in demo_definitions(tmp_path / "events.jsonl")}


def test_it_writes_every_kind_of_event_with_the_fields_the_searches_use(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    run_demo(path, 30)
    events = read_events(path)
    kinds = Counter((e["event"]["type"], e["event"]["outcome"]) for e in events)
    for kind in [
        ("login", "success"),
        ("login", "failure"),
        ("ssh", "success"),
        ("http_request", "success"),
    ]:
        assert kinds[kind] > 0, kinds
    assert kinds[("password_change", "success")] > 0
    for event in events:
        assert event["@timestamp"].endswith("Z") and event["message"] and event["source"]["ip"]
    ssh_roles = {e["user"]["role"] for e in events if e["event"]["type"] == "ssh"}
    assert ssh_roles & TECHNICAL_ROLES and ssh_roles - TECHNICAL_ROLES


def test_its_timestamps_cover_the_backfill_and_never_run_ahead_of_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    clock = run_demo(path, 20)
    stamps = [
        datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")).timestamp()
        for e in read_events(path)
    ]
    assert min(stamps) >= START - BACKFILL_SECONDS
    assert min(stamps) < START - BACKFILL_SECONDS + 10
    assert max(stamps) <= clock.now


def test_each_demo_search_finds_its_incident_in_the_first_half_minute(
    tmp_path: Path, searches: dict[str, SearchDefinition]
) -> None:
    clock = run_demo(tmp_path / "events.jsonl", 30)
    found = {name: fires(defn, run_search(defn, clock.now)) for name, defn in searches.items()}
    assert {name for name, candidates in found.items() if candidates} == set(searches)
    rogue = found["Non-technical user ssh into production"][0].fields
    assert rogue["user"]["role"] not in TECHNICAL_ROLES
    assert rogue["host"]["name"].startswith(("prod-", "bastion"))
    assert [c.fields["source.ip"] for c in found["Many failed logins from one IP"]] == [
        "203.0.113.66"
    ]
    assert [c.fields["source.ip"] for c in found["Scraper at work"]] == ["198.51.100.77"]


def test_the_quiet_searches_stay_quiet_once_the_incidents_are_over(
    tmp_path: Path, searches: dict[str, SearchDefinition]
) -> None:
    # Three minutes in: sign-on works again and the first attacks are older than the look-back.
    clock = run_demo(tmp_path / "events.jsonl", 180)
    for name in (
        "Successful logins dropped to zero",
        "Many failed logins from one IP",
        "Scraper at work",
    ):
        assert fires(searches[name], run_search(searches[name], clock.now)) == [], name


def test_it_rotates_a_big_log_and_the_searches_still_read_the_rotated_part(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    clock = Clock(START)
    generator = DemoGenerator(path, seed=1, clock=clock, max_bytes=200_000)
    generator.prepare()
    clock.now += 1
    generator.tick()
    assert (tmp_path / "events.jsonl.1").exists()
    assert path.stat().st_size < 200_000
    (defn,) = [d for d in demo_definitions(path) if d.name == "Many failed logins from one IP"]
    assert defn.source_config["path"].endswith("events.jsonl*")


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    started = Runtime.start(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), auto_upgrade=True
    )
    yield started
    started.engine.dispose()


def test_installing_twice_keeps_what_people_changed_and_adds_nothing(
    runtime: Any, tmp_path: Path
) -> None:
    install_demo(runtime, tmp_path / "events.jsonl")
    with runtime.sessions() as session, session.begin():
        search = find_search_by_name(session, "Scraper at work")
        assert search is not None and search.owner == "U_ALICE" and search.channel == "C_ALERTS"
        set_enabled(session, search, False, "U_BOB")
    install_demo(runtime, tmp_path / "moved" / "events.jsonl")
    with runtime.sessions() as session:
        searches = session.query(Search).all()
        assert len(searches) == 4
        scraper = next(s for s in searches if s.name == "Scraper at work")
        assert scraper.enabled is False  # bob's change survives
        assert (
            scraper.source_config["path"]
            == str((tmp_path / "moved" / "events.jsonl").resolve()) + "*"
        )
        assert [d.channel for d in session.query(DigestSubscription)] == ["C_DIGEST"]
