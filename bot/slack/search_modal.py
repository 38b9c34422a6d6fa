"""The search modal (create and edit): every field of a definition, errors shown per field.

Block ids are the definition's own (short) field names, so ``parse_definition``'s
field errors map straight back onto the inputs: ``response_action: errors``. The
source's settings are that source's own fields (``search_modal_sources``), swapped
in when another source is chosen; people and channels are picked from menus, user
groups from the workspace's list; privileged sources are offered to admins only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from slack_sdk.errors import SlackApiError

from bot.alerts.permissions import Directory, is_admin
from bot.config import Settings
from bot.definitions.search import (
    DefinitionError,
    SearchDefinition,
    definition_to_dict,
    parse_definition,
)
from bot.messages.blocks import Block, plain_text
from bot.messages.ids import CallbackId
from bot.models import Priority
from bot.slack import search_modal_sources as sources_form
from bot.slack.alert_modals import value_of
from bot.slack.search_modal_sources import MORE
from bot.text.escape import plain
from searches.base import FieldError


@dataclass(frozen=True)
class Field:
    block: str
    label: str
    hint: str = ""
    optional: bool = True
    multiline: bool = False
    kind: str = "text"  # text | source | more | priority | channel | user | users | group | flag


FIELDS = [
    Field("name", "Name", "One line; must be unique.", optional=False),
    Field("description", "Description", multiline=True),
    Field(
        "source", "Source", "Choosing one shows its own settings.", optional=False, kind="source"
    ),
    Field(MORE, "More settings (YAML)", multiline=True, kind="more"),
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
    Field("oncall_group", "On-call user group", "Mentioned on escalation.", kind="group"),
    Field(
        "restricted_to",
        "Restricted to",
        "The people who may act on alerts; empty: anyone in the channel.",
        kind="users",
    ),
    Field("renotify", "Notify again every", "e.g. 4h, or never."),
    Field("autoclose", "Close alerts not seen for", "e.g. 7d, or never."),
    Field("timeout", "Timeout", "e.g. 60s."),
    Field("failure_threshold", "Tell the owner after N failed runs"),
    Field("max_catchup", "Catch up at most", "e.g. 1d."),
    Field("options", "Options", kind="flag"),
]
WHY = Field("why", "Why this change", "Kept in the search's history.", multiline=True)
BLOCKS = {f.block for f in FIELDS}
FLAGS = [("enabled", "Enabled"), ("auto_resolve", "Resolve alerts when the condition clears")]


@dataclass(frozen=True)
class ModalChoices:
    """What the menus offer this person: sources they may use, clusters, user groups."""

    sources: list[str]
    clusters: list[str] = field(default_factory=list)
    usergroups: list[tuple[str, str]] = field(default_factory=list)  # (id, handle)
    descriptions: dict[str, str] = field(default_factory=dict)  # source -> what it reads


def _initial_text(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _option(text: str, value: str) -> Block:
    return {"text": plain_text(text, 75), "value": value}


def _menu(action_id: str, choices: list[tuple[str, str]], initial: str | None) -> Block:
    """A static menu of (label, value) pairs, ``initial`` picked when it is one of them."""
    options = [_option(label, value) for label, value in choices[:100]]
    element: Block = {"type": "static_select", "action_id": action_id, "options": options}
    picked = [o for o in options if o["value"] == initial]
    if picked:
        element["initial_option"] = picked[0]
    return element


def _text_input(action_id: str, initial: str | None, multiline: bool) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:3000]
    return element


def _element(field: Field, values: dict[str, Any], choices: ModalChoices) -> Block:
    initial = _initial_text(values, field.block)
    if field.kind == "source":
        # A search being edited keeps showing its source, even one this person may not
        # choose (saving it is then refused on this field, with the reason).
        offered = choices.sources + (
            [initial] if initial and initial not in choices.sources else []
        )
        return _menu(field.block, [(n, n) for n in offered], initial)
    if field.kind == "more":
        source = values.get("source")
        _shown, rest = sources_form.split_config(source, dict(values.get("source_config") or {}))
        return _text_input(field.block, sources_form.dump_more(rest), True)
    if field.kind == "priority":
        chosen = initial or Priority.MEDIUM.value
        return _menu(field.block, [(p.value.title(), p.value) for p in Priority], chosen)
    if field.kind == "channel":
        element: Block = {"type": "conversations_select", "action_id": field.block}
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
    if field.kind == "users" and all(str(v).startswith("U") for v in values.get(field.block) or []):
        element = {"type": "multi_users_select", "action_id": field.block}
        if values.get(field.block):
            element["initial_users"] = list(values[field.block])
        return element
    if field.kind == "group" and choices.usergroups:
        groups = [(f"@{handle}", group_id) for group_id, handle in choices.usergroups]
        return _menu(field.block, groups, initial)
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
    return _text_input(field.block, initial, field.multiline)


def _input(block_id: str, label: str, element: Block, hint: str, optional: bool) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain_text(label, 2000),
        "element": element,
    }
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def _source_blocks(values: dict[str, Any], choices: ModalChoices) -> list[Block]:
    """The chosen source's own settings, one input each."""
    source = values.get("source")
    config = dict(values.get("source_config") or {})
    blocks = []
    for item in sources_form.form_of(source):
        action = sources_form.PREFIX + item.key
        current = sources_form.shown(item, config.get(item.key))
        if item.clusters and choices.clusters:
            element = _menu(action, [(c, c) for c in choices.clusters], current or "default")
        elif item.choices:
            element = _menu(action, [(c, c) for c in item.choices], current or item.choices[0])
        else:
            element = _text_input(action, current, item.multiline)
        blocks.append(_input(action, item.label, element, item.hint, item.optional))
    return blocks


