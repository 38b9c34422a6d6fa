"""Rison, the URL-friendly JSON that Kibana keeps its app state in (``_g=(...)&_a=(...)``).

Only what Discover links need: objects, arrays, strings, numbers, booleans and null,
written and read back (the tests read a link back to check what it asks Kibana for).
Strings are always quoted, so no identifier rules apply when writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./~@$")


def dumps(value: Any) -> str:
    if value is None:
        return "!n"
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{_key(k)}:{dumps(v)}" for k, v in value.items()) + ")"
    if isinstance(value, Sequence):
        return "!(" + ",".join(dumps(v) for v in value) + ")"
    raise TypeError(f"cannot write {type(value).__name__} as rison")


def _key(name: object) -> str:
    text = str(name)
    return text if text and set(text) <= _ID_CHARS and not text[0].isdigit() else dumps(text)


def loads(text: str) -> Any:
    value, end = _value(text, 0)
    if end != len(text):
        raise ValueError(f"unexpected {text[end : end + 10]!r} at {end}")
    return value


def _value(text: str, i: int) -> tuple[Any, int]:
    if text.startswith("!n", i):
        return None, i + 2
    if text.startswith("!t", i):
        return True, i + 2
    if text.startswith("!f", i):
        return False, i + 2
    if text.startswith("!(", i):
        return _items(text, i + 2, ")", lambda t, j: _value(t, j))
    if text.startswith("(", i):
        pairs, end = _items(text, i + 1, ")", _pair)
        return dict(pairs), end
    if text.startswith("'", i):
        return _string(text, i + 1)
    j = i
    while j < len(text) and text[j] in _ID_CHARS | {"+"}:
        j += 1
    if j == i:
        raise ValueError(f"unexpected {text[i : i + 10]!r} at {i}")
    word = text[i:j]
    try:
        return (float(word) if "." in word or "e" in word else int(word)), j
    except ValueError:
        return word, j


def _pair(text: str, i: int) -> tuple[tuple[str, Any], int]:
    key, i = _value(text, i)
    if not text.startswith(":", i):
        raise ValueError(f"expected ':' at {i}")
    value, i = _value(text, i + 1)
    return (str(key), value), i


def _items(text: str, i: int, close: str, read: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    while not text.startswith(close, i):
        if items:
            if not text.startswith(",", i):
                raise ValueError(f"expected ',' at {i}")
            i += 1
        item, i = read(text, i)
        items.append(item)
    return items, i + 1


def _string(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "'":
            return "".join(out), i + 1
        if char == "!":
            i += 1
        out.append(text[i])
        i += 1
    raise ValueError("unterminated string")
