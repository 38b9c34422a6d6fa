"""The in-memory source's fixtures (tests/memory_source.py) for these tests."""

from tests.memory_source import dataset, make_search, memory_source, runtime  # noqa: F401
