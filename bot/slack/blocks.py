"""Block Kit builders for an alert's message: built from the alert's state, always in limits.

Everything that came from a search result (title, body, field values, link) is
untrusted: it goes into ``plain_text``, into code spans, or through
``escape_mrkdwn``; mrkdwn that carries data has ``verbatim: true``. The only
control sequences in a message are the ones we write: user mentions of IDs we
stored, the on-call group on escalation and ``<!date^...>`` times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

from bot.models import Alert, AlertState, Priority, Search
from bot.pipeline.fields import MISSING, lookup
from bot.slack import limits
from bot.slack.ids import SNOOZE_CHOICES, ActionId, alert_block_id
from bot.text.escape import (
    code,
    code_block,
    escape_mrkdwn,
    mention_user,
    plain,
    safe_text,
    slack_date,
    truncate,
)

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


def state_line(alert: Alert, now: datetime) -> str:
    """Who has it, snoozed until when, resolved by whom and how."""
    parts: list[str] = []
    if alert.state == AlertState.RESOLVED:
        how = alert.resolution.label if alert.resolution else "Resolved"
        parts.append(
            f"✅ Resolved by {mention_user(alert.resolved_by)} · {how} · {when(alert.resolved_at)}"
        )
    elif alert.assignee:
        parts.append(f"👤 {mention_user(alert.assignee)} has it")
    else:
        parts.append("🆕 New · nobody has it yet")
    if is_snoozed(alert, now):
        parts.append(f"💤 Snoozed until {when(alert.snoozed_until)}")
    if alert.escalated:
        parts.append("⬆️ Escalated")
    if alert.delivery_failed:
        parts.append("⚠️ Some updates could not be delivered")
    return " · ".join(parts)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def field_blocks(alert: Alert, search: Search | None, budget: Budget) -> list[Block]:
    """Key fields first, then the other fields of the hit, name in bold, value in code."""
    content = alert.content if isinstance(alert.content, dict) else {}
    key_fields = list(search.key_fields) if search and search.key_fields else []
    names = key_fields + [name for name in content if name not in key_fields]
    fields: list[Block] = []
    for name in names[: budget.fields]:
        value = lookup(content, name)
        value = None if value is MISSING else value
        if value is None and name not in key_fields:
            continue
        label = safe_text(name, 80)
        marker = " 🔑" if name in key_fields else ""
        fields.append(mrkdwn(f"*{label}*{marker}\n{code(_as_text(value), budget.field_value)}"))
    if not fields:
        return []
    block: Block = {"type": "section", "fields": fields}
    hidden = len(names) - len(fields)
    if hidden > 0:
        note = f"{hidden} more field{'s' if hidden != 1 else ''} in the raw data"
        return [block, {"type": "context", "elements": [mrkdwn(note)]}]
    return [block]


def action_blocks(alert: Alert, search: Search | None, now: datetime) -> list[Block]:
    """Buttons that follow the state: Snooze <-> Unsnooze, Resolve <-> Reopen."""
    value = str(alert.id)
    if alert.is_open:
        primary: list[Block] = [button("Take it", ActionId.TAKE, value, style="primary")]
        primary.append(
            {
                "type": "users_select",
                "action_id": ActionId.ASSIGN,
                "placeholder": plain_text("Assign…", 150),
                **({"initial_user": alert.assignee} if alert.assignee else {}),
            }
        )
        if is_snoozed(alert, now):
            primary.append(button("Unsnooze", ActionId.UNSNOOZE, value))
        else:
            primary.append(snooze_select(ActionId.SNOOZE))
        primary.append(button("Resolve", ActionId.RESOLVE, value, style="danger"))
        secondary: list[Block] = []
        if alert.priority != Priority.CRITICAL:
            secondary.append(button("Escalate", ActionId.ESCALATE, value))
        secondary.append(button("Add note", ActionId.NOTE, value))
    else:
        primary = [button("Reopen", ActionId.REOPEN, value)]
        secondary = [button("Add note", ActionId.NOTE, value)]
    for label, url in link_targets(alert, search):
        secondary.append(button(label, ActionId.LINK + f"_{label.split()[0].lower()}", url=url))
    blocks = [{"type": "actions", "block_id": alert_block_id(alert.id, "act"), "elements": primary}]
    blocks.append(
        {"type": "actions", "block_id": alert_block_id(alert.id, "more"), "elements": secondary}
    )
    return blocks


def link_targets(alert: Alert, search: Search | None) -> list[tuple[str, str]]:
    targets = []
    raw = safe_url(alert.link)
    if raw:
        targets.append(("Raw data", raw))
    runbook = safe_url(search.runbook_url if search else None)
    if runbook:
        targets.append(("Runbook", runbook))
    return targets


def fallback_text(alert: Alert, search: Search | None) -> str:
    """The notification text: escaped, and without formatting characters."""
    name = search.name if search else f"search {alert.search_id}"
    raw = f"[{alert.priority.value.upper()}] {name}: {alert.title or alert.dedupe_key}"
    for char in "*_~`":
        raw = raw.replace(char, " ")
    return safe_text(raw, 300)


def _build(alert: Alert, search: Search | None, now: datetime, budget: Budget) -> Message:
    name = search.name if search else f"search {alert.search_id}"
    header = f"{PRIORITY_BADGE[alert.priority]} · {name}"
    blocks: list[Block] = [{"type": "header", "text": plain_text(header, limits.MAX_HEADER)}]
    title = alert.title or alert.dedupe_key or "(no title)"
    blocks.append({"type": "section", "text": plain_text(truncate(title, budget.title))})
    if alert.body:
        blocks.append({"type": "section", "text": mrkdwn(code_block(alert.body, budget.body))})
    blocks.extend(field_blocks(alert, search, budget))
    seen = (
        f"*{alert.occurrences}* occurrence{'s' if alert.occurrences != 1 else ''} · "
        f"first {when(alert.first_seen)} · last {when(alert.last_seen)} · alert #{alert.id}"
    )
    blocks.append({"type": "context", "elements": [mrkdwn(seen, verbatim=False)]})
    blocks.append({"type": "context", "elements": [mrkdwn(state_line(alert, now), verbatim=False)]})
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
    text = f"{fallback_text(alert, search)}\n{state_line(alert, now)}"
    blocks = [{"type": "section", "text": mrkdwn(truncate(text, 2000), verbatim=False)}]
    blocks.extend(action_blocks(alert, None, now))
    return Message(text=fallback_text(alert, search), blocks=blocks)


def escaped_title(alert: Alert, limit: int = 200) -> str:
    """An alert's title for a line of mrkdwn (lists, thread replies), inside a code span."""
    return code(alert.title or alert.dedupe_key or f"alert {alert.id}", limit)


__all__ = ["Message", "alert_message", "escape_mrkdwn", "escaped_title", "mrkdwn", "plain_text"]
