"""Block Kit builders for an alert's message: built from the alert's state, always in limits.

Everything that came from a search result (title, body, field values, link) is
untrusted: it goes into ``plain_text``, into code spans, or through
``escape_mrkdwn``; mrkdwn that carries data has ``verbatim: true``. The only
control sequences in a message are the ones we write: user mentions of IDs we
stored, the on-call group on escalation and ``<!date^...>`` times.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlparse

from bot.messages import confirm, limits
from bot.messages.alert_fields import alert_fields, chosen_fields, value_text
from bot.messages.ids import SNOOZE_CHOICES, ActionId, MoreChoice, alert_block_id
from bot.messages.pointers import source_pointer
from bot.models import Alert, AlertState, Priority, Resolution, Search
from bot.text.escape import (
    code,
    escape_mrkdwn,
    mention_user,
    plain,
    safe_text,
    slack_date,
    truncate,
)
from bot.text.fields import MISSING, lookup
from bot.text.refs import Ref

Block = dict[str, Any]

PRIORITY_BADGE = {
    Priority.LOW: "⚪ Low",
    Priority.MEDIUM: "🟡 Medium",
    Priority.HIGH: "🟠 High",
    Priority.CRITICAL: "🔴 Critical",
}


@dataclass(frozen=True)
class Message:
    """What chat.postMessage / chat.update get: fallback text and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class Budget:
    """How much of each untrusted value fits; shrunk until the whole message fits."""

    body: int = 2800
    title: int = 1000
    field_value: int = 300
    fields: int = 10


BUDGETS = [Budget(), Budget(1400, 500, 150, 8), Budget(600, 300, 80, 6), Budget(200, 150, 40, 4)]


def mrkdwn(text: str, *, verbatim: bool = True) -> Block:
    return {"type": "mrkdwn", "text": text or " ", "verbatim": verbatim}


def plain_text(text: str, limit: int = limits.MAX_TEXT) -> Block:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def button(
    text: str, action_id: str, value: str = "", *, style: str | None = None, url: str | None = None
) -> Block:
    element: Block = {
        "type": "button",
        "text": plain_text(text, limits.MAX_BUTTON_TEXT),
        "action_id": action_id,
    }
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def option(text: str, value: str) -> Block:
    return {"text": plain_text(text, limits.MAX_OPTION_TEXT), "value": value}


def snooze_select(action_id: str, placeholder: str = "Snooze") -> Block:
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain_text(placeholder, 150),
        "options": [option(label, value) for label, value in SNOOZE_CHOICES],
    }


def safe_url(url: str | None) -> str | None:
    """Only http(s) links of a sane length become buttons; anything else is dropped."""
    if not url or len(url) > limits.MAX_URL:
        return None
    # Characters that do not belong in a URL (spaces, <, >, quotes) are percent-encoded.
    url = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > limits.MAX_URL:
        return None
    return url


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    moment = moment.astimezone(UTC)
    return slack_date(moment.timestamp(), fallback=moment.strftime("%Y-%m-%d %H:%M UTC"))


def is_snoozed(alert: Alert, now: datetime) -> bool:
    return alert.snoozed_until is not None and alert.snoozed_until > now and alert.is_open


class Look(enum.StrEnum):
    """What an alert's first line says before anyone reads further."""

    OPEN = "open"  # nobody has it: loud header block
    ACKNOWLEDGED = "acknowledged"  # 👀 someone has it
    SNOOZED = "snoozed"  # 💤 until a time
    RESOLVED = "resolved"  # ✅ one line, Reopen
    CLEARED = "cleared"  # ✅ the condition cleared by itself


def look(alert: Alert, now: datetime) -> Look:
    if alert.state == AlertState.RESOLVED:
        return Look.CLEARED if alert.resolution == Resolution.CLEARED else Look.RESOLVED
    if is_snoozed(alert, now):
        return Look.SNOOZED
    return Look.ACKNOWLEDGED if alert.assignee else Look.OPEN


