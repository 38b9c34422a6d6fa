"""Find sources through Python entry points, so another package adds one without editing 411.

A package declares, in its own ``pyproject.toml``::

    [project.entry-points."411.searches"]
    mysource = "my_package.module:MySource"

and once it is installed, ``get_source("mysource")`` returns ``MySource``.
"""

from __future__ import annotations

import functools
import importlib
import logging
from importlib.metadata import entry_points

from searches.base import FieldError, Source, SourceConfigError

GROUP = "411.searches"

log = logging.getLogger(__name__)


@functools.cache
def load_sources() -> dict[str, type[Source]]:
    """Every installed source by name (cached; ``reload_sources`` rescans).

    An entry point that fails to import or is not a Source is logged and skipped:
    one broken third-party package must not take every search down with it.
    """
    sources: dict[str, type[Source]] = {}
    seen: set[tuple[str, str]] = set()
    for entry in entry_points(group=GROUP):
        # An editable install can list the same entry point twice (two metadata folders).
        if (entry.name, entry.value) in seen:
            continue
        seen.add((entry.name, entry.value))
        try:
            loaded = entry.load()
        except Exception:
            log.exception("source %r (%s) failed to load", entry.name, entry.value)
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Source)):
            log.error("source %r (%s) is not a searches.base.Source", entry.name, entry.value)
            continue
        if entry.name in sources and sources[entry.name] is not loaded:
            log.warning("source %r is declared twice; keeping %s", entry.name, entry.value)
        sources[entry.name] = loaded
    return dict(sorted(sources.items()))


def reload_sources() -> dict[str, type[Source]]:
    """Forget the cache and rescan (after installing a package into a running process)."""
    load_sources.cache_clear()
    importlib.invalidate_caches()
    return load_sources()


def get_source(name: str) -> type[Source]:
    """The source class named ``name``; SourceConfigError on the field "source" otherwise."""
    sources = load_sources()
    try:
        return sources[name]
    except (KeyError, TypeError):
        known = ", ".join(sources) or "none installed"
        raise SourceConfigError(
            [FieldError("source", f"unknown source {name!r} (known: {known})")]
        ) from None
