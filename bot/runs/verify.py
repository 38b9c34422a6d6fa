"""``411 search verify``: check every search's example events (bot/definitions/examples.py).

Without a cluster, an example's events are written to a scratch NDJSON file and the
search's query runs on them through the file source, the same Lucene engine that
serves ``source: file`` (an ``elasticsearch`` search is read as the file source
reads it: same query, mode, group-by and time field). With ``cluster``, the events
are indexed into a scratch index of that cluster and the search's own source runs
there (with the mappings of the newest index the search's pattern matches, so a keyword
field stays one), which checks the query as the cluster parses it. Either way the pipeline's
condition (``bot.pipeline.condition.evaluate``) says whether the search fires.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.definitions.examples import Example, examples_beside, parse_examples
from bot.definitions.search import SearchDefinition
from bot.definitions.yaml_files import read_file, yaml_files
from bot.pipeline.condition import evaluate
from searches.base import SourceConfigError, SourceContext, SourceError, SourceResult, TimeWindow
from searches.common import iso_millis

# What an Elasticsearch search's config means to the file source; the rest is the cluster's.
_FILE_KEYS = {"query", "time_field", "mode", "fields", "group_by", "min_doc_count", "max_hits",
              "max_buckets", "expect_groups"}  # fmt: skip
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # examples are placed just before it


@dataclass(frozen=True)
class Outcome:
    path: Path
    search: str
    example: str  # e.g. "must_fire[2]", or "" for a problem with the file or the search
    ok: bool
    detail: str

    def line(self) -> str:
        where = f"{self.path}: search {self.search!r}" if self.search else str(self.path)
        label = f": {self.example}" if self.example else ""
        return f"{'ok  ' if self.ok else 'FAIL'} {where}{label}: {self.detail}"


def verify_paths(
    paths: Iterable[str | Path], *, settings: Any = None, cluster: str | None = None
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for path in yaml_files(paths):
        result = read_file(path)
        outcomes += [Outcome(path, "", "", False, problem) for problem in result.problems]
        names = [d.name for d in result.definitions]
        beside, problems = examples_beside(path, names)
        outcomes += [Outcome(path, "", "", False, problem) for problem in problems]
        for defn in result.definitions:
            raw = result.examples.get(defn.name)
            if raw is not None and defn.name in beside:
                message = "examples given both in the file and beside it; keep one"
                outcomes.append(Outcome(path, defn.name, "", False, message))
                continue
            raw = beside.get(defn.name, raw)
            outcomes += verify_search(path, defn, raw, settings=settings, cluster=cluster)
    return outcomes


def verify_search(
    path: Path, defn: SearchDefinition, raw: Any, *, settings: Any, cluster: str | None
) -> list[Outcome]:
    examples = parse_examples(raw)
    outcomes = [Outcome(path, defn.name, "", False, p) for p in examples.problems]
    if not examples.items and not examples.problems:
        return [Outcome(path, defn.name, "", True, "no examples")]
    for example in examples.items:
        try:
            fired = _fires(defn, example, settings, cluster)
        except (SourceError, SourceConfigError, ValueError) as exc:
            outcomes.append(Outcome(path, defn.name, example.label, False, f"cannot run: {exc}"))
            continue
        wanted = example.kind == "must_fire"
        verb = "fired" if fired else "did not fire"
        detail = f"{verb} on {len(example.events)} event(s)"
        if fired != wanted:
            detail += " but " + ("must fire" if wanted else "must not fire")
        outcomes.append(Outcome(path, defn.name, example.label, fired == wanted, detail))
    return outcomes


def _fires(defn: SearchDefinition, example: Example, settings: Any, cluster: str | None) -> bool:
    window = TimeWindow(NOW - timedelta(seconds=defn.lookback_seconds), NOW)
    time_field = str(defn.source_config.get("time_field", "@timestamp"))
    events = [_stamped(event, time_field, n) for n, event in enumerate(example.events)]
    if cluster is not None:
        result = _on_cluster(defn, events, window, settings, cluster)
    else:
        result = _offline(defn, events, window)
    candidates = evaluate(result, defn.condition_op, defn.condition_threshold, defn.key_fields)
    return bool(candidates)


def _stamped(event: dict[str, Any], time_field: str, n: int) -> dict[str, Any]:
    """The event with a time inside the window (just before its end), unless it has one."""
    if time_field in event:
        return event
    return {**event, time_field: iso_millis(NOW - timedelta(seconds=1, milliseconds=n))}


def _offline(
    defn: SearchDefinition, events: list[dict[str, Any]], window: TimeWindow
) -> SourceResult:
    from searches.file import FileSource

    config = dict(defn.source_config)
    if defn.source == "elasticsearch":
        if "query_dsl" in config:
            raise ValueError("a query_dsl search can only be verified on a cluster (--cluster)")
        config = {k: v for k, v in config.items() if k in _FILE_KEYS}
    elif defn.source != "file":
        raise ValueError(f"a {defn.source!r} search cannot be verified from example events")
    with tempfile.TemporaryDirectory(prefix="411-verify-") as folder:
        data = Path(folder) / "events.ndjson"
        data.write_text("".join(json.dumps(e, default=str) + "\n" for e in events), "utf-8")
        parsed = FileSource.parse_config({**config, "path": str(data)})
        return FileSource(parsed, SourceContext(search_name=defn.name)).run(window)


def _on_cluster(
    defn: SearchDefinition,
    events: list[dict[str, Any]],
    window: TimeWindow,
    settings: Any,
    cluster: str,
) -> SourceResult:
    """The search's own Elasticsearch source, on a scratch index holding only the events."""
    from searches.elasticsearch import ElasticsearchSource
    from searches.es_client import cluster_client, find_cluster

    if defn.source not in ("elasticsearch", "file"):
        raise ValueError(f"a {defn.source!r} search cannot be verified on a cluster")
    raw = getattr(cluster_client(find_cluster(settings, cluster), 30.0), "raw")  # noqa: B009
    index = f"411-verify-{uuid.uuid4().hex[:12]}"
    operations: list[dict[str, Any]] = []
    for event in events:
        operations += [{"index": {"_index": index}}, event]
    pattern = str(defn.source_config.get("index", ""))
    try:
        raw.indices.create(index=index, body=_like_the_real_index(raw, pattern))
        raw.bulk(body=operations, refresh="wait_for")
        config = {k: v for k, v in defn.source_config.items() if k not in ("path", "id_field")}
        config.update(index=index, cluster=cluster)
        parsed = ElasticsearchSource.parse_config(config)
        context = SourceContext(search_name=defn.name, settings=settings)
        return ElasticsearchSource(parsed, context).run(window)
    finally:
        raw.indices.delete(index=index, ignore_unavailable=True)


