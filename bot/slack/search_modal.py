"""The search modal (create and edit): every field of a definition, errors shown per field.

Block ids are the definition's own (short) field names, so ``parse_definition``'s
field errors map straight back onto the inputs: ``response_action: errors``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from bot.definitions.search import (
    DefinitionError,
    SearchDefinition,
    definition_to_dict,
    parse_definition,
)
from bot.models import Priority
from bot.slack.alert_modals import value_of
from bot.slack.blocks import Block, plain_text
from bot.slack.ids import CallbackId
from bot.text.escape import plain
from searches.base import FieldError


@dataclass(frozen=True)
class Field:
    block: str
    label: str
    hint: str = ""
    optional: bool = True
    multiline: bool = False
    kind: str = "text"  # text | source | priority | channel | user | flag


FIELDS = [
    Field("name", "Name", "One line; must be unique.", optional=False),
    Field("description", "Description", multiline=True),
    Field("source", "Source", optional=False, kind="source"),
    Field(
        "source_config",
        "Source settings (YAML)",
        "e.g. index: logs-*  query: 'event:login AND outcome:failure'",
        multiline=True,
    ),
    Field(
        "schedule", "Schedule", "`every 5m` or a cron expression like `*/5 * * * *`", optional=False
    ),
    Field("lookback", "Look back", "How far each run looks back, e.g. 15m."),
    Field("delay", "Delay", "Wait for late-indexed documents, e.g. 1m."),
    Field("condition", "Condition", "`any`, or `count > 10`, `count < 1`…"),
    Field("key_fields", "Key fields", "Comma-separated fields that make one alert."),
    Field("priority", "Priority", kind="priority"),
    Field("tags", "Tags", "Comma-separated."),
    Field("title", "Title template", "Jinja, e.g. {{ user }} failed to log in"),
    Field("body", "Body template", multiline=True),
    Field("link", "Link template", "A URL back to the raw data (Jinja)."),
    Field("runbook_url", "Runbook URL"),
    Field("channel", "Alert channel", kind="channel"),
    Field("owner", "Owner", kind="user"),
    Field("oncall_group", "On-call user group ID", "S0123…; mentioned on escalation."),
    Field(
        "restricted_to",
        "Restricted to",
        "User or group IDs who may act on alerts; empty: the channel.",
    ),
    Field("renotify", "Notify again every", "e.g. 4h, or never."),
    Field("autoclose", "Close alerts not seen for", "e.g. 7d, or never."),
    Field("timeout", "Timeout", "e.g. 60s."),
    Field("failure_threshold", "Tell the owner after N failed runs"),
    Field("max_catchup", "Catch up at most", "e.g. 1d."),
    Field("options", "Options", kind="flag"),
]
BLOCKS = {f.block for f in FIELDS}
FLAGS = [("enabled", "Enabled"), ("auto_resolve", "Resolve alerts when the condition clears")]


def _initial_text(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None or value == "" or value == []:
        return None
    if name == "source_config":
        return yaml.safe_dump(value, sort_keys=False).strip() if value else None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _option(text: str, value: str) -> Block:
    return {"text": plain_text(text, 75), "value": value}


def _element(field: Field, values: dict[str, Any], sources: list[str]) -> Block:
    initial = _initial_text(values, field.block)
    element: Block
    options: list[Block]
    if field.kind == "source":
        options = [_option(name, name) for name in sources[:100]]
        element = {"type": "static_select", "action_id": field.block, "options": options}
        if initial in sources:
            element["initial_option"] = _option(initial, initial)
        return element
    if field.kind == "priority":
        options = [_option(p.value.title(), p.value) for p in Priority]
        chosen = initial or Priority.MEDIUM.value
        return {
            "type": "static_select",
            "action_id": field.block,
            "options": options,
            "initial_option": _option(chosen.title(), chosen),
        }
    if field.kind == "channel":
        element = {"type": "conversations_select", "action_id": field.block}
        if initial:
            element["initial_conversation"] = initial
        else:
            element["default_to_current_conversation"] = True
        return element
    if field.kind == "user":
        element = {"type": "users_select", "action_id": field.block}
        if initial:
            element["initial_user"] = initial
        return element
    if field.kind == "flag":
        options = [_option(label, name) for name, label in FLAGS]
        picked = [
            o
            for o, (name, _label) in zip(options, FLAGS, strict=True)
            if values.get(name, name == "enabled")
        ]
        element = {"type": "checkboxes", "action_id": field.block, "options": options}
        if picked:
            element["initial_options"] = picked
        return element
    element = {"type": "plain_text_input", "action_id": field.block, "multiline": field.multiline}
    if initial:
        element["initial_value"] = initial[:3000]
    return element


def search_modal(
    sources: list[str],
    defn: SearchDefinition | None = None,
    *,
    search_id: int | None = None,
    channel: str | None = None,
) -> Block:
    """The create modal (``defn`` None, or defaults) or the edit modal of search ``search_id``."""
    values: dict[str, Any] = (
        definition_to_dict(defn)
        if defn
        else {"schedule": "every 5m", "lookback": "15m", "condition": "any"}
    )
    blocks: list[Block] = []
    for field in FIELDS:
        block: Block = {
            "type": "input",
            "block_id": field.block,
            "optional": field.optional,
            "label": plain_text(field.label, 2000),
            "element": _element(field, values, sources),
        }
        if field.hint:
            block["hint"] = plain_text(field.hint, 2000)
        blocks.append(block)
    editing = search_id is not None
    return {
        "type": "modal",
        "callback_id": CallbackId.SEARCH_EDIT if editing else CallbackId.SEARCH_CREATE,
        "title": plain_text("Edit search" if editing else "New search", 24),
        "submit": plain_text("Save" if editing else "Create", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": json.dumps({"search_id": search_id, "channel": channel}),
        "blocks": blocks,
    }


class ModalErrors(Exception):
    """Per-block messages for ``response_action: errors``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def block_for(field_name: str) -> str:
    head = field_name.split(".")[0]
    aliases = {
        "title_template": "title",
        "body_template": "body",
        "link_template": "link",
        "runbook": "runbook_url",
        "lookback_seconds": "lookback",
        "delay_seconds": "delay",
        "renotify_seconds": "renotify",
        "autoclose_seconds": "autoclose",
        "timeout_seconds": "timeout",
        "max_catchup_seconds": "max_catchup",
        "condition_op": "condition",
        "condition_threshold": "condition",
        "config": "source_config",
        "auto_resolve": "options",
        "enabled": "options",
    }
    head = aliases.get(head, head)
    return head if head in BLOCKS else "name"


