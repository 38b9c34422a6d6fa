"""ElastAlert2 rule files to 411 searches on the elasticsearch source.

One rule file is one rule. What every rule type shares is carried here: ``name``,
``description``, ``index`` (strftime patterns become wildcards), ``timestamp_field``,
``filter`` (``elastalert_filters``), ``query_key``, ``realert`` (renotify),
``run_every`` (schedule), ``query_delay`` (delay), ``aggregation``, ``priority``,
``is_enabled``, ``alert_subject``/``alert_text`` with their args (Jinja title and
body, ``elastalert_text``), and ``import`` (a base rule file). The rule type's own
settings are read by ``elastalert_types``. Alerters (email, Jira, PagerDuty...)
become the Slack channel and owner given on the command line. Every setting left
unread is listed for the rule as not carried over; a rule with a problem is not
converted and each problem names its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.definitions.search import DefinitionError, parse_definition
from bot.definitions.yaml_files import yaml_files
from bot.rule_import.elastalert_filters import FilterError, convert_filters, query_settings
from bot.rule_import.elastalert_rule import RuleReader
from bot.rule_import.elastalert_text import (
    FIELDS_LISTING,
    MISSING,
    TextError,
    format_template,
    jinja_text,
)
from bot.rule_import.elastalert_types import CONVERTERS, Draft
from bot.rule_import.options import ImportOptions
from bot.rule_import.report import ConversionReport, Converted, NotConverted
from searches.durations import compact_duration

PRIORITY = {0: "critical", 1: "high", 2: "medium"}  # ElastAlert's priority: 1 is the highest
MAX_IMPORT_DEPTH = 5
# Settings of ElastAlert's alerters: the alert goes to Slack instead (--channel, --owner).
ALERTER_PREFIXES = (
    "alerta", "alertmanager", "aws_", "bcc", "boto_profile", "cc", "chatwork", "command",
    "datadog", "debug", "dingtalk", "discord", "email", "exotel", "flashduty", "from_addr",
    "gelf", "gitter", "googlechat", "hive", "http_post", "iris", "jira", "lark", "line_",
    "mattermost", "matrixhookshot", "ms_teams", "notify_email", "opsgenie", "pagerduty",
    "pagertree", "pipe_", "pushover", "replace_dots_in_field_names", "rocket_chat",
    "servicenow", "ses_", "slack", "smtp", "sns_", "stomp", "teams", "telegram",
    "tencent_sms", "thehive", "twilio", "victorops", "webex", "workwechat", "yzj", "zabbix",
)  # fmt: skip


def convert_paths(paths: Iterable[str | Path], options: ImportOptions) -> ConversionReport:
    """Every rule file named, or found in the folders named; never stops at a bad one."""
    report = ConversionReport()
    names: dict[str, str] = {}
    for path in yaml_files(paths):
        outcome = convert_file(path, options)
        if isinstance(outcome, Converted):
            taken = names.get(outcome.definition.name)
            if taken is not None:
                reason = f"name: {outcome.definition.name!r} is also the name of {taken}"
                report.failed.append(NotConverted(str(path), outcome.definition.name, reason))
                continue
            names[outcome.definition.name] = str(path)
            report.converted.append(outcome)
        else:
            report.failed.append(outcome)
    return report


def convert_file(path: Path, options: ImportOptions) -> Converted | NotConverted:
    try:
        raw = _load(path, depth=0)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        return NotConverted(str(path), path.stem, f"cannot read: {_one_line(exc)}")
    return convert_rule(raw, str(path), options, default_name=path.stem)


def _load(path: Path, depth: int) -> dict[str, Any]:
    """The rule in ``path``, over the rule file it names in ``import`` (ElastAlert's inheritance)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("a rule file must hold one mapping of settings")
    base = raw.pop("import", None)
    if base is None:
        return raw
    if depth >= MAX_IMPORT_DEPTH:
        raise ValueError(f"import: more than {MAX_IMPORT_DEPTH} levels of imports")
    merged: dict[str, Any] = {}
    for name in base if isinstance(base, list) else [base]:
        merged.update(_load(path.parent / str(name), depth + 1))
    return {**merged, **raw}


def convert_rule(
    raw: Mapping[str, Any], where: str, options: ImportOptions, *, default_name: str = "rule"
) -> Converted | NotConverted:
    rule = RuleReader(raw)
    name = rule.text("name") or default_name
    kind = rule.text("type", required=True)
    if kind is not None and kind not in CONVERTERS:
        known = ", ".join(CONVERTERS)
        reason = (
            f"type: {kind!r} is not convertible (a custom rule type is Python code); known: {known}"
        )
        return NotConverted(where, name, reason)
    rule.kind = kind
    draft = Draft(source_config=_source_config(rule, options))
    filters = _filters(rule, "filter")
    if kind is not None:
        CONVERTERS[kind](rule, draft)
    draft.source_config.update(query_settings(filters + draft.clauses))
    search = _search(rule, draft, name, options)
    notes = draft.notes + _not_carried(rule)
    if rule.problems:
        return NotConverted(where, name, "; ".join(rule.problems))
    try:
        definition = parse_definition(search)
    except DefinitionError as exc:
        return NotConverted(where, name, str(exc))  # "field: message; ..."
    return Converted(where, definition, tuple(notes))


def _source_config(rule: RuleReader, options: ImportOptions) -> dict[str, Any]:
    index = rule.text("index", required=True) or ""
    strftime = rule.take("use_strftime_index", False) is True
    if "%" in index:
        pattern = re.sub(r"\*(?:[-._]*\*)+", "*", re.sub(r"%[a-zA-Z]", "*", index))
        how = "" if strftime else " (use_strftime_index is not set: ElastAlert reads it literally)"
        rule.notes.append(f"index: {index} is queried as the pattern {pattern}{how}")
        index = pattern
    config = options.source_config(index)
    time_field = rule.text("timestamp_field")
    if time_field and time_field != "@timestamp":
        config["time_field"] = time_field
    kind = rule.text("timestamp_type")
    if kind and kind.lower() != "iso":
        rule.notes.append(
            f"timestamp_type: {kind}: 411 queries {time_field or '@timestamp'} as a date field "
            "(map it as a date, with its epoch format, in Elasticsearch)"
        )
    return config


def _filters(rule: RuleReader, name: str) -> list[dict[str, Any]]:
    try:
        converted = convert_filters(rule.take(name), name)
    except FilterError as exc:
        rule.error(exc.where, str(exc).removeprefix(f"{exc.where}: "))
        return []
    rule.notes.extend(converted.notes)
    return converted.clauses


def _search(rule: RuleReader, draft: Draft, name: str, options: ImportOptions) -> dict[str, Any]:
    search: dict[str, Any] = {
        "name": name,
        "description": rule.text("description") or "",
        "source": "elasticsearch",
        "source_config": draft.source_config,
        **options.search_fields(),
        "lookback": compact_duration(draft.lookback),
        "condition": draft.condition,
        "key_fields": draft.key_fields,
        "auto_resolve": draft.auto_resolve,
    }
    run_every = rule.duration("run_every")
    if run_every:
        search["schedule"] = f"every {compact_duration(run_every)}"
    if (delay := rule.duration("query_delay")) is not None:
        search["delay"] = compact_duration(delay)
    if (realert := rule.duration("realert")) is not None:
        search["renotify"] = compact_duration(realert) if realert else "never"
    if rule.take("is_enabled") is False:
        search["enabled"] = False
    priority = rule.take("priority")
    if isinstance(priority, int) and not isinstance(priority, bool):
        search["priority"] = PRIORITY.get(priority, "low")
    _aggregation(rule, draft, search)
    _alerters(rule, draft)
    search["title"], search["body"] = _templates(rule, draft)
    return search


def _aggregation(rule: RuleReader, draft: Draft, search: dict[str, Any]) -> None:
    """ElastAlert's aggregation: the matches of a period sent together, as one alert."""
    raw = rule.take("aggregation")
    key = rule.fields("aggregation_key")
    if raw is None:
        return
    if not draft.per_document:
        draft.notes.append(
            "aggregation: this search already makes one alert per group and adds repeats to it"
        )
        return
    if isinstance(raw, Mapping) and "schedule" in raw:
        search["schedule"] = str(raw["schedule"])
        period = f"each period of the cron schedule {raw['schedule']}"
    else:
        seconds = rule.seconds_of("aggregation", raw)
        if not seconds:
            return
        search["schedule"] = f"every {compact_duration(seconds)}"
        period = f"every {compact_duration(seconds)}"
    search["condition"], search["key_fields"] = "count > 0", key
    by = f" per {', '.join(key)}" if key else ""
    draft.notes.append(f"aggregation: the run {period} makes one alert{by} of all its matches")


def _alerters(rule: RuleReader, draft: Draft) -> None:
    alert = rule.take("alert")
    names = alert if isinstance(alert, list) else [alert] if alert else []
    settings = [k for k in rule.unused() if str(k).startswith(ALERTER_PREFIXES)]
    rule.used.update(settings)
    if names or settings:
        listed = ", ".join(str(n) for n in names) or "none"
        draft.notes.append(
            f"alert ({listed}): 411 alerts in Slack, in the channel and for the owner given "
            "with --channel and --owner"
            + (f"; alerter settings not carried: {', '.join(settings)}" if settings else "")
        )


def _templates(rule: RuleReader, draft: Draft) -> tuple[str, str]:
    kind = rule.text("alert_text_type")
    missing = rule.text("alert_missing_value") or MISSING
    root = rule.text("jinja_root_name") or "_data"
    if kind == "alert_text_jinja":
        title = jinja_text(rule.text("alert_subject") or "", root) or draft.title
        return title, jinja_text(rule.text("alert_text") or "", root)
    title = _formatted(rule, draft, "alert_subject", rule.take("alert_subject_args"), missing)
    args = rule.take("alert_text_args") or rule.take("alert_text_kw")
    body = _formatted(rule, draft, "alert_text", args, missing)
    if body and kind not in ("alert_text_only", "exclude_fields"):
        body += "\n" + FIELDS_LISTING  # ElastAlert's default text lists the match's fields
    if kind == "aggregation_summary_only":
        body = ""
    return title or draft.title, body


def _formatted(rule: RuleReader, draft: Draft, name: str, args: Any, missing: str) -> str:
    text = rule.text(name)
    if not text:
        return ""
    try:
        return format_template(text, args, rule.raw, draft.renames, missing)
    except TextError as exc:
        rule.error(name, str(exc))
        return ""


# Why some settings ElastAlert rules often carry have no place in a 411 search.
WHY_NOT = {
    "include": "411 keeps the whole document",
    "include_match_in_root": "411 templates see the document's fields anyway",
    "generate_kibana_discover_url": "use the elasticsearch source's link_template",
    "owner": "the owner is the Slack user given with --owner",
    "category": "411 has no category",
    "buffer_time": "the statistic is computed over each whole timeframe",
}


def _not_carried(rule: RuleReader) -> list[str]:
    unused = rule.unused()
    notes = list(rule.notes)
    notes += [f"{key}: {WHY_NOT[key]}" if key in WHY_NOT else key for key in unused]
    return notes


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
