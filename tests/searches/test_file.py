"""The file source: streaming NDJSON files, malformed lines, globs, gzip, time formats."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from searches.base import ResultKind, SourceConfigError, SourceContext, SourceError
from searches.file import FileSource
from searches.lucene import LuceneError, compile_query
from searches.lucene_prefilter import required_substrings
from tests.searches.conftest import END, INSIDE, MS, START, WINDOW


def run(**raw: Any) -> Any:
    source = FileSource(FileSource.parse_config(raw), SourceContext())
    return source.run(WINDOW)


def write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_it_returns_the_window_oldest_first_start_in_end_out(log_file: Path) -> None:
    result = run(path=str(log_file), id_field="id")
    assert result.kind is ResultKind.HITS
    assert [h.id for h in result.hits] == INSIDE
    assert result.hits[0].timestamp == START and result.warnings == []


def test_each_hit_says_the_file_and_line_it_was_read_at(log_file: Path) -> None:
    result = run(path=str(log_file), id_field="id")
    # The sample's first line is before the window: the inside ones are lines 2 to 7.
    assert [h.where for h in result.hits] == [f"app.log:{n}" for n in range(2, 8)]


def test_it_skips_and_counts_malformed_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "x.log", [
        {"@timestamp": START.isoformat(), "n": 1},
        "{not json",
        "[1, 2]",
        "",
        {"@timestamp": "yesterday-ish", "n": 2},  # unusable time: outside every window
        {"@timestamp": (START + MS).isoformat(), "n": 3},
    ])  # fmt: skip
    source = FileSource(FileSource.parse_config({"path": str(path)}), SourceContext())
    result = source.run(WINDOW)
    assert [h.fields["n"] for h in result.hits] == [1, 3]
    assert source.malformed_lines == 2 and source.lines_read == 6
    assert result.warnings == ["2 malformed lines skipped"]


def test_it_reads_every_file_of_a_glob_including_gzip_and_sorts_by_time(tmp_path: Path) -> None:
    write(tmp_path / "b.log", [{"t": (START + 2 * MS).isoformat(), "n": "b"}])
    with gzip.open(tmp_path / "a.log.gz", "wt") as stream:
        stream.write(json.dumps({"t": (START + MS).isoformat(), "n": "a"}) + "\n")
    write(tmp_path / "c.txt", [{"t": START.isoformat(), "n": "not matched by the glob"}])
    result = run(path=str(tmp_path / "*.log*"), time_field="t")
    assert [h.fields["n"] for h in result.hits] == ["a", "b"]


def test_it_understands_epoch_seconds_millis_and_nested_time_fields(tmp_path: Path) -> None:
    epoch = START.timestamp()
    path = write(tmp_path / "x.log", [
        {"event": {"at": epoch}, "n": "seconds"},
        {"event": {"at": int(epoch * 1000) + 5}, "n": "millis"},
        {"event": {"at": (END + timedelta(seconds=1)).timestamp()}, "n": "late"},
    ])  # fmt: skip
    result = run(path=str(path), time_field="event.at")
    assert [h.fields["n"] for h in result.hits] == ["seconds", "millis"]
    assert result.hits[1].timestamp == START + 5 * MS


def test_it_keeps_only_the_fields_asked_for(log_file: Path) -> None:
    result = run(path=str(log_file), fields=["user", "src.ip"], query="id.keyword:mid-1")
    assert [h.fields for h in result.hits] == [{"user": "Bob", "src": {"ip": "10.0.0.2"}}]


def test_it_counts_and_groups(log_file: Path) -> None:
    assert run(path=str(log_file), mode="count", query="status:500").count == 2
    grouped = run(path=str(log_file), mode="terms", group_by=["user", "status"])
    assert grouped.buckets[0].key == {"user": "Bob", "status": 500}
    assert grouped.buckets[0].count == 2


def test_it_reads_only_inside_the_allowed_folders(tmp_path: Path, log_file: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    settings = SimpleNamespace(file_source_roots=(str(allowed),))
    sneaky = str(allowed / ".." / log_file.name)
    source = FileSource(FileSource.parse_config({"path": sneaky}), SourceContext(settings=settings))
    with pytest.raises(SourceError) as raised:
        source.run(WINDOW)
    assert raised.value.permanent and "outside the allowed folders" in str(raised.value)
    inside = write(allowed / "ok.log", [{"@timestamp": START.isoformat()}])
    source = FileSource(
        FileSource.parse_config({"path": str(inside)}), SourceContext(settings=settings)
    )
    assert len(source.run(WINDOW).hits) == 1


def test_a_missing_file_is_a_transient_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as raised:
        run(path=str(tmp_path / "nope-*.log"))
    assert not raised.value.permanent and "no log file matches" in str(raised.value)


def test_it_reports_every_config_problem_naming_its_field() -> None:
    raw = {"query": "user:(alice", "mode": "terms", "max_hits": 10**9, "colour": "red"}
    with pytest.raises(SourceConfigError) as raised:
        FileSource.parse_config(raw)
    fields = {e.field for e in raised.value.errors}
    assert fields == {"path", "query", "group_by", "max_hits", "colour"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("user:alice~1", "fuzzy"),
        ('msg:"a b"~2', "proximity"),
        ("us*:alice", "field name wildcards"),
        ("@timestamp:[now-1h TO now]", "date math"),
        ("msg:/[/", "invalid regular expression"),
        ("a AND (b", "cannot parse"),
    ],
)
def test_it_refuses_lucene_it_cannot_honour(query: str, message: str) -> None:
    with pytest.raises(LuceneError, match=message):
        compile_query(query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a.b:x", True),  # literal dotted key
        ("a.b:y", True),  # nested object
        ("list.k:2", True),  # objects inside an array
        ("path:\\/var\\/log", True),  # escaped slashes
        ("flag:true", True),
        ("flag:false", False),
        ("n:[1 TO 3}", True),
        ("n:{1 TO 3]", False),
        ("word:ÉTÉ", True),
    ],
)
def test_it_matches_nested_escaped_and_typed_values(query: str, expected: bool) -> None:
    document = {"a.b": "x", "a": {"b": "y"}, "list": [{"k": 1}, {"k": 2}], "path": "/var/log",
                "flag": True, "n": 1, "word": "été"}  # fmt: skip
    assert compile_query(query)(document) is expected


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('msg:"Failed password" AND user:root', {b"failed", b"password", b"root"}),
        ("user:root AND NOT host:web1", {b"root"}),
        ("(a AND b) OR (a AND c)", {b"a"}),
        ("+a b", {b"a"}),
        ("a OR b", set()),  # either may be missing
        ("status:500", set()),  # 500.0 would match too
        ("user:foo-bar", set()),  # several words: any of them
        ("x:ab*", set()),
        ("word:été", set()),  # JSON may escape it as \u00e9
    ],
)
def test_the_prefilter_requires_only_words_a_match_must_contain(
    query: str, words: set[bytes]
) -> None:
    assert required_substrings(query) == words


def test_the_prefilter_never_drops_a_matching_line(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    at = START.isoformat()
    path.write_text(
        json.dumps({"@timestamp": at, "user": "ROOT", "msg": "Été"})
        + "\n"  # escaped: \u00c9t\u00e9
        + json.dumps({"@timestamp": at, "user": "r00t", "msg": "x"})
        + "\n"
    )
    assert run(path=str(path), query="user:root AND msg:été", mode="count").count == 1


def test_it_streams_a_large_file_instead_of_loading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    line = json.dumps({"@timestamp": START.isoformat(), "msg": "x" * 150, "user": "root"}) + "\n"
    path.write_text(line * 60_000)  # ~12 MB
    tracemalloc.start()
    try:
        result = run(path=str(path), mode="count", query="user:root")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.count == 60_000
    assert peak < 2 * 1024 * 1024  # far below the file's size: one line at a time
