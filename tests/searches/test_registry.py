"""Sources are found through entry points: a separate package adds one without editing 411."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from searches.base import Source, SourceConfigError, SourceContext
from searches.registry import get_source, load_sources, reload_sources
from tests.searches.conftest import WINDOW

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "example_source"
BUILT_IN = {"alerts", "elasticsearch", "file", "http", "push", "sql"}


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    subprocess.run(command, check=True, timeout=120)


@pytest.fixture(scope="module")
def installed_example() -> Iterator[None]:
    """pip-installs tests/fixtures/example_source into this venv (offline), then removes it."""
    _pip("install", "--no-build-isolation", "--no-deps", "--no-index", str(PACKAGE))
    reload_sources()
    yield
    _pip("uninstall", "-y", "four11-example-source")
    reload_sources()


def test_it_finds_every_built_in_source() -> None:
    sources = load_sources()
    assert set(sources) >= BUILT_IN
    assert all(issubclass(cls, Source) and cls.name == name for name, cls in sources.items())


def test_it_finds_a_source_from_a_separately_installed_package(installed_example: None) -> None:
    source_class = get_source("example")
    assert source_class.__module__ == "four11_example_source"
    source = source_class(source_class.parse_config({"hits": 2, "message": "hi"}), SourceContext())
    result = source.run(WINDOW)
    assert [h.fields for h in result.hits] == [{"message": "hi"}, {"message": "hi"}]


def test_it_names_the_field_and_the_known_sources_for_an_unknown_one() -> None:
    with pytest.raises(SourceConfigError) as raised:
        get_source("splunk")
    (error,) = raised.value.errors
    assert error.field == "source"
    assert "unknown source 'splunk'" in error.message
    assert "elasticsearch" in error.message and "file" in error.message


def test_it_caches_the_scan_until_asked_to_reload() -> None:
    assert load_sources() is load_sources()
    assert reload_sources() == load_sources()
