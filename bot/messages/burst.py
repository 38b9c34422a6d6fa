"""A burst: one summary message for many new alerts, listed in its thread in chunks.

The summary carries the bulk buttons (Resolve all, Snooze all) and counts that are
refreshed when the alerts change; each thread chunk lists up to ``CHUNK`` alerts
with a small overflow menu to act on one of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.alerts.bursts import CHUNK
from bot.messages import confirm, limits
from bot.messages.blocks import (
    PRIORITY_BADGE,
    Block,
    Message,
    button,
    escaped_title,
    is_snoozed,
    mrkdwn,
    option,
    plain_text,
    snooze_select,
)
from bot.messages.ids import ActionId, burst_block_id
from bot.models import Alert, AlertState, Search
from bot.text.escape import mention_user, safe_text
from bot.text.refs import Ref

QUICK_ACTIONS = [
    ("Take it", "take"),
    ("Resolve (not an issue)", "resolve"),
    ("Snooze 1 hour", "snooze:3600"),
    ("Snooze 1 day", "snooze:86400"),
]


def _counts(alerts: Sequence[Alert], now: datetime) -> str:
    states: Counter[str] = Counter()
    for alert in alerts:
        if alert.state == AlertState.RESOLVED:
            states["resolved"] += 1
        elif is_snoozed(alert, now):
            states["snoozed"] += 1
        elif alert.assignee:
            states["taken"] += 1
        else:
            states["new"] += 1
    order = ["new", "taken", "snoozed", "resolved"]
    return " · ".join(f"*{states[name]}* {name}" for name in order if states[name])


def burst_summary(
    delivery_id: int, search: Search | None, alerts: Sequence[Alert], now: datetime | None = None
) -> Message:
    now = now or datetime.now(UTC)
    name = search.name if search else "a search"
    count = len(alerts)
    headline = f"{count} new alert{'s' if count != 1 else ''} from {name}"
    blocks: list[Block] = [{"type": "header", "text": plain_text(headline, limits.MAX_HEADER)}]
    top = max(alerts, key=lambda a: a.priority.rank).priority if alerts else None
    details = f"Highest priority: {PRIORITY_BADGE[top]}" if top else ""
    blocks.append(
        {
            "type": "section",
            "text": mrkdwn(f"{_counts(alerts, now) or 'no alerts'}\n{details}", verbatim=False),
        }
    )
    blocks.append(
        {"type": "context", "elements": [mrkdwn("The alerts are listed in this thread.")]}
    )
    open_ids = [a for a in alerts if a.is_open]
    if open_ids:
        blocks.append(
            {
                "type": "actions",
                "block_id": burst_block_id(delivery_id, "act"),
                "elements": [
                    {
                        **button(
                            "Resolve all", ActionId.BURST_RESOLVE, str(delivery_id), style="danger"
                        ),
                        "confirm": confirm.bulk("Resolve", len(open_ids)),
                    },
                    {
                        **snooze_select(ActionId.BURST_SNOOZE, "Snooze all"),
                        "confirm": confirm.bulk("Snooze", len(open_ids)),
                    },
                ],
            }
        )
    return Message(text=safe_text(headline, 300), blocks=blocks)


def _line(alert: Alert, now: datetime) -> str:
    state = "✅ resolved" if alert.state == AlertState.RESOLVED else "🆕 new"
    if alert.is_open and alert.assignee:
        state = f"👤 {mention_user(alert.assignee)}"
    if is_snoozed(alert, now):
        state += " · 💤 snoozed"
    return f"*{Ref.ALERT(alert.id)}* · {PRIORITY_BADGE[alert.priority]} · {escaped_title(alert, 200)} · {state}"


def burst_listing(alerts: Sequence[Alert], now: datetime | None = None) -> Message:
    """One thread reply listing a chunk of a burst's alerts, each with an overflow menu."""
    now = now or datetime.now(UTC)
    message = _listing(alerts, now, menus=True)
    if limits.check_message(message.as_kwargs()):
        message = _listing(alerts, now, menus=False)  # the summary's buttons still work
    return message


def _listing(alerts: Sequence[Alert], now: datetime, *, menus: bool) -> Message:
    blocks: list[Block] = []
    for alert in alerts[:CHUNK]:
        block: Block = {"type": "section", "text": mrkdwn(_line(alert, now), verbatim=False)}
        if alert.is_open and menus:
            block["accessory"] = {
                "type": "overflow",
                "action_id": f"{ActionId.QUICK}:{alert.id}",
                "options": [option(label, f"{value}:{alert.id}") for label, value in QUICK_ACTIONS],
            }
        blocks.append(block)
    ids = ", ".join(Ref.ALERT(a.id) for a in alerts[:CHUNK])
    return Message(text=safe_text(f"Alerts {ids}", 2000), blocks=blocks)
