"""Each ElastAlert2 rule type as a 411 search: mode, condition, keys and look-back.

| ElastAlert type | 411 search |
|---|---|
| any | hits, condition any |
| blacklist / whitelist | hits, with ElastAlert's own list filter (query_string) added |
| frequency | count (terms per query_key), condition count >= num_events over timeframe |
| flatline | count (terms per query_key with expect_groups), count < threshold, auto-resolve |
| cardinality | metric mode, agg cardinality, above max / below min, over timeframe |
| metric_aggregation | metric mode, above max_threshold / below min_threshold |
| percentage_match | percentage mode, match_bucket_filter, above max / below min percentage |
| spike, spike_aggregation | spike mode: the timeframe against the one before it |
| new_term | new_terms mode: values absent during terms_window_size before |
| change | change mode: compare_key against the query_key's previous document |

Each converter reads its settings from the rule (marking them used) and fills a
Draft; ``elastalert.py`` puts the common settings around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.rule_import.elastalert_filters import FilterError, all_of, convert_filters
from bot.rule_import.elastalert_rule import RuleReader
from searches.durations import compact_duration

DEFAULT_BUFFER = 15 * 60  # ElastAlert's example global config: buffer_time 15 minutes
DEFAULT_TERMS_WINDOW = 30 * 86400  # new_term's terms_window_size default
FLATLINE_EXPECT = 7 * 86400  # a per-key flatline expects the keys seen in the last week
MAX_EXPECT = 90 * 86400


@dataclass
class Draft:
    """The 411 search taking shape from one rule."""

    source_config: dict[str, Any]
    clauses: list[dict[str, Any]] = field(default_factory=list)  # ANDed into the query
    condition: str = "any"
    key_fields: list[str] = field(default_factory=list)
    lookback: int = DEFAULT_BUFFER
    title: str = ""
    auto_resolve: bool = False
    per_document: bool = True  # the search returns documents (not counts per group)
    renames: dict[str, str] = field(default_factory=dict)  # ElastAlert match field -> 411's
    notes: list[str] = field(default_factory=list)  # "setting: why it is not carried"


def _buffer(rule: RuleReader) -> int:
    return rule.duration("buffer_time") or DEFAULT_BUFFER


def _group(rule: RuleReader, draft: Draft, names: list[str]) -> None:
    if names:
        draft.source_config["group_by"] = names
        draft.key_fields = list(names)


def _label(names: list[str]) -> str:
    return "".join("{{ fields[" + repr(n) + "] }} " for n in names)


def convert_any(rule: RuleReader, draft: Draft) -> None:
    draft.lookback = _buffer(rule)
    draft.key_fields = rule.fields("query_key")


def convert_blacklist(rule: RuleReader, draft: Draft) -> None:
    _list_filter(rule, draft, "blacklist")


def convert_whitelist(rule: RuleReader, draft: Draft) -> None:
    _list_filter(rule, draft, "whitelist")


def _list_filter(rule: RuleReader, draft: Draft, kind: str) -> None:
    """ElastAlert's own filter_by_list query: ``key:"term"`` ORed, or each one negated."""
    convert_any(rule, draft)
    key = rule.text("compare_key", required=True)
    entries = rule.require(kind)
    ignore_null = rule.take("ignore_null", False) is True
    if kind == "whitelist":
        rule.require("ignore_null")
    rule.take("filter_by_list")
    if not key or not isinstance(entries, list) or not entries:
        if entries is not None:
            rule.error(kind, "must be a list of values")
        return
    terms = [_list_term(key, str(entry)) for entry in entries]
    if any(str(e).startswith("!file") for e in entries):
        rule.error(kind, "!file entries (lists read from a file) are not supported")
        return
    query = " OR ".join(terms) if kind == "blacklist" else "NOT " + " AND NOT ".join(terms)
    draft.clauses.append({"query_string": {"query": query}})
    if kind == "whitelist" and ignore_null:
        draft.clauses.append({"exists": {"field": key}})
    draft.notes.append(
        f'{kind}: compared by Elasticsearch as ElastAlert\'s list filter ({key}:"value"); '
        "ElastAlert's second, exact comparison in Python is not made (on a text field a "
        "value also matches as a phrase inside a longer text: use a keyword field)"
    )
    draft.title = "{{ fields[" + repr(key) + "] }}"


def _list_term(key: str, entry: str) -> str:
    if entry.startswith("/") and entry.endswith("/") and len(entry) > 1:
        return f"{key}:{entry}"  # a regular expression, unquoted as ElastAlert does
    escaped = entry.replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}:"{escaped}"'


def convert_frequency(rule: RuleReader, draft: Draft) -> None:
    events = rule.number("num_events", required=True)
    draft.lookback = rule.duration("timeframe", required=True) or DEFAULT_BUFFER
    _counting(rule, draft)
    draft.condition = f"count >= {int(events or 1)}"
    _unused_query_options(rule, draft)


