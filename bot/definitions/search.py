"""A search definition: the typed, validated form of what a user writes (YAML, Slack modal).

``parse_definition`` reads human forms ("every 5m", "15m", "high", "count > 5")
and reports every problem at once, each naming its field, so a YAML file or a
modal can show all of them instead of one per attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.definitions import fields as convert
from bot.definitions.redact import plain_secrets, redact_config
from bot.definitions.schedule import parse_schedule
from bot.models.enums import ConditionOp, Priority
from bot.text.templates import check_template
from searches.base import FieldError, SourceConfigError
from searches.durations import compact_duration, parse_duration

if TYPE_CHECKING:
    from bot.models import Search

_SYMBOL_OF = {ConditionOp.GT: ">", ConditionOp.GTE: ">=", ConditionOp.LT: "<"}
_SYMBOL_OF |= {ConditionOp.LTE: "<=", ConditionOp.EQ: "=="}


@dataclass(frozen=True)
class SearchDefinition:
    name: str
    source: str
    source_config: dict[str, Any] = field(default_factory=dict)
    schedule: str = "every 5m"
    description: str = ""
    owner: str | None = None
    channel: str | None = None
    lookback_seconds: int = 900
    delay_seconds: int = 0
    condition_op: ConditionOp = ConditionOp.ANY
    condition_threshold: int = 0
    key_fields: tuple[str, ...] = ()
    priority: Priority = Priority.MEDIUM
    tags: tuple[str, ...] = ()
    title_template: str = ""
    body_template: str = ""
    link_template: str | None = None
    runbook_url: str | None = None
    oncall_group: str | None = None
    restricted_to: tuple[str, ...] = ()
    renotify_seconds: int | None = None
    autoclose_seconds: int | None = None
    auto_resolve: bool = False
    enabled: bool = True
    timeout_seconds: int = 60
    failure_threshold: int = 3
    max_catchup_seconds: int = 86400
    origin: str | None = None  # "sigma:<rule id>": what an import matches a re-import by

    @property
    def condition_text(self) -> str:
        if self.condition_op == ConditionOp.ANY:
            return "any"
        return f"count {_SYMBOL_OF[self.condition_op]} {self.condition_threshold}"


class DefinitionError(ValueError):
    """Every problem found in a definition; each FieldError names its field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


# Short names a user may write, mapped to the dataclass field they fill.
ALIASES = {
    "config": "source_config",
    "lookback": "lookback_seconds",
    "delay": "delay_seconds",
    "key": "key_fields",
    "keys": "key_fields",
    "title": "title_template",
    "body": "body_template",
    "link": "link_template",
    "runbook": "runbook_url",
    "renotify": "renotify_seconds",
    "autoclose": "autoclose_seconds",
    "timeout": "timeout_seconds",
    "max_catchup": "max_catchup_seconds",
}
_FIELD_NAMES = {f.name for f in fields(SearchDefinition)}
# What an error lists: the short names YAML export writes, and fields without one.
KNOWN_NAMES = sorted(
    (set(ALIASES) - {"config", "key", "keys", "runbook"})
    | (_FIELD_NAMES - set(ALIASES.values()) - {"condition_op", "condition_threshold"})
    | {"condition", "key_fields", "source_config", "runbook_url"}
)
_DEFAULTS = SearchDefinition(name="", source="")


class _Reader:
    """Collects values and errors while reading one raw mapping."""

    def __init__(self, raw: Mapping[str, Any]):
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}
        self.written: dict[str, str] = {}  # canonical field -> the key the user wrote
        self.raw: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                self.error(str(key), "field names must be text")
                continue
            canonical = ALIASES.get(key, key)
            if canonical == "condition":
                self.raw["condition"], self.written["condition"] = value, key
            elif canonical not in _FIELD_NAMES:
                self.error(key, f"unknown field; known fields: {', '.join(KNOWN_NAMES)}")
            elif canonical in self.raw:
                self.error(key, f"given twice (also as {self.written[canonical]!r})")
            else:
                self.raw[canonical], self.written[canonical] = value, key

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def label(self, canonical: str) -> str:
        return self.written.get(canonical, canonical)

    def read(self, name: str, convert: Callable[[Any], Any], *, required: bool = False) -> None:
        if name not in self.raw or self.raw[name] is None:
            if required:
                self.error(name, "is required")
            return
        try:
            self.values[name] = convert(self.raw[name])
        except (ValueError, TypeError) as exc:
            self.error(self.label(name), str(exc))