def _like_the_real_index(raw: Any, pattern: str) -> dict[str, Any]:
    """The mappings and analysis settings of the newest index ``pattern`` matches, so the
    examples are indexed as the real data is (a keyword stays a keyword, a normalizer
    applies: an imported Sigma rule's query is written for Winlogbeat's keyword fields);
    nothing (dynamic mapping) when the pattern matches no index."""
    if not pattern:
        return {}
    lenient = {"allow_no_indices": True, "ignore_unavailable": True}
    try:
        settings = _body(raw.indices.get_settings(index=pattern, **lenient))
        mappings = _body(raw.indices.get_mapping(index=pattern, **lenient))
    except Exception as exc:  # either client's error type: the examples cannot be placed
        raise SourceError(f"cannot read the mapping of {pattern}: {exc}") from None
    if not settings:
        return {}
    newest = max(
        settings, key=lambda name: int(settings[name]["settings"]["index"]["creation_date"])
    )
    body: dict[str, Any] = {"mappings": mappings.get(newest, {}).get("mappings", {})}
    analysis = settings[newest]["settings"]["index"].get("analysis")
    if analysis:
        body["settings"] = {"analysis": analysis}
    return body


def _body(response: Any) -> dict[str, Any]:
    return dict(getattr(response, "body", response))


def summary(outcomes: list[Outcome]) -> str:
    checked = [o for o in outcomes if o.example]
    failed = [o for o in outcomes if not o.ok]
    searches = len({(o.path, o.search) for o in checked})
    return f"{len(checked)} examples of {searches} searches checked, {len(failed)} problems"
