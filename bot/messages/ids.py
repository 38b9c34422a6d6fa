"""Action, block and callback IDs: the names Slack sends back when someone clicks.

An alert's buttons carry the alert id in their ``value``; selects (which have no
value of their own) carry it in the ``block_id`` as ``alert:<id>:<n>``.
"""

from __future__ import annotations

import enum
import re


class ActionId(enum.StrEnum):
    TAKE = "alert_take"
    ASSIGN = "alert_assign"
    SNOOZE = "alert_snooze"
    UNSNOOZE = "alert_unsnooze"
    RESOLVE = "alert_resolve"
    REOPEN = "alert_reopen"
    ESCALATE = "alert_escalate"
    NOTE = "alert_note"
    LINK = "alert_link"  # url buttons still send an action that must be acked
    HITS = "alert_hits"  # "Show hits": a modal with the hits behind the alert
    MORE = "alert_more"  # overflow menu: escalate, add note, mute this key
    HITS_PAGE = "alert_hits_page"  # next/previous page inside the hits modal
    QUICK = "alert_quick"  # overflow menu on a burst's thread listing
    BURST_RESOLVE = "burst_resolve"
    BURST_SNOOZE = "burst_snooze"
    HOME_CREATE = "home_create_search"
    HOME_REFRESH = "home_refresh"
    HOME_RESEND = "home_resend_given_up"
    SEARCH_DELETE = "search_delete"


class CallbackId(enum.StrEnum):
    RESOLVE = "alert_resolve_modal"
    NOTE = "alert_note_modal"
    SNOOZE = "alert_snooze_modal"
    BURST_RESOLVE = "burst_resolve_modal"
    MUTE = "alert_mute_modal"
    HITS = "alert_hits_modal"
    ESCALATE = "alert_escalate_modal"
    SEARCH_CREATE = "search_create_modal"
    SEARCH_EDIT = "search_edit_modal"
    SIGMA_IMPORT = "sigma_import_modal"


class MoreChoice(enum.StrEnum):
    """The options of an alert's overflow menu; their value is ``<choice>:<alert id>``."""

    ESCALATE = "escalate"
    NOTE = "note"
    MUTE = "mute"


SNOOZE_CHOICES: list[tuple[str, str]] = [
    ("30 min", "1800"),
    ("1 hour", "3600"),
    ("4 hours", "14400"),
    ("1 day", "86400"),
    ("1 week", "604800"),
    ("Custom…", "custom"),
]

_ALERT_BLOCK = re.compile(r"^alert:(\d+):")
_BURST_BLOCK = re.compile(r"^burst:(\d+):")


def alert_block_id(alert_id: int, part: str) -> str:
    return f"alert:{alert_id}:{part}"


def burst_block_id(delivery_id: int, part: str) -> str:
    return f"burst:{delivery_id}:{part}"


def take_value(alert_id: int, holder: str | None) -> str:
    """A Take button's value: the alert, and who held it when the button was drawn."""
    return f"{alert_id}:{holder}" if holder else str(alert_id)


def holder_from(value: str | None) -> str | None:
    """Who held the alert when its Take button was drawn (None: nobody)."""
    _, _, holder = (value or "").partition(":")
    return holder or None


def alert_id_from(block_id: str | None, value: str | None) -> int | None:
    """The alert an action is about: from the button's value, else from the block id."""
    number = (value or "").partition(":")[0]
    if number.isdigit():
        return int(number)
    match = _ALERT_BLOCK.match(block_id or "")
    return int(match.group(1)) if match else None


def burst_id_from(block_id: str | None, value: str | None) -> int | None:
    if value and value.isdigit():
        return int(value)
    match = _BURST_BLOCK.match(block_id or "")
    return int(match.group(1)) if match else None
