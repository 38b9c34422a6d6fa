"""Lucene query syntax over plain JSON documents, matching roughly as Elasticsearch does.

``compile_query(text)`` parses with luqum and returns a predicate over a dict, so a
search written for Elasticsearch runs unchanged over a log file (the file source).

Supported (ES ``query_string`` with dynamically mapped fields in mind):
- ``field:value``, bare ``value`` (any field), ``field:"a phrase"``, nested ``a.b:value``
  and ``a.b.keyword:Value`` (exact, case-sensitive: the keyword sub-field);
- wildcards ``adm*``, ``h?st``; regular expressions ``/pass.*/`` (Python syntax);
- ranges ``[a TO b]``, ``{a TO b}``, mixed brackets, ``*`` ends, ``>=5``, ``<5``, ...;
- ``AND``, ``OR``, ``NOT``, ``+``/``-``, implicit OR, parentheses, ``field:(a OR b)``,
  read as Lucene's classic parser does (no precedence: ``a AND b OR c`` is ``+a +b c``);
- ``_exists_:field`` and ``field:*``; boosts (``^2``) are accepted and ignored.

How values match, like Elasticsearch's standard analyser on text (roughly):
- strings are split into lower-cased word tokens (``\\w+`` joined by ``.`` or ``'``, so
  ``10.0.0.1`` and ``foo.bar`` stay one token, ``foo-bar`` is two); a term matches a
  token, a term that splits into several matches any of them (ES's default OR),
  wildcards and regexes match a whole token; phrases match consecutive tokens;
- numbers and booleans compare as values; strings shaped like ISO dates compare as
  dates, and a date-only upper bound of an inclusive range means the whole day;
- an array matches when any element does.

Differences from Elasticsearch (documented, not bugs): mappings are guessed per value
(ES fixes a field's type at first sight); fuzzy (``~``) and proximity
queries, field-name wildcards and date math (``now-1h``) are refused with an error;
the tokeniser is an approximation of Unicode word boundaries; a ``/`` inside a word is
literal here while Elasticsearch starts a regex there (write ``\\/`` for both).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse as parse_lucene  # ply's shared lexer is not thread-safe

from searches.common import field_values, parse_time

Predicate = Callable[[Mapping[str, Any]], bool]
ValueTest = Callable[[Any], bool]

_TOKEN = re.compile(r"\w+(?:[.'\u2019]\w+)*")
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d+)?)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_ESCAPE = re.compile(r"\\(.)")


class LuceneError(ValueError):
    """The query is not valid Lucene syntax, or uses a part this matcher does not support."""


def compile_query(text: str) -> Predicate:
    """A predicate for ``text``; an empty query or ``*`` matches every document."""
    if not text.strip() or text.strip() == "*":
        return _always
    try:
        node = parse_lucene(text)
    except (ParseError, TypeError, ValueError) as exc:
        raise LuceneError(f"cannot parse query {text!r}: {exc}") from None
    return _compile(node, None)


@functools.lru_cache(maxsize=4096)  # every run checks its search's query: parse each once
def syntax_error(text: str) -> str | None:
    """Why ``text`` is not Lucene syntax, or None (fuzzy etc. pass: Elasticsearch has them)."""
    if not text.strip():
        return None
    try:
        parse_lucene(text)
    except (ParseError, TypeError, ValueError) as exc:
        return f"is not valid Lucene syntax: {exc}"
    return None


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _always(_document: Mapping[str, Any]) -> bool:
    return True


# ------------------------------------------------------------------- tree -> predicate


def _compile(node: tree.Item, field: str | None) -> Predicate:
    if isinstance(node, tree.SearchField):
        return _search_field(node, field)
    if isinstance(node, tree.Group | tree.FieldGroup):
        return _compile(node.expr, field)
    if isinstance(node, tree.Boost):
        return _compile(node.expr, field)
    if isinstance(node, tree.BaseOperation):
        return _boolean(node, field)
    if isinstance(node, tree.Not | tree.Prohibit):
        inner = _compile(node.a, field)
        return lambda document: not inner(document)
    if isinstance(node, tree.Plus):
        return _compile(node.a, field)
    if isinstance(node, tree.Fuzzy | tree.Proximity):
        raise LuceneError(f"fuzzy and proximity queries are not supported: {node}")
    return _leaf(node, field)


def _search_field(node: tree.SearchField, outer: str | None) -> Predicate:
    name = node.name if outer is None else f"{outer}.{node.name}"
    if "*" in name or "?" in name:
        raise LuceneError(f"field name wildcards are not supported: {name}")
    if name == "_exists_":
        if not isinstance(node.expr, tree.Word):
            raise LuceneError("_exists_ needs a field name, e.g. _exists_:user")
        return _exists(_unescape(node.expr.value))
    return _compile(node.expr, name)


class Occur(enum.Enum):
    MUST = "must"
    SHOULD = "should"
    MUST_NOT = "must_not"


def boolean_clauses(node: tree.BaseOperation) -> list[tuple[Occur, tree.Item]]:
    """The clauses of an un-parenthesised run of operators, as Lucene's classic parser sees it.

    luqum gives AND precedence over OR; Lucene has none: it reads the operands left
    to right, and an AND makes the clauses on both of its sides MUST (unless negated).
    So ``a AND b OR c`` is ``+a +b c`` and ``a OR NOT b`` is ``a -b``, as in ES.
    """
    clauses: list[tuple[Occur, tree.Item]] = []
    for conjunction, item in _in_order(node):
        negated = isinstance(item, tree.Not | tree.Prohibit)
        required = isinstance(item, tree.Plus) or (conjunction == "AND" and not negated)
        if conjunction == "AND" and clauses and clauses[-1][0] is not Occur.MUST_NOT:
            clauses[-1] = (Occur.MUST, clauses[-1][1])
        inner = item.a if isinstance(item, tree.Not | tree.Prohibit | tree.Plus) else item
        occur = Occur.MUST_NOT if negated else Occur.MUST if required else Occur.SHOULD
        clauses.append((occur, inner))
    return clauses


def _in_order(node: tree.Item) -> list[tuple[str | None, tree.Item]]:
    """Operands with the operator before each (None: first, or the implicit operator)."""
    if not isinstance(node, tree.BaseOperation):
        return [(None, node)]
    operator = {tree.AndOperation: "AND", tree.OrOperation: "OR"}.get(type(node))
    sequence: list[tuple[str | None, tree.Item]] = []
    for position, child in enumerate(node.children):
        part = _in_order(child)
        if position:
            part[0] = (operator, part[0][1])
        sequence.extend(part)
    return sequence


def _boolean(node: tree.BaseOperation, field: str | None) -> Predicate:
    """Lucene's boolean query: every MUST, no MUST_NOT, and a SHOULD if there is no MUST."""
    compiled = [(occur, _compile(item, field)) for occur, item in boolean_clauses(node)]
    must = [p for occur, p in compiled if occur is Occur.MUST]
    should = [p for occur, p in compiled if occur is Occur.SHOULD]
    must_not = [p for occur, p in compiled if occur is Occur.MUST_NOT]
    need_should = bool(should) and not must

    def matches(document: Mapping[str, Any]) -> bool:
        for predicate in must:
            if not predicate(document):
                return False
        for predicate in must_not:
            if predicate(document):
                return False
        return not need_should or any(p(document) for p in should)

    return matches


