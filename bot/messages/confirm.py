"""Block Kit ``confirm`` dialogs: consequential one-click actions ask first.

Slack shows the dialog before it sends the action, so nothing reaches the bot until the
person confirms. Used on: taking or reassigning an alert someone holds, the burst's
"Resolve all" / "Snooze all", and deleting a search.
"""

from __future__ import annotations

from typing import Any

from bot.models import Alert
from bot.text.escape import mention_user, plain
from bot.text.refs import Ref

Block = dict[str, Any]


def confirm_dialog(title: str, text: str, yes: str, *, danger: bool = True) -> Block:
    """``text`` is mrkdwn the caller escaped; the labels are plain text."""
    dialog: Block = {
        "title": {"type": "plain_text", "text": plain(title, 100)},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": plain(yes, 30)},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def take_from(alert: Alert) -> Block:
    """Asked before taking (or reassigning) an alert that someone holds."""
    return confirm_dialog(
        f"Take {Ref.ALERT(alert.id)} from its holder?",
        f"{mention_user(alert.assignee)} has {Ref.ALERT(alert.id)}. "
        "Take it from them? The thread will say so.",
        "Take it",
        danger=False,
    )


def reassign(alert: Alert) -> Block:
    return confirm_dialog(
        f"Reassign {Ref.ALERT(alert.id)}?",
        f"{mention_user(alert.assignee)} has {Ref.ALERT(alert.id)}. Give it to someone else?",
        "Reassign",
        danger=False,
    )


def bulk(verb: str, count: int) -> Block:
    noun = f"{count} alert{'s' if count != 1 else ''}"
    return confirm_dialog(
        f"{verb} all?", f"{verb} all {noun} of this burst at once?", f"{verb} all"
    )