def parse_definition(raw: Mapping[str, Any]) -> SearchDefinition:
    """Validate ``raw`` and return the definition; raise DefinitionError listing every problem."""
    if not isinstance(raw, Mapping):
        raise DefinitionError([FieldError("(search)", "a search must be a mapping of fields")])
    reader = _Reader(raw)
    reader.read("name", convert.as_name, required=True)
    reader.read("source", convert.as_word, required=True)
    reader.read("source_config", convert.as_mapping)
    reader.read("schedule", lambda v: parse_schedule(v).text)
    for text_field in ("description", "title_template", "body_template"):
        reader.read(text_field, convert.as_text)
    for optional_text in ("link_template", "runbook_url"):
        reader.read(optional_text, convert.as_optional_text)
    for id_field in ("owner", "channel", "oncall_group"):
        reader.read(id_field, convert.as_identifier)
    reader.read("lookback_seconds", convert.as_positive_duration)
    reader.read("delay_seconds", parse_duration)
    reader.read("max_catchup_seconds", convert.as_positive_duration)
    reader.read("timeout_seconds", convert.as_timeout)
    reader.read("renotify_seconds", convert.as_optional_duration)
    reader.read("autoclose_seconds", convert.as_optional_duration)
    reader.read("failure_threshold", convert.as_positive_int)
    reader.read("priority", convert.as_priority)
    reader.read("key_fields", convert.as_word_list)
    reader.read("tags", convert.as_word_list)
    reader.read("restricted_to", convert.as_word_list)
    reader.read("auto_resolve", convert.as_boolean)
    reader.read("enabled", convert.as_boolean)
    reader.read("origin", convert.as_identifier)
    _read_condition(reader)
    _check_templates(reader)
    if "source" in reader.values:
        _check_source_config(reader)
    if reader.errors:
        raise DefinitionError(reader.errors)
    return SearchDefinition(**reader.values)


def _read_condition(reader: _Reader) -> None:
    if "condition" in reader.raw:
        label = reader.label("condition")
        if any(k in reader.raw for k in ("condition_op", "condition_threshold")):
            reader.error(label, "give either condition or condition_op/condition_threshold")
            return
        try:
            op, threshold = convert.as_condition(reader.raw["condition"])
        except (ValueError, TypeError) as exc:
            reader.error(label, str(exc))
            return
        reader.values["condition_op"], reader.values["condition_threshold"] = op, threshold
        return
    reader.read("condition_op", convert.as_condition_op)
    reader.read("condition_threshold", convert.as_int)


def _check_templates(reader: _Reader) -> None:
    for name in ("title_template", "body_template", "link_template"):
        source = reader.values.get(name)
        if source and (problem := check_template(source)):
            reader.error(reader.label(name), problem)


def _check_source_config(reader: _Reader) -> None:
    from searches.registry import get_source  # sources are plug-ins, loaded on first use

    try:
        source_class = get_source(reader.values["source"])
    except SourceConfigError as exc:
        reader.errors.extend(FieldError(e.field or "source", e.message) for e in exc.errors)
        return
    try:
        source_class.parse_config(reader.values.get("source_config", {}))
    except SourceConfigError as exc:
        prefix = reader.label("source_config")
        reader.errors.extend(FieldError(f"{prefix}.{e.field}", e.message) for e in exc.errors)


# ------------------------------------------------------------------- export