def search_modal(
    choices: ModalChoices,
    defn: SearchDefinition | None = None,
    *,
    search_id: int | None = None,
    channel: str | None = None,
    values: dict[str, Any] | None = None,
) -> Block:
    """The create modal (``defn`` None, or defaults) or the edit modal of search ``search_id``.

    ``values`` (raw, as typed) rebuild a modal whose source was just changed.
    """
    if values is None:
        values = (
            definition_to_dict(defn)
            if defn
            else {"schedule": "every 5m", "lookback": "15m", "condition": "any"}
        )
    if not values.get("source") and choices.sources:
        values = {**values, "source": choices.sources[0]}
    blocks: list[Block] = []
    for item in FIELDS:
        hint = item.hint
        if item.kind == "more":
            blocks += _source_blocks(values, choices)
            description = choices.descriptions.get(str(values.get("source")), "")
            hint = sources_form.more_hint(values.get("source"), description)
        element = _element(item, values, choices)
        block = _input(item.block, item.label, element, hint, item.optional)
        if item.kind == "source":
            block["dispatch_action"] = True  # choosing a source swaps in its settings
        blocks.append(block)
    editing = search_id is not None
    if editing:
        blocks.append(
            _input(WHY.block, WHY.label, _text_input(WHY.block, None, True), WHY.hint, True)
        )
    return {
        "type": "modal",
        "callback_id": CallbackId.SEARCH_EDIT if editing else CallbackId.SEARCH_CREATE,
        "title": plain_text("Edit search" if editing else "New search", 24),
        "submit": plain_text("Save" if editing else "Create", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": json.dumps(
            {"search_id": search_id, "channel": channel, "source": values.get("source")}
        ),
        "blocks": blocks,
    }


class ModalErrors(Exception):
    """Per-block messages for ``response_action: errors``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def block_for(field_name: str, source: str | None = None) -> str:
    """The input a field error belongs on (``source_config.index`` on the index field)."""
    head, _, rest = field_name.partition(".")
    if head in ("source_config", "config") and rest:
        key = rest.split(".")[0]
        if any(item.key == key for item in sources_form.form_of(source)):
            return sources_form.PREFIX + key
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


def raw_from_view(view: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The submitted values as the raw mapping ``parse_definition`` reads.

    ``lenient``: YAML that does not parse is left out instead of refused (while
    the modal is being rebuilt for another source, nothing is submitted yet).
    """
    raw: dict[str, Any] = {}
    for item in FIELDS:
        value = value_of(view, item.block)
        if item.kind == "flag":
            picked = set(value or [])
            raw.update({name: name in picked for name, _ in FLAGS})
        elif item.kind == "more":
            try:
                raw["source_config"] = _more_settings(value)
            except ModalErrors:
                if not lenient:
                    raise
                raw["source_config"] = {}
        elif value not in (None, "", []):
            raw[item.block] = value
    config = raw.setdefault("source_config", {})
    for form_field in sources_form.form_of(raw.get("source")):
        value = value_of(view, sources_form.PREFIX + form_field.key)
        if value not in (None, "", []):
            config[form_field.key] = sources_form.read(form_field, value)
    if not config:
        del raw["source_config"]
    return raw


def _more_settings(value: str | None) -> dict[str, Any]:
    if not value or not value.strip():
        return {}
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ModalErrors({MORE: f"not valid YAML: {plain(exc, 200)}"}) from None
    if not isinstance(parsed, dict):
        raise ModalErrors({MORE: "must be a mapping of settings (key: value lines)"})
    return parsed


def why_of(view: dict[str, Any]) -> str | None:
    """The "why" the author gave for an edit (the revision's reason), if any."""
    value = value_of(view, WHY.block)
    return value.strip()[:500] if isinstance(value, str) and value.strip() else None


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
        raise ModalErrors(errors_by_block(exc.errors, raw.get("source"))) from None


def errors_by_block(field_errors: list[FieldError], source: str | None = None) -> dict[str, str]:
    """Each error on the input of its field (several on one input are joined)."""
    errors: dict[str, str] = {}
    for error in field_errors:
        block = block_for(error.field, source)
        message = error.message if block == error.field else f"{error.field}: {error.message}"
        errors[block] = f"{errors[block]}; {message}" if block in errors else message
    return {k: v[:2000] for k, v in errors.items()}


def modal_choices(
    settings: Settings, directory: Directory, client: Any, user_id: str
) -> ModalChoices:
    """The menus for ``user_id``: privileged sources only for admins, clusters, user groups."""
    from searches.registry import load_sources

    sources = load_sources()
    admin = is_admin(settings, directory, user_id)
    allowed = [name for name, source in sources.items() if admin or not source.privileged]
    return ModalChoices(
        sources=allowed,
        clusters=list(getattr(settings, "clusters", {}) or {}),
        usergroups=_usergroups(client),
        descriptions={name: sources[name].description for name in allowed},
    )


def _usergroups(client: Any) -> list[tuple[str, str]]:
    """The workspace's user groups; none when the app may not list them (a text input then)."""
    try:
        answer = client.usergroups_list()
    except SlackApiError:
        return []
    groups = answer.get("usergroups") or []
    return [(g["id"], g.get("handle") or g.get("name") or g["id"]) for g in groups if g.get("id")]
