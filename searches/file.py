"""Newline-delimited JSON log files, queried with the Lucene syntax users write for ES.

The embedded default for the demo and for teams without Elasticsearch: a search moves
from a laptop to a cluster unchanged. Files are streamed line by line (never loaded
whole; ``.gz`` files too), a malformed line is skipped and counted (among the lines
parsed: a line lacking a word the query requires is skipped unparsed), and the modes are
Elasticsearch's: ``hits`` (oldest first, capped), ``terms`` (counts per distinct
group-by values, counted in Python over the stream) and ``count``. Matching rules and
their differences from Elasticsearch are in :mod:`searches.lucene`. When the settings
name ``file_source_roots``, only files inside those folders (after resolving links and
``..``) may be read. The file source has no timeout of its own: the scan checks the
run's deadline every block of lines and stops there.
"""

from __future__ import annotations

import glob
import gzip
import heapq
import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from searches.base import (
    Bucket,
    Hit,
    ResultKind,
    Source,
    SourceContext,
    SourceError,
    SourceResult,
    TimeWindow,
    bucket_order,
)
from searches.common import (
    ConfigReader,
    Mode,
    expected_since,
    field_values,
    keep_fields,
    parse_time,
    read_expect_groups,
    window_millis,
)
from searches.fields import (
    FieldCatalog,
    FieldUse,
    Use,
    catalog_from_documents,
    plain_name,
)
from searches.lucene import LuceneError, Predicate, compile_query
from searches.lucene_prefilter import required_substrings

MAX_HITS = 10_000
MAX_BUCKETS = 10_000
KEYWORD_IGNORE_ABOVE = 256  # ES's dynamic keyword sub-field skips longer strings
SAMPLE_LINES = 2_000  # events read to learn a file's fields (save, test, run checks)
CATALOG_SECONDS = 60.0  # how long what was learnt of a file's fields is kept
_CATALOG_CACHE: dict[str, tuple[float, FieldCatalog]] = {}
BLOCK_BYTES = 1 << 18  # lines are read in blocks of about this size (256 KiB)


@dataclass(frozen=True)
class FileConfig:
    path: str  # a file or a glob pattern
    query: str = "*"
    time_field: str = "@timestamp"
    mode: Mode = Mode.HITS
    fields: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    min_doc_count: int = 1
    max_hits: int = 500
    max_buckets: int = 500
    id_field: str | None = None  # a field holding a stable document id, if the logs have one
    expect_groups_seconds: int | None = None  # see searches.common.expected_since


@dataclass
class _Match:
    timestamp: datetime
    order: tuple[int, int]  # (file number, line number): a stable tie-break
    document: dict[str, Any]
    file_name: str = ""  # the file's name, for "auth.log:1234" on the alert


