"""A hit's fields by name: ``lookup`` for the pipeline, ``FieldView`` for templates.

Elasticsearch and the file source keep documents nested (``{"user": {"name":
"bob"}}``), grouped candidates carry flat dotted names (``"source.ip"``), and
search authors write either form. A :class:`FieldView` answers
``fields['user.name']``, ``fields.user.name`` and ``fields['user']['name']`` for
both shapes, and remembers its path so a missing name can be reported in full
("'user.nam' is undefined").

It is a ``dict`` subclass so filters such as ``tojson`` and ``items()`` keep
working on it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ABSENT = object()
MISSING = "∅"  # what lookup answers for a name the document lacks
KEYWORD = ".keyword"


def lookup(fields: Mapping[str, Any], path: str) -> Any:
    """``fields[path]``, or a dotted path into nested mappings ("user.name").

    ``x.keyword`` names the keyword sub-field of ``x`` in Elasticsearch; the document
    (and a bucket, which sources name without the suffix) holds the value under ``x``.
    """
    value = _find(fields, path)
    if value is MISSING and path.endswith(KEYWORD):
        value = _find(fields, path.removesuffix(KEYWORD))
    return value


def _find(fields: Mapping[str, Any], path: str) -> Any:
    if path in fields:
        return fields[path]
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


class FieldView(dict[str, Any]):
    def __init__(self, data: Mapping[str, Any], path: str = "") -> None:
        super().__init__(data)
        self._path = path

    def __getitem__(self, key: str) -> Any:
        return _wrap(super().__getitem__(key), self._path_of(key))

    def __missing__(self, key: str) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        if "." in key:  # a dotted path into nested objects
            head, _, rest = key.partition(".")
            child = self.get(head)
            if isinstance(child, FieldView):
                try:
                    return child[rest]
                except KeyError:
                    pass  # perhaps a flat name below, next
        prefix = key + "."
        below = {name[len(prefix) :]: v for name, v in self.items() if name.startswith(prefix)}
        if below:  # flat dotted names under this one: a view of them as an object
            return FieldView(below, self._path_of(key))
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _ABSENT) is not _ABSENT

    def _path_of(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def heads(self) -> set[str]:
        """First parts of flat dotted names that no top-level name answers ("source" of "source.ip")."""
        return {name.split(".", 1)[0] for name in self if "." in name} - set(self.keys())


def _wrap(value: Any, path: str) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, FieldView):
        return FieldView(value, path)
    return value


def template_fields(fields: Mapping[str, Any]) -> tuple[FieldView, dict[str, Any]]:
    """The ``fields`` view and the top-level names (``{{ user.name }}``) of a template context."""
    root = FieldView(fields)
    top = {name: root[name] for name in root}
    top.update({head: root[head] for head in root.heads()})
    return root, top
