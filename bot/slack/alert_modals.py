"""Modals for alert actions: resolve (resolution + note), add a note, custom snooze, resolve a burst.

``private_metadata`` carries the alert (or burst) and the channel the button was
pressed in, as JSON: a view submission has no channel of its own, and the channel
is what the permission rule looks at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.messages.blocks import Block, plain_text
from bot.messages.ids import CallbackId
from bot.models import Alert, Resolution
from bot.text.escape import mention_group, plain
from bot.text.refs import Ref

RESOLUTIONS = [Resolution.ACTION_TAKEN, Resolution.NOT_AN_ISSUE, Resolution.TOO_OLD]


@dataclass(frozen=True)
class Target:
    """What a modal acts on, and where the person pressed the button."""

    id: int
    channel: str | None = None

    def dump(self) -> str:
        return json.dumps({"id": self.id, "channel": self.channel})

    @classmethod
    def load(cls, raw: str) -> Target:
        data = json.loads(raw or "{}")
        return cls(id=int(data["id"]), channel=data.get("channel"))


def _modal(
    callback: CallbackId, title: str, target: Target, blocks: list[Block], submit: str
) -> Block:
    return {
        "type": "modal",
        "callback_id": callback,
        "title": plain_text(title, 24),
        "submit": plain_text(submit, 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": target.dump(),
        "blocks": blocks,
    }


def _note_input(optional: bool, label: str = "Note") -> Block:
    return {
        "type": "input",
        "block_id": "note",
        "optional": optional,
        "label": plain_text(label),
        "element": {
            "type": "plain_text_input",
            "action_id": "note",
            "multiline": True,
            "max_length": 2000,
        },
    }


def _resolution_input() -> Block:
    options = [{"text": plain_text(r.label, 75), "value": r.value} for r in RESOLUTIONS]
    return {
        "type": "input",
        "block_id": "resolution",
        "label": plain_text("Resolution"),
        "element": {
            "type": "radio_buttons",
            "action_id": "resolution",
            "options": options,
            "initial_option": options[0],
        },
    }


def resolve_modal(target: Target, title: str) -> Block:
    intro = {
        "type": "section",
        "text": plain_text(f"Resolve {Ref.ALERT(target.id)}: {plain(title, 200)}"),
    }
    blocks = [intro, _resolution_input(), _note_input(True)]
    return _modal(CallbackId.RESOLVE, "Resolve alert", target, blocks, "Resolve")


def burst_resolve_modal(target: Target, count: int) -> Block:
    intro = {
        "type": "section",
        "text": plain_text(f"Resolve all {count} open alerts of this burst."),
    }
    blocks = [intro, _resolution_input(), _note_input(True)]
    return _modal(CallbackId.BURST_RESOLVE, "Resolve all", target, blocks, "Resolve all")


def note_modal(target: Target) -> Block:
    return _modal(CallbackId.NOTE, "Add a note", target, [_note_input(False)], "Add note")


def snooze_modal(target: Target) -> Block:
    duration = {
        "type": "input",
        "block_id": "duration",
        "label": plain_text("Snooze for"),
        "hint": plain_text("For example 90m, 2h, 3d or 1w."),
        "element": {
            "type": "plain_text_input",
            "action_id": "duration",
            "placeholder": plain_text("2h", 150),
        },
    }
    return _modal(CallbackId.SNOOZE, "Snooze alert", target, [duration], "Snooze")


def value_of(view: dict[str, Any], block: str, action: str | None = None) -> Any:
    """The submitted value of one input, whatever its element type."""
    state = ((view.get("state") or {}).get("values") or {}).get(block) or {}
    element = state.get(action or block) or {}
    for key in (
        "value",
        "selected_user",
        "selected_conversation",
        "selected_channel",
        "selected_date",
    ):
        if element.get(key) is not None:
            return element[key]
    if element.get("selected_option"):
        return element["selected_option"].get("value")
    if "selected_options" in element:
        return [o.get("value") for o in element["selected_options"] or []]
    if "selected_users" in element:
        return element["selected_users"]
    return None


def escalate_modal(target: Target, alert: Alert, oncall_group: str | None) -> Block:
    """Escalating raises the priority and pages the on-call group: it asks first. (It lives
    in the alert's overflow menu, where a ``confirm`` object would ask for every entry.)"""
    after = alert.priority.raised()
    text = f"Raise {Ref.ALERT(alert.id)} from *{alert.priority.value}* to *{after.value}*"
    group = mention_group(oncall_group)
    text += f" and ping {group} in the channel?" if group else "?"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return _modal(CallbackId.ESCALATE, "Escalate?", target, [section], "Escalate")
