"""A cheap pre-filter for the file source: words a matching JSON line must contain.

Parsing JSON is the main cost of scanning a log file. When a query needs a word
(``user:root AND msg:"failed password"`` needs ``root``, ``failed`` and ``password``),
a line whose lower-cased bytes lack it cannot match and is skipped unparsed. Only
words that JSON never escapes and that cannot match as numbers or dates are used,
so the filter never drops a line the query would have matched.
"""

from __future__ import annotations

import re

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse as parse_lucene  # ply's shared lexer is not thread-safe

from searches.lucene import (
    Occur,
    _has_wildcard,
    _number,
    _unescape,
    boolean_clauses,
    tokenize,
)


def required_substrings(text: str) -> frozenset[bytes]:
    """Lower-cased ASCII words every matching document's JSON line must contain.

    A cheap pre-filter: a line without them cannot match, so it need not be parsed.
    Only words that JSON never escapes and that cannot match as numbers count.
    """
    if not text.strip() or text.strip() == "*":
        return frozenset()
    try:
        return frozenset(w.encode() for w in _required(parse_lucene(text)))
    except (ParseError, TypeError, ValueError):
        return frozenset()


def _required(node: tree.Item) -> set[str]:
    if isinstance(node, tree.SearchField):
        return set() if node.name == "_exists_" else _required(node.expr)
    if isinstance(node, tree.Group | tree.FieldGroup | tree.Boost | tree.Plus):
        return _required(node.expr if hasattr(node, "expr") else node.a)
    if isinstance(node, tree.BaseOperation):
        return _required_of_operation(node)
    if isinstance(node, tree.Word) and not _has_wildcard(node.value):
        return _safe_words([_unescape(node.value)])
    if isinstance(node, tree.Phrase):  # a phrase needs each of its words
        return set().union(*(_safe_words([w]) for w in tokenize(_unescape(node.value[1:-1]))))
    return set()


def _required_of_operation(node: tree.BaseOperation) -> set[str]:
    clauses = boolean_clauses(node)
    musts = [item for occur, item in clauses if occur is Occur.MUST]
    shoulds = [item for occur, item in clauses if occur is Occur.SHOULD]
    if musts:
        return set().union(*(_required(c) for c in musts))
    if shoulds:  # every alternative needs its words: only the common ones are required
        return set.intersection(*(_required(c) for c in shoulds))
    return set()


def _safe_words(words: list[str]) -> set[str]:
    if len(words) != 1:  # several words in one term match ANY of them (ES's OR)
        return set()
    word = words[0].lower()
    safe = re.fullmatch(r"[a-z0-9_.']+", word) and _number(word) is None
    return {word} if safe and word not in ("true", "false") else set()
