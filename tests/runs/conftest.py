"""The in-memory source's fixtures (tests/memory_source.py) for these tests."""

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from tests.memory_source import dataset, make_search, memory_source, runtime  # noqa: F401
from tests.search_servers import SearchServer


@pytest.fixture
def es_runtime(engine, search_server: SearchServer) -> Runtime:
    """A runtime on the test database whose default cluster is the search server."""
    clusters = {"default": search_server.cluster()}
    return Runtime(
        settings=Settings(database_url=str(engine.url), clusters=clusters), engine=engine
    )
