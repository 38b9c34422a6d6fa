"""The in-memory source and its fixtures, shared by the run, pipeline, definition and alert tests.

A conftest that wants them imports the fixtures by name (see tests/runs/conftest.py)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine

import searches.registry
from bot.config import Settings
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.runtime import Runtime
from searches.base import (
    Bucket,
    FieldError,
    Hit,
    ResultKind,
    Source,
    SourceConfigError,
    SourceError,
    SourceResult,
    TimeWindow,
)


@dataclass
class Dataset:
    hits: list[Hit] = field(default_factory=list)
    count: int = 0
    buckets: list[Bucket] = field(default_factory=list)
    windows: list[TimeWindow] = field(default_factory=list)
    fail: str | None = None  # raise SourceError with this message
    sleep: float = 0.0
    cap: int | None = None  # a size cap: at most this many hits, oldest first
    active: int = 0  # runs in progress right now
    max_active: int = 0  # the most runs of this dataset that ever ran at once
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemorySource(Source):
    name = "memory"
    datasets: ClassVar[dict[str, Dataset]] = {}

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        errors = []
        if not isinstance(raw.get("dataset"), str):
            errors.append(FieldError("dataset", "is required"))
        if raw.get("kind", "hits") not in ("hits", "count", "buckets"):
            errors.append(FieldError("kind", "must be hits, count or buckets"))
        if errors:
            raise SourceConfigError(errors)
        return dict(raw)

    @classmethod
    def dataset(cls, name: str) -> Dataset:
        return cls.datasets.setdefault(name, Dataset())

    def result_kind(self) -> ResultKind:
        return ResultKind(self.config.get("kind", "hits"))

    def run(self, window: TimeWindow) -> SourceResult:
        data = self.dataset(self.config["dataset"])
        with data.lock:
            data.windows.append(window)
            data.active += 1
            data.max_active = max(data.max_active, data.active)
        try:
            if data.sleep:
                time.sleep(data.sleep)
            if data.fail:
                raise SourceError(data.fail, permanent=True)
            kind = self.result_kind()
            if kind == ResultKind.COUNT:
                return SourceResult(kind, count=data.count)
            if kind == ResultKind.BUCKETS:
                return SourceResult(kind, buckets=list(data.buckets))
            inside = [
                h
                for h in data.hits
                if h.timestamp is None or window.start <= h.timestamp < window.end
            ]
            truncated = data.cap is not None and len(inside) > data.cap
            if data.cap is not None:
                inside = sorted(inside, key=lambda h: h.timestamp or window.start)[: data.cap]
            link = "https://logs.example/discover"
            return SourceResult(kind, hits=inside, link=link, truncated=truncated)
        finally:
            with data.lock:
                data.active -= 1


T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def memory_source(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[MemorySource]]:
    """Make "memory" a known source next to the installed ones."""
    original = searches.registry.load_sources

    def load_sources() -> dict[str, Any]:
        return {**original(), "memory": MemorySource}

    monkeypatch.setattr(searches.registry, "load_sources", load_sources)
    yield MemorySource
    MemorySource.datasets.clear()


@pytest.fixture
def runtime(engine: Engine) -> Runtime:
    return Runtime(
        settings=Settings(database_url=str(engine.url), burst_threshold=5), engine=engine
    )


@pytest.fixture
def dataset() -> tuple[str, Dataset]:
    name = uuid.uuid4().hex[:8]
    return name, MemorySource.dataset(name)


MakeSearch = Callable[..., int]


@pytest.fixture
def make_search(runtime: Runtime) -> MakeSearch:
    """Create a memory search on ``dataset_name``; keyword fields as in YAML."""
    return lambda dataset_name, **fields: create_memory_search(runtime, dataset_name, **fields)


def create_memory_search(runtime: Runtime, dataset_name: str, **fields: Any) -> int:
    raw: dict[str, Any] = {
        "name": fields.pop("name", f"search-{uuid.uuid4().hex[:6]}"),
        "source": "memory",
        "source_config": {"dataset": dataset_name, "kind": fields.pop("kind", "hits")},
        "schedule": "every 1m",
        "channel": "C_ALERTS",
        "owner": "U_ALICE",
        **fields,
    }
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_ALICE").id
