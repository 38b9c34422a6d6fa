"""What a user picked, in Slack's shapes: `actions[]` entries and `view.state.values`.

Callers (tests, the page) may give a simple value (`"30m"`, `"U_BOB"`, `["a", "b"]`);
it is expanded using the element's definition, e.g. an option value becomes the full
option object Slack sends. A dict that already has a `type` is passed through.
"""

from __future__ import annotations

import copy
from typing import Any

from standin.model import JSON

SINGLE_OPTION = {"static_select", "external_select", "radio_buttons", "overflow"}
MULTI_OPTION = {"multi_static_select", "multi_external_select", "checkboxes"}
VALUE_KEYS = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


class SelectionError(ValueError):
    """The picked value does not exist in the element (the page could not have sent it)."""


def _all_options(element: JSON) -> list[JSON]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: JSON, picked: Any) -> JSON:
    if isinstance(picked, dict):
        return copy.deepcopy(picked)
    for option in _all_options(element):
        if option.get("value") == picked:
            return {
                k: copy.deepcopy(v)
                for k, v in option.items()
                if k in ("text", "value", "description")
            }
    if element.get("type", "").endswith("external_select"):
        return {"text": {"type": "plain_text", "text": str(picked)}, "value": str(picked)}
    raise SelectionError(f"no option with value {picked!r} in {element.get('action_id')}")


def picked_value(element: JSON, picked: Any) -> JSON:
    """The element's state entry: {"type": ..., "<value key>": ...}."""
    kind = element.get("type", "")
    if isinstance(picked, dict) and "type" in picked:
        return copy.deepcopy(picked)
    entry: JSON = {"type": kind}
    if kind in SINGLE_OPTION:
        entry["selected_option"] = None if picked is None else _option(element, picked)
    elif kind in MULTI_OPTION:
        entry["selected_options"] = [_option(element, p) for p in (picked or [])]
    elif kind in VALUE_KEYS:
        entry[VALUE_KEYS[kind]] = picked
    else:
        entry["value"] = picked
    return entry


def action(block: JSON, element: JSON, picked: Any, action_ts: str) -> JSON:
    """One entry of a block_actions payload's `actions` list."""
    kind = element.get("type", "")
    data: JSON = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "action_ts": action_ts,
    }
    if kind == "button":
        data["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            data["value"] = element["value"]
        if "style" in element:
            data["style"] = element["style"]
        return data
    entry = picked_value(element, picked)
    entry.pop("type", None)
    data.update(entry)
    if "placeholder" in element:
        data["placeholder"] = copy.deepcopy(element["placeholder"])
    return data


def _stateful(block: JSON) -> list[JSON]:
    if block.get("type") == "input":
        element = block.get("element")
        return [element] if isinstance(element, dict) else []
    if block.get("type") == "actions":
        return [e for e in block.get("elements", []) if e.get("type") not in ("button", "overflow")]
    accessory = block.get("accessory")
    if isinstance(accessory, dict) and accessory.get("type") not in ("button", "overflow", "image"):
        return [accessory]
    return []


def _initial(element: JSON) -> Any:
    for key in (
        "initial_value",
        "initial_option",
        "initial_options",
        "initial_user",
        "initial_users",
    ):
        if key in element:
            return element[key]
    for key in ("initial_conversation", "initial_channel", "initial_date", "initial_time"):
        if key in element:
            return element[key]
    return None


def state_values(blocks: list[JSON], given: JSON | None) -> JSON:
    """`state.values` for every stateful element: what was given, else its initial value."""
    given = given or {}
    values: JSON = {}
    for block in blocks:
        block_id = str(block.get("block_id"))
        for element in _stateful(block):
            action_id = element.get("action_id")
            picked = given.get(block_id, {}).get(action_id, _initial(element))
            if isinstance(picked, dict) and "type" not in picked and "value" in picked:
                picked = picked["value"]  # an option object given as the pick
            values.setdefault(block_id, {})[action_id] = picked_value(element, picked)
    return values


def missing_required(blocks: list[JSON], values: JSON) -> dict[str, str]:
    """Errors Slack's client shows itself before it sends a submission."""
    errors: dict[str, str] = {}
    for block in blocks:
        if block.get("type") != "input" or block.get("optional"):
            continue
        element = block.get("element") or {}
        entry = values.get(str(block.get("block_id")), {}).get(element.get("action_id"), {})
        picked = {k: v for k, v in entry.items() if k != "type"}
        if not any(v not in (None, "", []) for v in picked.values()):
            errors[block["block_id"]] = "Please fill out this field."
            continue
        text = entry.get("value")
        if isinstance(text, str):
            low, high = element.get("min_length"), element.get("max_length")
            if low is not None and len(text) < low:
                errors[block["block_id"]] = f"Must have at least {low} characters"
            elif high is not None and len(text) > high:
                errors[block["block_id"]] = f"Must have at most {high} characters"
    return errors