class FileSource(Source):
    name = "file"
    privileged = True
    description = "newline-delimited JSON log files, queried with Lucene syntax"
    config: FileConfig

    def __init__(self, config: FileConfig, context: SourceContext):
        super().__init__(config, context)
        self.predicate: Predicate = compile_query(config.query)
        self.required = required_substrings(config.query)
        self.malformed_lines = 0
        self.lines_read = 0

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> FileConfig:
        reader = ConfigReader(raw)
        query = reader.text("query", "*")
        try:
            compile_query(query)
        except LuceneError as exc:
            reader.error("query", str(exc))
        mode = reader.choice("mode", Mode, Mode.HITS)
        group_by = reader.names("group_by")
        if mode is Mode.TERMS and not group_by:
            reader.error("group_by", "is required in terms mode (the fields to count by)")
        config = FileConfig(
            path=reader.text("path"),
            query=query,
            time_field=reader.text("time_field", "@timestamp"),
            mode=mode,
            fields=reader.names("fields"),
            group_by=group_by,
            min_doc_count=reader.integer("min_doc_count", 1, low=1, high=2**31 - 1),
            max_hits=reader.integer("max_hits", 500, low=1, high=MAX_HITS),
            max_buckets=reader.integer("max_buckets", 500, low=1, high=MAX_BUCKETS),
            id_field=reader.text("id_field", None),
            expect_groups_seconds=read_expect_groups(reader, mode),
        )
        reader.finish()
        return config

    def result_kind(self) -> ResultKind:
        return self.config.mode.result_kind

    def run(self, window: TimeWindow) -> SourceResult:
        self.malformed_lines = self.lines_read = 0
        expect = self.config.expect_groups_seconds
        matches = self.matching(expected_since(window, expect) if expect else window)
        if self.config.mode is Mode.COUNT:
            result = SourceResult(ResultKind.COUNT, count=sum(1 for _ in matches))
        elif self.config.mode is Mode.TERMS:
            result = self._terms(matches, window_millis(window))
        else:
            result = self._hits(matches)
        if self.malformed_lines:
            result.warnings.append(f"{self.malformed_lines} malformed lines skipped")
        return result

    # ------------------------------------------------------------------- field checks

    def field_uses(self) -> list[FieldUse]:
        config = self.config
        uses = [FieldUse(config.time_field, "source_config.time_field", Use.TIME)]
        uses += [FieldUse(f, "source_config.group_by", Use.GROUP) for f in config.group_by]
        uses += [FieldUse(f, "source_config.fields", Use.SHOW) for f in config.fields]
        return uses

    def result_names(self) -> frozenset[str] | None:
        if self.config.mode is Mode.HITS:
            return None
        return frozenset(plain_name(g) for g in self.config.group_by) | {"count"}

    def field_catalog(self) -> FieldCatalog | None:
        """The fields seen in up to ``SAMPLE_LINES`` events of the first and the last file.

        Every line is read, whatever the query (its prefilter is off here). When that
        covers all the data, the catalog is complete and an unknown field is an error;
        otherwise it is a sample and an unknown field only a warning.
        """
        cached = _CATALOG_CACHE.get(self.config.path)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        files = self.files()
        chosen = list(dict.fromkeys([files[0], files[-1]]))
        sample: list[dict[str, Any]] = []
        required, self.required = self.required, frozenset()
        try:
            for path in chosen:
                for _number, document in self._documents(path):
                    sample.append(document)
                    if len(sample) >= SAMPLE_LINES:
                        break
        finally:
            self.required = required
        if not sample:
            return None  # nothing written yet: nothing to tell
        complete = len(sample) < SAMPLE_LINES and len(chosen) == len(files)
        where = f"the events of {self.config.path}"
        catalog = catalog_from_documents(where, sample, complete=complete)
        _CATALOG_CACHE[self.config.path] = (time.monotonic() + CATALOG_SECONDS, catalog)
        return catalog

    # ------------------------------------------------------------------- scanning

    def files(self) -> list[Path]:
        pattern = self.config.path
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths = [Path(p) for p in found if Path(p).is_file()]
        if not paths:
            raise SourceError(f"no log file matches {pattern!r}", permanent=False)
        roots = [Path(r).resolve() for r in getattr(self.context.settings, "file_source_roots", ())]
        for path in paths if roots else ():
            if not any(path.resolve().is_relative_to(root) for root in roots):
                allowed = ", ".join(map(str, roots))
                raise SourceError(
                    f"{path} is outside the allowed folders ({allowed})", permanent=True
                )
        return paths

    def matching(self, window: TimeWindow) -> Iterator[_Match]:
        """Every document in [start, end) that the query matches, in file order."""
        window = window_millis(window)
        start, end = window.start, window.end
        time_field, predicate = self.config.time_field, self.predicate
        for number, path in enumerate(self.files()):
            for line_number, document in self._documents(path):
                timestamp = _timestamp(document, time_field)
                if timestamp is None or not start <= timestamp < end:
                    continue
                if predicate(document):
                    yield _Match(timestamp, (number, line_number), document, path.name)

    def _documents(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        required, check = self.required, self.deadline.check
        first = 1  # the number of the block's first line
        try:
            with _open(path) as stream:
                # Blocks of ~256 KiB: the run's deadline is checked once per block, which
                # costs nothing per line yet stops a scan within milliseconds.
                while block := stream.readlines(BLOCK_BYTES):
                    check()
                    self.lines_read += len(block)
                    for line_number, line in enumerate(block, first):
                        if required:
                            lowered = line.lower()
                            if not all(word in lowered for word in required):
                                continue  # cannot match: not worth parsing
                        if not line.strip():
                            continue
                        try:
                            document = json.loads(line)
                        except ValueError:
                            self.malformed_lines += 1
                            continue
                        if isinstance(document, dict):
                            yield line_number, document
                        else:
                            self.malformed_lines += 1
                    first += len(block)
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------- modes

    def _hits(self, matches: Iterator[_Match]) -> SourceResult:
        # Keep the oldest max_hits with a bounded heap (largest key on top, negated).
        cap = self.config.max_hits
        heap: list[tuple[float, int, int, _Match]] = []
        total = 0
        for match in matches:
            total += 1
            key = (-match.timestamp.timestamp(), -match.order[0], -match.order[1], match)
            if len(heap) < cap:
                heapq.heappush(heap, key)
            elif key[:3] > heap[0][:3]:
                heapq.heapreplace(heap, key)
        kept = sorted((entry[3] for entry in heap), key=lambda m: (m.timestamp, m.order))
        hits = [self._hit(match) for match in kept]
        return SourceResult(ResultKind.HITS, hits=hits, truncated=total > len(hits))

    def _hit(self, match: _Match) -> Hit:
        document = match.document
        hit_id = None
        if self.config.id_field:
            value = next(field_values(document, self.config.id_field), None)
            hit_id = None if value is None else str(value)
        where = f"{match.file_name}:{match.order[1]}"
        return Hit(hit_id, match.timestamp, keep_fields(document, self.config.fields), where)

    def _terms(self, matches: Iterator[_Match], window: TimeWindow) -> SourceResult:
        """Counts per group, as Elasticsearch's terms aggregation makes them.

        With ``expect_groups`` the matches span the expected groups' longer period:
        groups come from all of them, counts from those inside ``window`` only.
        """
        names = [plain_name(g) for g in self.config.group_by]
        counts: Counter[tuple[Any, ...]] = Counter()  # every match: which groups exist
        in_window: Counter[tuple[Any, ...]] = Counter()
        for match in matches:
            values = [_group_values(match.document, name) for name in self.config.group_by]
            inside = window.start <= match.timestamp < window.end
            for combination in itertools.product(*values):
                counts[combination] += 1
                in_window[combination] += inside
        counted = in_window if self.config.expect_groups_seconds else counts
        buckets = [
            Bucket(dict(zip(names, combination, strict=True)), counted[combination])
            for combination, count in counts.items()
            if count >= self.config.min_doc_count
        ]
        buckets.sort(key=bucket_order)
        truncated = len(buckets) > self.config.max_buckets
        return SourceResult(
            ResultKind.BUCKETS, buckets=buckets[: self.config.max_buckets], truncated=truncated
        )


def _timestamp(document: Mapping[str, Any], field: str) -> datetime | None:
    value = document.get(field) if field in document else next(field_values(document, field), None)
    return parse_time(value)


def _group_values(document: Mapping[str, Any], name: str) -> list[Any]:
    """Distinct groupable values of a field (a document counts once per value, as in ES)."""
    path = name.removesuffix(".keyword")
    if "." not in path:  # the common case, without the generator machinery
        value = document.get(path)
        if value is None or isinstance(value, dict):
            return []
        if not isinstance(value, list):
            too_long = isinstance(value, str) and len(value) > KEYWORD_IGNORE_ABOVE
            return [] if too_long else [value]
    seen: list[Any] = []
    for value in field_values(document, path):
        if isinstance(value, dict | list):
            continue
        if isinstance(value, str) and len(value) > KEYWORD_IGNORE_ABOVE:
            continue
        if value not in seen:
            seen.append(value)
    return seen


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb", buffering=1 << 20)
