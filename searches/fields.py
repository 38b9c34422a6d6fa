"""Checking the fields a search names against the fields its data really has.

A typo in a key field, a group-by field or the time field does not make a query
fail: it makes it find nothing, or merge everything. So the fields a search names
are checked against a :class:`FieldCatalog` (Elasticsearch's field capabilities,
or what the file source has seen in its files) when the search is saved, tested
and run, and an unknown one is reported with the nearest known names.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from searches.base import FieldError

KEYWORD = ".keyword"


class Use(enum.Enum):
    """What a search does with a field, which decides what the field must be."""

    KEY = "key"  # read from each result to make the alert key
    GROUP = "group"  # counted by (terms): must be aggregatable
    SHOW = "show"  # kept in the alert (``fields``)
    TIME = "time"  # the time field: must be a date


@dataclass(frozen=True)
class FieldUse:
    name: str
    where: str  # the definition field that names it, e.g. "key_fields" or "source_config.group_by"
    use: Use


@dataclass(frozen=True)
class FieldInfo:
    types: frozenset[str]  # e.g. {"text"}, {"keyword"}, {"date"}, {"object"}
    aggregatable: bool = True


@dataclass
class FieldCatalog:
    """The fields the data has. ``where`` names it for messages ("logs-* on cluster default").

    ``complete`` is False when the catalog is a sample (the file source reads the first
    lines only): a field it lacks may still exist, so that is a warning, not an error.
    """

    where: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    complete: bool = True

    def suggestions(self, name: str) -> list[str]:
        known = [f for f in self.fields if not f.startswith("_")]
        near = difflib.get_close_matches(name, known, n=4, cutoff=0.6)
        if near:  # only the nearest few: "sorce.ip" suggests "source.ip", not also "source"
            best = _likeness(name, near[0])
            near = [f for f in near if _likeness(name, f) >= best - 0.1]
        # "source.ip" and "source.ip.keyword" are one suggestion: the field itself.
        plain = dict.fromkeys(plain_name(f) if plain_name(f) in self.fields else f for f in near)
        return list(plain)[:3]

    def problem(self, use: FieldUse) -> str | None:
        """Why the data cannot serve this use of the field; None when it can."""
        info = self.fields.get(use.name)
        if info is None:
            return self._unknown(use.name)
        if use.use is Use.TIME and not info.types & {"date", "date_nanos"}:
            return f"`{use.name}` in {self.where} is {_types(info)}, not a date"
        if use.use is Use.GROUP and not info.aggregatable:
            keyword = self.fields.get(use.name + KEYWORD)
            if keyword is not None and keyword.aggregatable:
                return None  # grouped by its .keyword sub-field (resolved where it runs)
            return (
                f"`{use.name}` in {self.where} is {_types(info)} and has no `.keyword` "
                "sub-field, so it cannot be grouped by; map it as keyword"
            )
        return None

    def _unknown(self, name: str) -> str:
        text = f"no field `{name}` in {self.where}"
        near = self.suggestions(name)
        if near:
            text += "; did you mean " + " or ".join(f"`{n}`" for n in near) + "?"
        return text

    def check(self, uses: Iterable[FieldUse]) -> tuple[list[FieldError], list[str]]:
        """Errors (the field cannot work) and warnings (a sample lacked it)."""
        errors: list[FieldError] = []
        warnings: list[str] = []
        for use in uses:
            problem = self.problem(use)
            if problem is None:
                continue
            if self.complete or use.name in self.fields:
                errors.append(FieldError(use.where, problem))
            else:
                warnings.append(f"{use.where}: {problem} (among the events read)")
        return errors, warnings


def _likeness(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _types(info: FieldInfo) -> str:
    kinds = sorted(info.types)
    article = "an" if kinds[0][0] in "aeiou" else "a"
    return f"{article} {' / '.join(kinds)} field"


def catalog_from_field_caps(where: str, response: Mapping[str, Any]) -> FieldCatalog:
    """A catalog from an Elasticsearch ``_field_caps`` answer (every index of the pattern)."""
    fields: dict[str, FieldInfo] = {}
    for name, by_type in (response.get("fields") or {}).items():
        types = frozenset(t for t in by_type if t != "unmapped")
        if not types:
            continue
        aggregatable = all(caps.get("aggregatable") for t, caps in by_type.items() if t in types)
        fields[name] = FieldInfo(types, aggregatable)
    return FieldCatalog(where, fields)


def catalog_from_documents(
    where: str, documents: Iterable[Mapping[str, Any]], *, complete: bool
) -> FieldCatalog:
    """A catalog of the dotted paths seen in ``documents`` (objects and their leaves)."""
    fields: dict[str, set[str]] = {}
    for document in documents:
        for path, kind in _paths(document, ""):
            fields.setdefault(path, set()).add(kind)
    catalog = FieldCatalog(where, complete=complete)
    for path, kinds in fields.items():
        info = FieldInfo(frozenset(kinds), aggregatable=kinds != {"object"})
        catalog.fields[path] = info
        if "keyword" in kinds:  # files group text as Elasticsearch's dynamic mapping does
            catalog.fields.setdefault(path + KEYWORD, FieldInfo(frozenset({"keyword"})))
    return catalog


def _paths(value: Mapping[str, Any], prefix: str) -> Iterable[tuple[str, str]]:
    from searches.common import parse_time

    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, Mapping):
            yield path, "object"
            yield from _paths(item, path + ".")
            continue
        first = item[0] if isinstance(item, list) and item else item
        if isinstance(first, Mapping):
            yield path, "object"
            yield from _paths(first, path + ".")
        elif isinstance(first, bool):
            yield path, "boolean"
        elif isinstance(first, int | float):
            yield path, "number"
            yield path, "date"  # epoch seconds or milliseconds serve as times too
        elif isinstance(first, str) and parse_time(first) is not None:
            yield path, "date"
        else:
            yield path, "keyword"


def plain_name(name: str) -> str:
    """The field a ``.keyword`` sub-field belongs to: what templates and keys call it."""
    return name.removesuffix(KEYWORD)
