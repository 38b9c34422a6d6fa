"""ElastAlert2 ``filter`` lists -> one Elasticsearch query for 411's elasticsearch source.

ElastAlert ANDs the list's entries, unwraps the old ``query:`` wrapper
(``- query: {query_string: ...}``) and passes the rest to Elasticsearch as query
DSL. The pre-5.x forms its documentation still shows (``and``, ``or``, ``not``,
``missing``) are rewritten as ``bool`` queries. Document types no longer exist
(Elasticsearch 8 and 9 have no ``_type``), so a filter on them is dropped with a
note. One ``query_string`` alone becomes a plain Lucene ``query``, which reads
best; anything else becomes ``query_dsl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TYPE_DROPPED = "document types were removed from Elasticsearch (7+), so it was dropped"


class FilterError(ValueError):
    """A filter entry that is not a query; ``where`` is its path (``filter[2].or[0]``)."""

    def __init__(self, where: str, message: str):
        self.where = where
        super().__init__(f"{where}: {message}")


@dataclass
class Converted:
    clauses: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def convert_filters(raw: Any, where: str = "filter") -> Converted:
    """The entries of a filter list as query DSL clauses (to be ANDed), with notes."""
    out = Converted()
    if raw is None:
        return out
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise FilterError(where, "must be a list of filters")
    for i, entry in enumerate(raw):
        clause = _clause(entry, f"{where}[{i}]", out.notes)
        if clause is not None:
            out.clauses.append(clause)
    return out


def query_settings(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """``query`` (one plain query_string) or ``query_dsl`` for the source config; {} for all."""
    if not clauses:
        return {}
    if len(clauses) == 1:
        only = clauses[0]
        body = only.get("query_string")
        if set(only) == {"query_string"} and isinstance(body, Mapping) and set(body) == {"query"}:
            return {"query": body["query"]}
        return {"query_dsl": only}
    return {"query_dsl": all_of(clauses)}


def all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _clause(entry: Any, where: str, notes: list[str]) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise FilterError(where, "each filter must be a mapping with one query type")
    ((kind, body),) = entry.items()
    if kind == "query":  # ElastAlert's old wrapper: {query: {query_string: ...}}
        return _clause(body, f"{where}.query", notes)
    if kind in ("and", "or"):
        parts = [c for c in _list(body, f"{where}.{kind}", notes) if c is not None]
        if kind == "and":
            return all_of(parts) if parts else None
        return {"bool": {"should": parts, "minimum_should_match": 1}} if parts else None
    if kind == "not":
        inner = body.get("filter", body) if isinstance(body, Mapping) else body
        negated = _clause(inner, f"{where}.not", notes)
        return {"bool": {"must_not": [negated]}} if negated is not None else None
    if kind == "missing":
        return {"bool": {"must_not": [{"exists": _mapping(body, f"{where}.missing")}]}}
    if kind == "type" or _on_type_field(kind, body):
        notes.append(f"{where} ({kind} on a document type): {TYPE_DROPPED}")
        return None
    if not isinstance(body, Mapping):
        raise FilterError(f"{where}.{kind}", "must be a mapping")
    return {str(kind): dict(body)}


def _list(body: Any, where: str, notes: list[str]) -> list[dict[str, Any] | None]:
    if isinstance(body, Mapping) and "filters" in body:
        body = body["filters"]  # {and: {filters: [...]}}, the oldest form
    if not isinstance(body, list):
        raise FilterError(where, "must be a list of filters")
    return [_clause(item, f"{where}[{i}]", notes) for i, item in enumerate(body)]


def _mapping(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise FilterError(where, "must be a mapping")
    return dict(body)


def _on_type_field(kind: str, body: Any) -> bool:
    return kind in ("term", "terms", "match") and isinstance(body, Mapping) and "_type" in body