def _exists(field: str) -> Predicate:
    path = field.removesuffix(".keyword")
    return lambda document: any(v != [] and v != {} for v in field_values(document, path))


def _leaf(node: tree.Item, field: str | None) -> Predicate:
    keyword = field is not None and field.endswith(".keyword")
    path = field.removesuffix(".keyword") if field else None
    if isinstance(node, tree.Word) and node.value == "*":
        return _always if path is None else _exists(path)
    test = _value_test(node, keyword)
    if path is None:
        return lambda document: any(test(v) for v in _all_leaves(document))
    if "." in path:
        return lambda document: any(test(v) for v in field_values(document, path))

    def plain_field(document: Mapping[str, Any]) -> bool:
        # The common case, a top-level field, without the generator machinery.
        value = document.get(path)
        if value is None:
            return False
        if isinstance(value, list):
            return any(test(v) for v in _all_leaves(value))
        return test(value)

    return plain_field


def _value_test(node: tree.Item, keyword: bool) -> ValueTest:
    if isinstance(node, tree.Word):
        if _has_wildcard(node.value):
            return _wildcard_test(node.value, keyword)
        return _term_test(_unescape(node.value), keyword)
    if isinstance(node, tree.Phrase):
        return _phrase_test(_unescape(node.value[1:-1]), keyword)
    if isinstance(node, tree.Regex):
        return _regex_test(node.value[1:-1], keyword)
    if isinstance(node, tree.Range):
        low, high = _bound(node.low), _bound(node.high)
        return _range_test(low, high, node.include_low, node.include_high, keyword)
    if isinstance(node, tree.From):
        return _range_test(_bound(node.a), None, node.include, False, keyword)
    if isinstance(node, tree.To):
        return _range_test(None, _bound(node.a), False, node.include, keyword)
    raise LuceneError(f"unsupported query part: {node}")