def snoozed_until(alert: Alert, now: datetime) -> str:
    """ "14:00" the same day, "Dec 6 14:00" further away, each in the reader's zone."""
    until = (alert.snoozed_until or now).astimezone(UTC)
    fmt = "{time}" if until - now < timedelta(hours=12) else "{date_short_pretty} {time}"
    return slack_date(until.timestamp(), fmt, until.strftime("%Y-%m-%d %H:%M UTC"))


def key_values(alert: Alert, search: Search | None) -> str:
    """The key fields' values, for the one-line forms (resolved, bursts)."""
    content = alert.content if isinstance(alert.content, dict) else {}
    keys = list(search.key_fields) if search and search.key_fields else []
    values = [lookup(content, name) for name in keys]
    shown = [v for v in values if v is not MISSING and v is not None]
    if not shown:
        return escaped_title(alert, 120)
    return " · ".join(code(v if isinstance(v, str) else json.dumps(v), 80) for v in shown)


def state_line(alert: Alert, now: datetime) -> str:
    """The first line of an alert that somebody handled: who, until when, how."""
    current = look(alert, now)
    if current == Look.CLEARED:
        return f"✅ *Cleared* · resolved automatically {when(alert.resolved_at)}"
    if current == Look.RESOLVED:
        how = alert.resolution.label.lower() if alert.resolution else "resolved"
        return f"✅ *Resolved by {mention_user(alert.resolved_by)}* · {how}"
    if current == Look.SNOOZED:
        who = f" · 👀 {mention_user(alert.assignee)}" if alert.assignee else ""
        return f"💤 *until {snoozed_until(alert, now)}*{who}"
    if current == Look.ACKNOWLEDGED:
        return f"👀 *{mention_user(alert.assignee)}*"
    return "🆕 *Open* · nobody has it yet"


def _notes(alert: Alert) -> str:
    parts = []
    if alert.escalated:
        parts.append("⬆️ Escalated")
    if alert.delivery_failed:
        parts.append("⚠️ Some updates could not be delivered")
    return "".join(f" · {part}" for part in parts)


def field_blocks(alert: Alert, search: Search | None, budget: Budget) -> list[Block]:
    """Key fields (🔑) first, then the fields the search chose: leaf values, readable labels."""
    content = alert.content if isinstance(alert.content, dict) else {}
    keys = list(search.key_fields) if search and search.key_fields else []
    shown, hidden = alert_fields(content, keys, chosen_fields(search), budget.fields)
    fields = [
        mrkdwn(
            f"*{safe_text(f.label, 80)}*{' 🔑' if f.key else ''}\n"
            f"{value_text(f.value, budget.field_value)}"
        )
        for f in shown
    ]
    if not fields:
        return []
    blocks: list[Block] = [{"type": "section", "fields": fields}]
    if hidden:
        note = f"{hidden} more field{'s' if hidden != 1 else ''}: *Show hits* has them all"
        blocks.append({"type": "context", "elements": [mrkdwn(note, verbatim=False)]})
    return blocks


MAX_TAGS = 12


def tag_blocks(search: Search | None) -> list[Block]:
    """The search's tags (e.g. ATT&CK ids of an imported Sigma rule) as one context line."""
    tags = list(search.tags or ()) if search else []
    if not tags:
        return []
    shown = " ".join(code(tag, 80) for tag in tags[:MAX_TAGS])
    more = f" +{len(tags) - MAX_TAGS} more" if len(tags) > MAX_TAGS else ""
    return [{"type": "context", "elements": [mrkdwn(f"🏷️ {shown}{more}")]}]


