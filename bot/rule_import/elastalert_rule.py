"""Reading one ElastAlert2 rule: typed access that names the field, and remembers what was used.

Every setting a converter reads is marked used; what is left at the end is what
411 did not carry, and the import report lists it per rule. Problems are
collected (all of them, each with its field), not raised one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.definitions.fields import as_word

_MISSING: Any = object()
TIME_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds")


class RuleReader:
    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.used: set[str] = set()
        self.problems: list[str] = []  # "field: message"
        self.notes: list[str] = []  # settings carried over differently, and why
        self.kind: str | None = None  # the rule type, once known

    def error(self, name: str, message: str) -> None:
        self.problems.append(f"{name}: {message}")

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def take(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        value = self.raw.get(name)
        return default if value is None else value

    def require(self, name: str, why: str = "") -> Any:
        value = self.take(name)
        if value is None:
            why = why or (f"by the {self.kind} rule type, in ElastAlert2 too" if self.kind else "")
            self.error(name, "is required" + (f" {why}" if why else ""))
        return value

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.require(name) if required else self.take(name)
        if value is None:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.error(name, f"must be text, not {type(value).__name__}")
            return None
        return str(value)

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self.require(name) if required else self.take(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(name, f"must be a number, not {value!r}")
            return None
        return float(value)

    def fields(self, name: str, *, required: bool = False) -> list[str]:
        """A field name or a list of them (query_key, compare_key...)."""
        value = self.require(name) if required else self.take(name)
        if value is None:
            return []
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.error(name, "must be a field name or a list of field names")
            return []
        for n in names:
            try:
                as_word(n)
            except ValueError as exc:
                self.error(name, f"{n!r}: {exc}")
                return []
        return names

    def duration(self, name: str, *, required: bool = False) -> int | None:
        """Seconds of an ElastAlert time setting ({hours: 4}), or None when absent."""
        value = self.require(name) if required else self.take(name)
        if value is None:
            return None
        return self.seconds_of(name, value)

    def seconds_of(self, name: str, value: Any) -> int | None:
        if not isinstance(value, Mapping) or not value:
            self.error(name, "must be a mapping of time units, e.g. {minutes: 5}")
            return None
        unknown = [str(k) for k in value if k not in TIME_UNITS]
        if unknown:
            self.error(name, f"unknown time unit {unknown[0]!r} (use {', '.join(TIME_UNITS)})")
            return None
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
            self.error(name, "time units must be numbers")
            return None
        try:
            return int(timedelta(**{str(k): v for k, v in value.items()}).total_seconds())
        except OverflowError:
            self.error(name, "is too long")
            return None

    def unused(self) -> list[str]:
        return [str(k) for k in self.raw if k not in self.used]
