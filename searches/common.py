"""Helpers the sources share: config reading that collects every error, modes, time and paths.

``ConfigReader`` reads one raw mapping field by field, records a ``FieldError`` for
each problem (so a user sees all of them at once) and finally refuses unknown keys,
which catches typos like ``queyr`` that would otherwise be silently ignored.
"""

from __future__ import annotations

import enum
import math
import os
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from searches.base import FieldError, ResultKind, SourceConfigError, SourceError, TimeWindow
from searches.durations import format_duration, parse_duration

E = TypeVar("E", bound=enum.Enum)

_MISSING: Any = object()


class Mode(enum.StrEnum):
    """What a query-style source returns (Elasticsearch, file, alerts)."""

    HITS = "hits"  # one result per matching document, oldest first
    TERMS = "terms"  # counts per distinct value of ``group_by`` fields
    COUNT = "count"  # one number

    @property
    def result_kind(self) -> ResultKind:
        """What a source in this mode returns: terms are buckets, the rest say so themselves."""
        return ResultKind.BUCKETS if self is Mode.TERMS else ResultKind(self.value)


class ConfigReader:
    """Typed access to a raw config mapping that accumulates errors instead of raising."""

    def __init__(self, raw: Mapping[str, Any] | None, prefix: str = ""):
        self.errors: list[FieldError] = []
        self.prefix = prefix
        self.seen: set[str] = set()
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.errors.append(FieldError(prefix or "source_config", "must be a mapping"))
            raw = {}
        self.raw = raw

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.prefix + name, message))

    def _get(self, name: str) -> Any:
        self.seen.add(name)
        value = self.raw.get(name, _MISSING)
        return _MISSING if value is None else value

    def text(self, name: str, default: Any = _MISSING, *, allow_empty: bool = False) -> Any:
        value = self._get(name)
        if value is _MISSING:
            if default is _MISSING:
                self.error(name, "is required")
                return ""
            return default
        if not isinstance(value, str):
            self.error(name, f"must be text, not {type(value).__name__}")
            return default if default is not _MISSING else ""
        if not allow_empty and not value.strip():
            self.error(name, "must not be empty")
        return value

    def integer(
        self, name: str, default: int, *, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._get(name)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, f"must be a whole number, not {value!r}")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.error(name, f"must be between {low} and {high}, not {value}")
            return default
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self._get(name)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.error(name, f"must be a number, not {value!r}")
            return default
        if not low <= value <= high:
            self.error(name, f"must be between {low:g} and {high:g}, not {value:g}")
            return default
        return float(value)

    def duration(self, name: str, *, low: int, high: int) -> int | None:
        """Seconds from a duration ("24h", "90m", 3600), or None when not given."""
        value = self._get(name)
        if value is _MISSING or value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(name, str(exc))
            return None
        if not low <= seconds <= high:
            limits = f"{format_duration(low)} and {format_duration(high)}"
            self.error(name, f"must be between {limits}, not {format_duration(seconds)}")
            return None
        return seconds

    def flag(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(name, f"must be true or false, not {value!r}")
            return default
        return value

    def names(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """A list of non-empty strings; a single string is accepted as a list of one."""
        value = self._get(name)
        if value is _MISSING:
            return tuple(default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            self.error(name, "must be a list of non-empty names")
            return tuple(default)
        return tuple(value)

    def choice(self, name: str, enum_class: type[E], default: E) -> E:
        value = self._get(name)
        if value is _MISSING:
            return default
        try:
            return enum_class(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in enum_class)
            self.error(name, f"must be one of {choices}, not {value!r}")
            return default

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self._get(name)
        if value is _MISSING:
            return None
        if not isinstance(value, Mapping):
            self.error(name, "must be a mapping")
            return None
        return dict(value)

    def value(self, name: str) -> Any:
        """The raw value (None when absent), for fields with their own validation."""
        value = self._get(name)
        return None if value is _MISSING else value

    def finish(self) -> None:
        """Refuse unknown keys, then raise SourceConfigError if anything was wrong."""
        for key in self.raw:
            if key not in self.seen:
                known = ", ".join(sorted(self.seen))
                self.error(str(key), f"is not a known setting (known: {known})")
        if self.errors:
            raise SourceConfigError(self.errors)


# ------------------------------------------------------------------- secrets

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(reader: ConfigReader, name: str, value: Any) -> bool:
    """Record an error unless ``value`` can name an environment variable."""
    if isinstance(value, str) and ENV_NAME.match(value):
        return True
    reader.error(name, f"must name an environment variable (like DB_URL), not {value!r}")
    return False


def env_secret(field_name: str, variable: str) -> str:
    """The value of environment variable ``variable``, which the config field names.

    Secrets live in the environment of the process that runs searches, not in the
    definition (which users can see and which is kept in revisions and exports).
    """
    value = os.environ.get(variable)
    if not value:
        raise SourceError(
            f"{field_name}: environment variable {variable} is not set "
            "(set it where the worker runs)",
            permanent=True,
        )
    return value


# ------------------------------------------------------------------- time


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text or epoch seconds/milliseconds -> aware UTC datetime; None if unusable.

    Numbers above 10^11 are taken as milliseconds (10^11 seconds is the year 5138),
    which is how Elasticsearch's ``epoch_millis`` values usually look in logs.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def iso_millis(moment: datetime) -> str:
    """UTC ISO 8601 with millisecond precision (Elasticsearch's date resolution)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def floor_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def window_millis(window: TimeWindow) -> TimeWindow:
    """The window at millisecond precision, so every source cuts it where Elasticsearch does."""
    return TimeWindow(floor_millis(window.start), floor_millis(window.end))


# ------------------------------------------------------------------- paths


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def split_path(path: str) -> list[str | int] | None:
    """``data.items[0].count`` -> ["data", "items", 0, "count"]; None if malformed."""
    parts: list[str | int] = []
    position = 0
    for match in _PATH_PART.finditer(path):
        gap = path[position : match.start()]
        if gap not in ("", "."):
            return None
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if position != len(path) or not parts:
        return None
    return parts


def get_path(document: Any, parts: Sequence[str | int]) -> Any:
    """Follow ``parts`` into nested dicts/lists; ``_MISSING`` -> None when absent."""
    current = document
    for part in parts:
        if isinstance(part, int):
            if not isinstance(current, list) or not -len(current) <= part < len(current):
                return None
            current = current[part]
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return None
    return current


def field_values(document: Mapping[str, Any], path: str) -> Iterator[Any]:
    """Every leaf value at a dotted field path, the way Elasticsearch flattens documents.

    Objects and literal dotted keys are both followed (``{"a": {"b": 1}}`` and
    ``{"a.b": 1}`` both have ``a.b``); arrays contribute each element.
    """
    if path in document:
        yield from _leaves(document[path])
    head, dot, rest = path.partition(".")
    while dot:
        child = document.get(head)
        if isinstance(child, list):
            for item in child:
                if isinstance(item, Mapping):
                    yield from field_values(item, rest)
        elif isinstance(child, Mapping):
            yield from field_values(child, rest)
        next_head, dot, rest = rest.partition(".")
        head = f"{head}.{next_head}"


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


def keep_fields(document: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The document reduced to ``fields``, nested as in the source (like ES source filtering).

    With no fields the whole document is kept.
    """
    if not fields:
        return dict(document)
    kept: dict[str, Any] = {}
    for name in fields:
        if name in document:
            kept[name] = document[name]
            continue
        parts = name.split(".")
        value = get_path(document, parts)
        if value is None:
            continue
        target = kept
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            target[parts[-1]] = value
    return kept


# ------------------------------------------------------------------- links


LINK_PLACEHOLDERS = frozenset({"query", "start", "end", "index"})


def check_link_template(reader: ConfigReader, name: str = "link_template") -> str | None:
    template = reader.text(name, None)
    if not template:
        return None
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        reader.error(name, f"is not a valid template: {exc}")
        return None
    unknown = names - LINK_PLACEHOLDERS
    if unknown:
        allowed = ", ".join("{" + n + "}" for n in sorted(LINK_PLACEHOLDERS))
        reader.error(name, f"uses unknown placeholders {sorted(unknown)}; allowed: {allowed}")
        return None
    return str(template)


def render_link(template: str | None, *, query: str, window: TimeWindow, index: str) -> str | None:
    """Fill a link template; every value is URL-encoded so a query cannot break the URL."""
    if not template:
        return None
    values = {
        "query": query,
        "start": iso_millis(window.start),
        "end": iso_millis(window.end),
        "index": index,
    }
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


MAX_EXPECT_GROUPS_SECONDS = 90 * 86400


def read_expect_groups(reader: ConfigReader, mode: enum.Enum) -> int | None:
    """``expect_groups``: how far back a group's documents make it expected (terms mode)."""
    seconds = reader.duration("expect_groups", low=60, high=MAX_EXPECT_GROUPS_SECONDS)
    if seconds is not None and mode is not Mode.TERMS:
        reader.error("expect_groups", "only applies in terms mode (counts per group)")
        return None
    return seconds


def expected_since(window: TimeWindow, expect_seconds: int) -> TimeWindow:
    """The span whose groups are expected in ``window``: ``expect_seconds`` back from its end.

    A group with documents there but none in ``window`` counts 0 in ``window``: a host
    that went silent is a bucket with count 0, so ``count < 1`` fires for it.
    """
    start = min(window.start, window.end - timedelta(seconds=expect_seconds))
    return TimeWindow(start, window.end)