def convert_flatline(rule: RuleReader, draft: Draft) -> None:
    threshold = rule.number("threshold", required=True)
    draft.lookback = rule.duration("timeframe", required=True) or DEFAULT_BUFFER
    _counting(rule, draft)
    draft.condition = f"count < {int(threshold or 1)}"
    draft.auto_resolve = True  # the count is back above the threshold: the alert resolves
    draft.renames = {"key": draft.key_fields[0] if draft.key_fields else "count"}
    if draft.key_fields:
        forget = rule.take("forget_keys", False) is True
        span = 2 * draft.lookback if forget else max(FLATLINE_EXPECT, 2 * draft.lookback)
        draft.source_config["expect_groups"] = compact_duration(min(span, MAX_EXPECT))
        draft.notes.append(
            "query_key: keys seen during the last "
            f"{compact_duration(min(span, MAX_EXPECT))} are expected (ElastAlert remembers "
            "every key since it started)"
        )
    _unused_query_options(rule, draft)


def _counting(rule: RuleReader, draft: Draft) -> None:
    draft.per_document = False
    names = rule.fields("query_key")
    draft.source_config["mode"] = "terms" if names else "count"
    _group(rule, draft, names)
    if names:  # ElastAlert's match is the group's last document: templates show its fields
        draft.source_config["latest_document"] = True


def _unused_query_options(rule: RuleReader, draft: Draft) -> None:
    for name in ("use_count_query", "use_terms_query", "terms_size", "doc_type"):
        if rule.take(name) is not None:
            draft.notes.append(f"{name}: 411 counts with Elasticsearch aggregations anyway")


def convert_cardinality(rule: RuleReader, draft: Draft) -> None:
    field_name = rule.text("cardinality_field", required=True)
    draft.lookback = rule.duration("timeframe", required=True) or DEFAULT_BUFFER
    above, below = rule.number("max_cardinality"), rule.number("min_cardinality")
    if above is None and below is None:
        rule.error("max_cardinality", "give max_cardinality or min_cardinality")
    _statistic(rule, draft, {"agg": "cardinality", "field": field_name}, above, below)
    limits = _limits(below, above)
    draft.title = _label(draft.key_fields) + f"{{{{ value | int }}}} unique {field_name} ({limits})"


def convert_metric(rule: RuleReader, draft: Draft) -> None:
    metric = _metric(rule, required=True)
    draft.lookback = _buffer(rule)
    interval = rule.duration("bucket_interval")
    rule.take("sync_bucket_interval")
    if interval:
        draft.lookback = interval
        draft.notes.append(
            "bucket_interval: the statistic is computed over the last "
            f"{compact_duration(interval)} (the look-back) at each run, not per interval "
            "bucket of buffer_time"
        )
    above, below = rule.number("max_threshold"), rule.number("min_threshold")
    if above is None and below is None:
        rule.error("max_threshold", "give max_threshold or min_threshold")
    _statistic(rule, draft, metric, above, below)
    name = f"{metric.get('agg')} of {metric.get('field')}"
    limits = _limits(below, above)
    draft.title = _label(draft.key_fields) + f"{name} is {{{{ value | round(4) }}}} ({limits})"
    key, agg = rule.raw.get("metric_agg_key"), rule.raw.get("metric_agg_type")
    draft.renames.update({"metric_agg_value": "value", f"metric_{key}_{agg}": "value"})


def _metric(rule: RuleReader, *, required: bool) -> dict[str, Any]:
    field_name = rule.text("metric_agg_key", required=required)
    agg = rule.text("metric_agg_type", required=required)
    if rule.take("metric_agg_script") is not None:
        rule.error("metric_agg_script", "a scripted statistic cannot be converted")
    if agg is None:
        return {}
    metric: dict[str, Any] = {"agg": agg, "field": field_name}
    if agg == "percentiles":
        metric["percentile"] = rule.number("percentile_range", required=True)
    return metric


def _statistic(
    rule: RuleReader,
    draft: Draft,
    metric: dict[str, Any],
    above: float | None,
    below: float | None,
) -> None:
    draft.per_document = False
    draft.source_config["mode"] = "metric"
    bounds = {k: v for k, v in (("above", above), ("below", below)) if v is not None}
    draft.source_config["metric"] = {**metric, **bounds}
    _group(rule, draft, rule.fields("query_key"))
    _min_doc_count(rule, draft)


def _min_doc_count(rule: RuleReader, draft: Draft) -> None:
    count = rule.number("min_doc_count")
    if count is not None and count > 1:
        draft.source_config["min_doc_count"] = int(count)


