"""The in-memory source's fixtures (tests/memory_source.py) for these tests, and ``db``."""

import pytest
from sqlalchemy.orm import Session

from tests.memory_source import dataset, make_search, memory_source, runtime  # noqa: F401


@pytest.fixture
def db(session: Session) -> Session:
    """The shared ``session`` fixture, by the name these tests use."""
    return session