def _all_leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for child in value.values():
            yield from _all_leaves(child)
    elif isinstance(value, list):
        for child in value:
            yield from _all_leaves(child)
    elif value is not None:
        yield value


# ------------------------------------------------------------------- value tests


def _term_test(term: str, keyword: bool) -> ValueTest:
    number = _number(term)
    boolean = term.lower() if term.lower() in ("true", "false") else None
    moment = parse_time(term) if _DATE.match(term) else None
    wanted = set(tokenize(term))

    def test(value: Any) -> bool:
        if isinstance(value, bool):
            return boolean is not None and str(value).lower() == boolean
        if isinstance(value, int | float):
            return number is not None and value == number
        if not isinstance(value, str):
            return False
        if keyword:
            return value == term
        if _DATE.match(value):
            return moment is not None and parse_time(value) == moment
        return value == term or not wanted.isdisjoint(tokenize(value))

    return test


def _phrase_test(phrase: str, keyword: bool) -> ValueTest:
    words = tokenize(phrase)
    size = len(words)
    term = _term_test(phrase, keyword)

    def test(value: Any) -> bool:
        if keyword or not isinstance(value, str) or size <= 1:
            return term(value)
        tokens = tokenize(value)
        return any(tokens[i : i + size] == words for i in range(len(tokens) - size + 1))

    return test


def _wildcard_test(pattern: str, keyword: bool) -> ValueTest:
    # Lucene wildcards: * and ?, a backslash escapes; translated to an anchored regex.
    parts = []
    for escaped, char in re.findall(r"(\\.)|(.)", pattern, flags=re.S):
        if escaped:
            parts.append(re.escape(escaped[1]))
        else:
            parts.append({"*": ".*", "?": "."}.get(char, re.escape(char)))
    source = "".join(parts)
    exact = re.compile(source, re.S)
    lowered = re.compile(source.lower(), re.S)

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if keyword:
            return exact.fullmatch(value) is not None
        return any(lowered.fullmatch(t) for t in tokenize(value))

    return test


def _regex_test(source: str, keyword: bool) -> ValueTest:
    try:
        pattern = re.compile(source.replace("\\/", "/"), re.S)
    except re.error as exc:
        raise LuceneError(f"invalid regular expression /{source}/: {exc}") from None

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if keyword:
            return pattern.fullmatch(value) is not None
        return any(pattern.fullmatch(t) for t in tokenize(value))

    return test


def _range_test(
    low: str | None, high: str | None, include_low: bool, include_high: bool, keyword: bool
) -> ValueTest:
    low_number, high_number = _number(low), _number(high)
    low_date = _date_bound(low, round_up=not include_low)
    high_date = _date_bound(high, round_up=include_high)

    def within(value: Any, lo: Any, hi: Any) -> bool:
        if lo is not None and (value < lo or (value == lo and not include_low)):
            return False
        return hi is None or not (value > hi or (value == hi and not include_high))

    def test(value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            if (low is not None and low_number is None) or (
                high is not None and high_number is None
            ):
                return False
            return within(value, low_number, high_number)
        if not isinstance(value, str):
            return False
        if _DATE.match(value):
            moment = parse_time(value)
            if moment is None or (low and low_date is None) or (high and high_date is None):
                return False
            return within(moment, low_date, high_date)
        if keyword:
            return within(value, low, high)
        lo, hi = (low.lower() if low else None), (high.lower() if high else None)
        return any(within(token, lo, hi) for token in tokenize(value))

    return test


# ------------------------------------------------------------------- helpers


def _bound(node: tree.Item) -> str | None:
    value = _unescape(str(getattr(node, "value", node)))
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        value = value[1:-1]
    return None if value == "*" else value


def _date_bound(value: str | None, *, round_up: bool) -> datetime | None:
    """A date bound; a date-only bound that rounds up means the end of that day (as ES)."""
    if value is not None and value.lower().startswith("now"):
        raise LuceneError("date math (now-1h) is not supported; use absolute dates")
    if value is None or not _DATE.match(value):
        return None
    moment = parse_time(value)
    if moment is not None and round_up and len(value) == 10:
        moment += timedelta(days=1) - timedelta(milliseconds=1)
    return moment


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _has_wildcard(value: str) -> bool:
    return re.search(r"(?<!\\)[*?]", value) is not None


def _unescape(value: str) -> str:
    return _ESCAPE.sub(r"\1", value)