def raw_from_view(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted values as the raw mapping ``parse_definition`` reads."""
    raw: dict[str, Any] = {}
    for field in FIELDS:
        value = value_of(view, field.block)
        if field.kind == "flag":
            picked = set(value or [])
            raw.update({name: name in picked for name, _ in FLAGS})
        elif field.block == "source_config":
            if value and value.strip():
                try:
                    parsed = yaml.safe_load(value)
                except yaml.YAMLError as exc:
                    raise ModalErrors(
                        {"source_config": f"not valid YAML: {plain(exc, 200)}"}
                    ) from None
                if not isinstance(parsed, dict):
                    raise ModalErrors(
                        {"source_config": "must be a mapping of settings (key: value lines)"}
                    )
                raw["source_config"] = parsed
        elif value not in (None, "", []):
            raw[field.block] = value
    return raw


def definition_from_view(
    view: dict[str, Any], *, owner: str, channel: str | None
) -> SearchDefinition:
    raw = raw_from_view(view)
    raw.setdefault("owner", owner)
    if channel:
        raw.setdefault("channel", channel)
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        raise ModalErrors(errors_by_block(exc.errors)) from None


def errors_by_block(field_errors: list[FieldError]) -> dict[str, str]:
    """Each error on the input of its field (several on one input are joined)."""
    errors: dict[str, str] = {}
    for error in field_errors:
        block = block_for(error.field)
        message = error.message if block == error.field else f"{error.field}: {error.message}"
        errors[block] = f"{errors[block]}; {message}" if block in errors else message
    return {k: v[:2000] for k, v in errors.items()}