def _limits(below: float | None, above: float | None) -> str:
    parts = [
        f"min {below:g}" if below is not None else "",
        f"max {above:g}" if above is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def convert_percentage(rule: RuleReader, draft: Draft) -> None:
    draft.per_document = False
    draft.lookback = _buffer(rule)
    raw_filter = rule.require("match_bucket_filter")
    try:
        match = convert_filters(raw_filter, "match_bucket_filter")
    except FilterError as exc:
        rule.error(exc.where, str(exc).removeprefix(f"{exc.where}: "))
        return
    draft.notes.extend(match.notes)
    above, below = rule.number("max_percentage"), rule.number("min_percentage")
    if above is None and below is None:
        rule.error("max_percentage", "give max_percentage or min_percentage")
    settings: dict[str, Any] = {"match_query_dsl": all_of(match.clauses or [{"match_all": {}}])}
    settings.update({k: v for k, v in (("above", above), ("below", below)) if v is not None})
    denominator = rule.number("min_denominator")
    if denominator and denominator > 1:
        settings["min_total"] = int(denominator)
    draft.source_config.update(mode="percentage", percentage=settings)
    _group(rule, draft, rule.fields("query_key"))
    _min_doc_count(rule, draft)
    limits = _limits(below, above)
    draft.title = (
        _label(draft.key_fields)
        + f"{{{{ percentage | round(2) }}}}% of {{{{ total }}}} match ({limits})"
    )
    draft.renames.update({"denominator": "total"})


def convert_spike(rule: RuleReader, draft: Draft) -> None:
    draft.per_document = False
    draft.lookback = rule.duration("timeframe", required=True) or DEFAULT_BUFFER
    height = rule.number("spike_height", required=True)
    direction = rule.text("spike_type", required=True)
    if direction not in (None, "up", "down", "both"):
        rule.error("spike_type", f"must be up, down or both, not {direction!r}")
    spike: dict[str, Any] = {"height": height or 1, "direction": direction or "both"}
    for ours, theirs in (("min_current", "threshold_cur"), ("min_reference", "threshold_ref")):
        if (value := rule.number(theirs)) is not None:
            spike[ours] = value
    value_field = rule.text("field_value")
    metric = _metric(rule, required=False)
    if value_field and not metric:
        metric = {"agg": "avg", "field": value_field}
    spike.update(metric)
    draft.source_config.update(mode="spike", spike=spike)
    _group(rule, draft, rule.fields("query_key"))
    _min_doc_count(rule, draft)
    if rule.take("alert_on_new_data") is not None:
        draft.notes.append("alert_on_new_data: 411 compares every group at every run")
    what = f"{metric['agg']} of {metric['field']}" if metric else "events"
    draft.title = (
        _label(draft.key_fields)
        + f"{what}: {{{{ current }}}} in {compact_duration(draft.lookback)}, "
        + "{{ reference }} before"
    )
    draft.renames.update({"spike_count": "current", "reference_count": "reference"})
    _unused_query_options(rule, draft)


def convert_new_term(rule: RuleReader, draft: Draft) -> None:
    draft.lookback = _buffer(rule)
    raw_fields = rule.take("fields") or rule.take("query_key")
    if raw_fields is None:
        rule.error("fields", "is required (or query_key)")
        return
    since = rule.duration("terms_window_size") or DEFAULT_TERMS_WINDOW
    draft.source_config.update(
        mode="new_terms",
        new_terms={"fields": _as_list(raw_fields), "since": compact_duration(since)},
    )
    for name in ("window_step_size", "use_terms_query", "use_keyword_postfix", "terms_size"):
        if rule.take(name) is not None:
            draft.notes.append(f"{name}: 411 asks Elasticsearch for the earlier terms at each run")
    if rule.take("alert_on_missing_field") is not None:
        draft.notes.append("alert_on_missing_field: documents without the field are not alerted")
    entries = _as_list(raw_fields)
    if len(entries) == 1:  # one field (or fields taken together): name them and their values
        names = _as_list(entries[0])
        draft.title = f"new {', '.join(names)}: " + " ".join(
            "{{ fields[" + repr(n) + "] }}" for n in names
        )
    else:
        draft.title = "new {{ new_field }}"


def convert_change(rule: RuleReader, draft: Draft) -> None:
    draft.lookback = _buffer(rule)
    compare = rule.fields("compare_key", required=True)
    keys = rule.fields("query_key", required=True)
    ignore_null = rule.require("ignore_null") is True
    within = rule.duration("timeframe")
    change: dict[str, Any] = {"fields": compare, "ignore_null": ignore_null}
    if within:
        change["within"] = compact_duration(within)
    draft.source_config.update(mode="change", group_by=keys, change=change)
    draft.key_fields = keys
    draft.notes.append(
        "change: the previous value is looked for up to 30d back (within: timeframe, when "
        "given), where ElastAlert remembers it from the time it started"
    )
    changed = ", ".join(compare)
    draft.title = _label(keys) + f"{changed}: {{{{ old_value }}}} -> {{{{ new_value }}}}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


CONVERTERS: dict[str, Callable[[RuleReader, Draft], None]] = {
    "any": convert_any,
    "blacklist": convert_blacklist,
    "whitelist": convert_whitelist,
    "frequency": convert_frequency,
    "flatline": convert_flatline,
    "cardinality": convert_cardinality,
    "metric_aggregation": convert_metric,
    "percentage_match": convert_percentage,
    "spike": convert_spike,
    "spike_aggregation": convert_spike,
    "new_term": convert_new_term,
    "change": convert_change,
}
