"""A runtime for corpus tests: a SQLite database of their own and the test Elasticsearch.

Module-scoped: a corpus test saves and runs a few hundred searches, and what it
measures is the conversion, not the database (the importer's own tests run on
both databases).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from bot.config import ClusterConfig, Settings
from bot.db import make_engine
from bot.migrate import upgrade
from bot.runtime import Runtime


@pytest.fixture(scope="module")
def corpus_runtime(tmp_path_factory: pytest.TempPathFactory, es_url: str) -> Iterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("sigma-corpus") / "corpus.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    clusters = {"default": ClusterConfig(name="default", url=es_url)}
    yield Runtime(settings=Settings(database_url=url, clusters=clusters), engine=engine)
    engine.dispose()


@pytest.fixture(scope="module")
def module_indices(es: Elasticsearch) -> Iterator[Callable[[str], str]]:
    """Names of the module's indices (one per mapping it tries), all deleted afterwards."""
    prefix = f"test-sigma-{uuid.uuid4().hex[:12]}"
    names: list[str] = []

    def name_for(variant: str) -> str:
        names.append(f"{prefix}-{variant}")
        return names[-1]

    yield name_for
    for name in names:
        es.indices.delete(index=name, ignore_unavailable=True)
