"""The Lucene parser is used from several run threads and the web thread at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from searches.lucene import compile_query, syntax_error

QUERIES = [
    f'user:alice{n} AND (status:[{n} TO {n + 99}] OR msg:"failed password {n}") NOT host:web{n}*'
    for n in range(300)
]
DOCUMENT = {"user": "alice7", "status": 50, "msg": "x", "host": "db1"}


def _parse_all(offset: int) -> list[bool]:
    # Each thread walks the queries in its own order, so parses interleave.
    order = QUERIES[offset:] + QUERIES[:offset]
    return [compile_query(query)(DOCUMENT) for query in order]


def test_queries_parse_the_same_from_many_threads_at_once():
    expected = [compile_query(query)(DOCUMENT) for query in QUERIES]
    assert expected.count(True) == 1  # alice7 only: the check can tell queries apart
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(_parse_all, range(0, 240, 30)))
    for offset, result in zip(range(0, 240, 30), results, strict=True):
        assert result == expected[offset:] + expected[:offset]


def test_syntax_errors_are_reported_the_same_from_many_threads():
    broken = [f"user:(alice{n} AND" for n in range(200)]
    with ThreadPoolExecutor(8) as pool:
        problems = list(pool.map(syntax_error, broken * 4))
    assert all(problem and "not valid Lucene syntax" in problem for problem in problems)