def action_blocks(alert: Alert, search: Search | None, now: datetime) -> list[Block]:
    """Buttons that follow the state: Take it only while nobody has it, Snooze <-> Unsnooze."""
    value = str(alert.id)
    primary: list[Block] = []
    if not alert.assignee:
        primary.append(button("Take it", ActionId.TAKE, value, style="primary"))
    if is_snoozed(alert, now):
        primary.append(button("Unsnooze", ActionId.UNSNOOZE, value))
    else:
        primary.append(snooze_select(ActionId.SNOOZE))
    primary.append(button("Resolve", ActionId.RESOLVE, value, style="danger"))
    primary.append(
        {
            # Its options come from the bot (bot/slack/assign_menu.py): only people who may
            # act on the alert, where a users_select would offer the whole workspace.
            "type": "external_select",
            "action_id": ActionId.ASSIGN,
            "min_query_length": 0,
            "placeholder": plain_text("Assign…" if not alert.assignee else "Reassign…", 150),
            **({"confirm": confirm.reassign(alert)} if alert.assignee else {}),
        }
    )
    secondary = [*link_buttons(alert, search), button("Show hits", ActionId.HITS, value)]
    secondary.append(more_menu(alert))
    return [
        {"type": "actions", "block_id": alert_block_id(alert.id, "act"), "elements": primary},
        {"type": "actions", "block_id": alert_block_id(alert.id, "more"), "elements": secondary},
    ]


def more_menu(alert: Alert) -> Block:
    """The rarer actions, in an overflow menu so the buttons fit a phone's width."""
    choices = [("Add note", MoreChoice.NOTE), ("Mute this key…", MoreChoice.MUTE)]
    # A critical alert can still be escalated once (it pages the on-call group); after
    # that the seen line says "⬆️ Escalated", which is why the entry is gone.
    if not (alert.priority == Priority.CRITICAL and alert.escalated):
        choices.insert(0, ("Escalate", MoreChoice.ESCALATE))
    return {
        "type": "overflow",
        "action_id": ActionId.MORE,
        "options": [option(text, f"{choice.value}:{alert.id}") for text, choice in choices],
    }


def link_buttons(alert: Alert, search: Search | None) -> list[Block]:
    return [
        button(text, f"{ActionId.LINK}_{n}", url=url)
        for n, (text, url) in enumerate(link_targets(alert, search))
    ]


def link_targets(alert: Alert, search: Search | None) -> list[tuple[str, str]]:
    targets = []
    raw = safe_url(alert.link)
    if raw:
        built = search is not None and not search.link_template
        targets.append(("Open in Discover" if built else "Raw data", raw))
    runbook = safe_url(search.runbook_url if search else None)
    if runbook:
        targets.append(("Runbook", runbook))
    return targets


def fallback_text(alert: Alert, search: Search | None) -> str:
    """The notification text: escaped, and without formatting characters."""
    name = search.name if search else f"search {alert.search_id}"
    raw = f"[{alert.priority.value.upper()}] {name}: {alert.title or alert.dedupe_key}"
    if not alert.is_open:
        raw = f"[RESOLVED] {name}: {alert.title or alert.dedupe_key}"
    for char in "*_~`":
        raw = raw.replace(char, " ")
    return safe_text(raw, 300)


def _top_line(alert: Alert, search: Search | None, now: datetime) -> Block:
    """Open: the loud header. Handled: one mrkdwn line that says how, with a mention."""
    name = search.name if search else f"search {alert.search_id}"
    if look(alert, now) == Look.OPEN:
        header = f"{PRIORITY_BADGE[alert.priority]} · {name}"
        return {"type": "header", "text": plain_text(header, limits.MAX_HEADER)}
    line = f"{state_line(alert, now)} · {PRIORITY_BADGE[alert.priority]} · *{safe_text(name, 150)}*"
    return {"type": "section", "block_id": alert_block_id(alert.id, "state"), "text": mrkdwn(line)}


def _title_block(alert: Alert, budget: Budget) -> Block:
    title = alert.title or alert.dedupe_key or "(no title)"
    return {"type": "section", "text": plain_text(truncate(title, budget.title))}