def definition_to_dict(defn: SearchDefinition, *, compact: bool = False) -> dict[str, Any]:
    """A YAML-ready mapping in the short human forms; ``compact`` leaves out defaults."""
    out: dict[str, Any] = {
        "name": defn.name,
        "description": defn.description,
        "owner": defn.owner,
        "channel": defn.channel,
        "enabled": defn.enabled,
        "source": defn.source,
        "source_config": dict(defn.source_config),
        "schedule": defn.schedule,
        "lookback": compact_duration(defn.lookback_seconds),
        "delay": compact_duration(defn.delay_seconds),
        "condition": defn.condition_text,
        "key_fields": list(defn.key_fields),
        "priority": defn.priority.value,
        "tags": list(defn.tags),
        "title": defn.title_template,
        "body": defn.body_template,
        "link": defn.link_template,
        "runbook_url": defn.runbook_url,
        "oncall_group": defn.oncall_group,
        "restricted_to": list(defn.restricted_to),
        "renotify": compact_duration(defn.renotify_seconds) if defn.renotify_seconds else "never",
        "autoclose": compact_duration(defn.autoclose_seconds)
        if defn.autoclose_seconds
        else "never",
        "auto_resolve": defn.auto_resolve,
        "timeout": compact_duration(defn.timeout_seconds),
        "failure_threshold": defn.failure_threshold,
        "max_catchup": compact_duration(defn.max_catchup_seconds),
        "origin": defn.origin,
    }
    if compact:
        defaults = definition_to_dict(_DEFAULTS)
        keep = {"name", "source", "schedule"}
        out = {k: v for k, v in out.items() if k in keep or (v != defaults[k] and v is not None)}
    return out


def redacted_definition_dict(defn: SearchDefinition, *, compact: bool = False) -> dict[str, Any]:
    """``definition_to_dict`` for showing to people: passwords and auth headers masked.

    Every place that displays a definition (CLI and Slack ``search show``) goes through
    this; exports and revisions keep the real values.
    """
    out = definition_to_dict(defn, compact=compact)
    if "source_config" in out:
        out["source_config"] = redact_config(out["source_config"])
    return out


def secret_warnings(defn: SearchDefinition) -> list[str]:
    """One line per secret written in plain text in the definition, with what to use instead."""
    hint = {"sql": "url_env", "http": "headers_env"}.get(defn.source, "an environment variable")
    return [
        f"search {defn.name!r}: source_config.{path} holds a secret in plain text; consider {hint}"
        for path in plain_secrets(defn.source_config)
    ]


def definition_from_search(search: Search) -> SearchDefinition:
    return SearchDefinition(
        name=search.name,
        source=search.source,
        source_config=dict(search.source_config or {}),
        schedule=search.schedule,
        description=search.description or "",
        owner=search.owner,
        channel=search.channel,
        lookback_seconds=search.lookback_seconds,
        delay_seconds=search.delay_seconds,
        condition_op=ConditionOp(search.condition_op),
        condition_threshold=search.condition_threshold,
        key_fields=tuple(search.key_fields or ()),
        priority=Priority(search.priority),
        tags=tuple(search.tags or ()),
        title_template=search.title_template or "",
        body_template=search.body_template or "",
        link_template=search.link_template,
        runbook_url=search.runbook_url,
        oncall_group=search.oncall_group,
        restricted_to=tuple(search.restricted_to or ()),
        renotify_seconds=search.renotify_seconds,
        autoclose_seconds=search.autoclose_seconds,
        auto_resolve=search.auto_resolve,
        enabled=search.enabled,
        timeout_seconds=search.timeout_seconds,
        failure_threshold=search.failure_threshold,
        max_catchup_seconds=search.max_catchup_seconds,
        origin=search.origin,
    )


def apply_definition(search: Search, defn: SearchDefinition) -> None:
    """Copy every definition field onto the model row."""
    for f in fields(SearchDefinition):
        value = getattr(defn, f.name)
        setattr(search, f.name, list(value) if isinstance(value, tuple) else value)