def _body_block(alert: Alert, search: Search | None, budget: Budget) -> list[Block]:
    """The search's own body text; the default body (every field) is what the fields show."""
    if not alert.body or not (search and search.body_template):
        return []
    return [{"type": "section", "text": plain_text(truncate(alert.body, budget.body))}]


def _seen_line(alert: Alert, now: datetime) -> Block:
    times = f"{alert.occurrences} times" if alert.occurrences != 1 else "once"
    seen = (
        f"*{Ref.ALERT(alert.id)}* · {state_line(alert, now)}{_notes(alert)} · seen {times} · "
        f"first {when(alert.first_seen)} · last {when(alert.last_seen)}"
    )
    return {"type": "context", "elements": [mrkdwn(seen, verbatim=False)]}


def resolved_line(alert: Alert, search: Search | None, now: datetime) -> list[Block]:
    """A resolved alert collapses to one line and Reopen; its details are in the thread."""
    name = search.name if search else f"search {alert.search_id}"
    line = (
        f"{state_line(alert, now)} · {safe_text(name, 120)} · {key_values(alert, search)} · "
        f"{Ref.ALERT(alert.id)}{_notes(alert)}"
    )
    return [
        {
            "type": "section",
            "block_id": alert_block_id(alert.id, "state"),
            "text": mrkdwn(line),
            "accessory": button("Reopen", ActionId.REOPEN, str(alert.id)),
        }
    ]


def detail_blocks(
    alert: Alert, search: Search | None, now: datetime, budget: Budget = BUDGETS[0]
) -> list[Block]:
    """What an alert says: title, body, fields, when. The thread keeps it once resolved."""
    blocks = [_title_block(alert, budget), *_body_block(alert, search, budget)]
    blocks.extend(field_blocks(alert, search, budget))
    blocks.extend(tag_blocks(search))
    linked = safe_url(alert.link) is not None
    pointer = source_pointer(search, linked=linked, where=None if linked else alert.link)
    if pointer:
        blocks.append({"type": "context", "elements": [mrkdwn(pointer)]})
    return blocks


def _build(alert: Alert, search: Search | None, now: datetime, budget: Budget) -> Message:
    if not alert.is_open:
        return Message(text=fallback_text(alert, search), blocks=resolved_line(alert, search, now))
    blocks: list[Block] = [_top_line(alert, search, now)]
    blocks.extend(detail_blocks(alert, search, now, budget))
    blocks.append(_seen_line(alert, now))
    blocks.extend(action_blocks(alert, search, now))
    return Message(text=fallback_text(alert, search), blocks=blocks)


def alert_message(alert: Alert, search: Search | None, now: datetime | None = None) -> Message:
    """The alert's message as it should look now; shrinks values until Slack's limits hold."""
    now = now or datetime.now(UTC)
    for budget in BUDGETS:
        message = _build(alert, search, now, budget)
        if not limits.check_message(message.as_kwargs()):
            return message
    return minimal_alert_message(alert, search)


def minimal_alert_message(alert: Alert, search: Search | None) -> Message:
    """The last resort when even the smallest budget breaks a limit: text, state, buttons."""
    now = datetime.now(UTC)
    text = f"{fallback_text(alert, search)}\n{state_line(alert, now)} · {Ref.ALERT(alert.id)}"
    blocks = [{"type": "section", "text": mrkdwn(truncate(text, 2000), verbatim=False)}]
    if alert.is_open:
        blocks.extend(action_blocks(alert, None, now))
    return Message(text=fallback_text(alert, search), blocks=blocks)


def escaped_title(alert: Alert, limit: int = 200) -> str:
    """An alert's title for a line of mrkdwn (lists, thread replies), inside a code span."""
    return code(alert.title or alert.dedupe_key or f"alert {alert.id}", limit)


__all__ = ["Message", "alert_message", "escape_mrkdwn", "escaped_title", "mrkdwn", "plain_text"]
