"""The digest as Slack messages: a ten-second top post, and the details for its thread.

The top post holds six figures, each beside the previous period's with an arrow; the
thread reply holds the lists (noisiest searches, tuning candidates, failures, alerts
waiting for an owner, top resolvers). A period in which nothing happened is one line
("Quiet day") instead of a table of zeros.

Everything that came from users or from log data (search names, alert titles, error
messages) is escaped with ``bot.text.escape`` and put in code spans or link labels,
and every list is bounded, so any data fits Slack's limits (checked in the tests with
``bot.messages.limits.check_message``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.digest.figures import ByPriority, DigestFigures, PeriodFigures, WaitingAlert
from bot.digest.response_times import ResponseTimes
from bot.models import DigestPeriod, Priority
from bot.text.escape import code, escape_mrkdwn, mention_user, truncate
from bot.text.links import message_link
from bot.text.refs import Ref
from searches.durations import format_duration

LINE_LIMIT = 280  # one list line; five lines a section keep sections far below 3000
PRIORITY_ORDER = [Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW]
PRIORITY_MARK = {
    Priority.CRITICAL: "🔴",
    Priority.HIGH: "🟠",
    Priority.MEDIUM: "🟡",
    Priority.LOW: "⚪",
}


@dataclass(frozen=True)
class SlackMessage:
    text: str  # notification fallback, also readable on its own
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class RenderedDigest:
    top: SlackMessage
    details: SlackMessage | None  # None when the period was quiet
    chart_title: str
    chart_at: int = 3  # where the chart's image block goes in the top post's blocks


def render_digest(
    figures: DigestFigures,
    *,
    period: DigestPeriod,
    tz: ZoneInfo,
    link_base: str,
    now: datetime,
) -> RenderedDigest:
    title = _title(figures.current, period, tz)
    if figures.quiet:
        return RenderedDigest(_quiet(figures, period, title), None, title)
    return RenderedDigest(
        _top(figures, period, title), _details(figures, link_base, now), f"{title}: alerts per day"
    )


# ---------------------------------------------------------------- top post


def _title(current: PeriodFigures, period: DigestPeriod, tz: ZoneInfo) -> str:
    end = current.end.astimezone(tz)
    if period == DigestPeriod.WEEKLY:
        start = current.start.astimezone(tz)
        return f"411 weekly digest · {start:%a %d %b} to {end:%a %d %b}"
    return f"411 daily digest · {end:%a %d %b}"


def _quiet(figures: DigestFigures, period: DigestPeriod, title: str) -> SlackMessage:
    word = "week" if period == DigestPeriod.WEEKLY else "day"
    line = f"*Quiet {word}.* No new alerts, nothing acknowledged or resolved, no failed searches."
    still_open = figures.current.open_at_end.total
    if still_open:
        line += f"\n{still_open} {_plural(still_open, 'alert')} still open."
    blocks = [_header(title), _section(line)]
    return SlackMessage(f"{title}: quiet {word}", blocks)


class Better(enum.Enum):
    """Which way a figure should move: it colours the change (🟢 good, 🔴 bad)."""

    UP = "up"  # more is good (acknowledged, resolved)
    DOWN = "down"  # more is bad (new alerts, still open, slower responses)


def _top(figures: DigestFigures, period: DigestPeriod, title: str) -> SlackMessage:
    """Header, four counts, two response times, [the chart], a context line.

    Section fields stack into one column on a phone, so nothing here is a table.
    """
    cur, prev = figures.current, figures.previous
    before = "last week" if period == DigestPeriod.WEEKLY else "the day before"
    counts = [
        _count_field("New", cur.new.total, prev.new.total, Better.DOWN),
        _count_field("Resolved", cur.resolved.total, prev.resolved.total, Better.UP),
        _count_field("Acknowledged", cur.acknowledged.total, prev.acknowledged.total, Better.UP),
        _count_field("Still open", cur.open_at_end.total, prev.open_at_end.total, Better.DOWN),
    ]
    times = [
        _time_field("Time to acknowledge", cur.ack_times, prev.ack_times),
        _time_field("Time to resolve", cur.resolve_times, prev.resolve_times),
    ]
    context = [
        f"New by priority: {_priority_line(cur.new)}",
        f"🟢 better, 🔴 worse than {before}",
    ]
    if cur.failed_runs:
        context.insert(1, f"⚠️ {cur.failed_runs} failed search {_plural(cur.failed_runs, 'run')}")
    blocks = [
        _header(title),
        _fields(counts),
        _fields(times),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": c} for c in context]},
    ]
    text = (
        f"{title}: {cur.new.total} new, {cur.resolved.total} resolved, "
        f"{cur.open_at_end.total} still open"
    )
    return SlackMessage(text, blocks)


def _fields(texts: list[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": t, "verbatim": True} for t in texts],
    }


def _mark(diff: float, better: Better) -> str:
    if not diff:
        return "⚪"
    return "🟢" if (diff > 0) == (better is Better.UP) else "🔴"


def _count_field(label: str, current: int, previous: int, better: Better) -> str:
    if current == previous:
        return f"*{label}*\n*{current}*  ⚪ same as before"
    diff = current - previous
    return f"*{label}*\n*{current}*  {_mark(diff, better)} {_delta(diff)} (was {previous})"


def _time_field(label: str, current: ResponseTimes, previous: ResponseTimes) -> str:
    """Median and p90, the median's change (slower is worse) and the sample size."""
    if current.median is None or current.p90 is None:
        return f"*{label}*\nnone this period"
    shown = f"median *{_duration(current.median)}* · p90 {_duration(current.p90)}"
    change = "no earlier figure"
    if previous.median is not None:
        diff = round(current.median - previous.median)
        moved = f"{_arrow(diff)}{_duration(abs(diff))}" if diff else "same"
        change = f"{_mark(diff, Better.DOWN)} {moved} (was {_duration(previous.median)})"
    return f"*{label}*\n{shown}\n{change} · n={current.n}"


def _duration(seconds: float) -> str:
    """Whole minutes past a minute (4m, 2h 5m), seconds below it."""
    whole = round(seconds)
    return format_duration(whole if whole < 60 else whole // 60 * 60)


def _delta(diff: int) -> str:
    return f"{_arrow(diff)}{abs(diff)}" if diff else "="


def _change(current: int, previous: int) -> str:
    return (
        f"{_delta(current - previous)} from {previous}" if current != previous else "same as before"
    )


def _arrow(diff: float) -> str:
    return "↑" if diff > 0 else "↓" if diff < 0 else "="


def _priority_line(counts: ByPriority) -> str:
    parts = [f"{p.value} {counts[p]}" for p in PRIORITY_ORDER if counts[p]]
    return " · ".join(parts) or "none"


# ----------------------------------------------------------------- details


def _details(figures: DigestFigures, link_base: str, now: datetime) -> SlackMessage:
    sections = [
        ("By priority", [_priority_table(figures.current)]),
        ("Noisiest searches", [_noisy_line(n) for n in figures.noisiest]),
        (
            'Often resolved as "not an issue" (tuning candidates)',
            [_tuning_line(t) for t in figures.tuning],
        ),
        ("Searches that failed", [_failed_line(f) for f in figures.failed]),
        (
            "Oldest alerts nobody has taken",
            [_waiting_line(w, link_base, now) for w in figures.waiting],
        ),
        ("Top resolvers", [_resolvers_line(figures)] if figures.resolvers else []),
    ]
    blocks: list[dict[str, Any]] = []
    text_parts: list[str] = []
    for heading, lines in sections:
        if not lines:
            continue
        body = f"*{heading}*\n" + "\n".join(lines)
        blocks.append(_section(body))
        text_parts.append(body)
    return SlackMessage("\n\n".join(text_parts), blocks)


def _priority_table(cur: PeriodFigures) -> str:
    """One line per priority (a monospace table breaks on a phone)."""
    rows = []
    for p in PRIORITY_ORDER:
        figures = (cur.new[p], cur.acknowledged[p], cur.resolved[p], cur.open_at_end[p])
        if not any(figures):
            continue
        new, acked, resolved, still_open = figures
        rows.append(
            f"{PRIORITY_MARK[p]} *{p.value}* · {new} new · {acked} acked · "
            f"{resolved} resolved · {still_open} open"
        )
    return "\n".join(rows) or "nothing in any priority"


def _noisy_line(n: Any) -> str:
    line = (
        f"• {code(n.name, 120)} {n.alerts} {_plural(n.alerts, 'alert')} "
        f"({_change(n.alerts, n.previous_alerts)}), "
        f"{n.occurrences} {_plural(n.occurrences, 'occurrence')}"
    )
    return truncate(line, LINE_LIMIT)


def _tuning_line(t: Any) -> str:
    return truncate(
        f"• {code(t.name, 120)} {t.not_an_issue} of {t.resolved} resolved "
        f"({t.share:.0%}) were not an issue",
        LINE_LIMIT,
    )


def _failed_line(f: Any) -> str:
    times = f"{f.failures} {_plural(f.failures, 'failure')}"
    error = f": {code(f.last_error, 140)}" if f.last_error else ""
    return truncate(f"• {code(f.name, 120)} {times}{error}", LINE_LIMIT)


def _waiting_line(w: WaitingAlert, link_base: str, now: datetime) -> str:
    label = "(restricted search)" if w.restricted else (w.title or "(no title)")
    label = escape_mrkdwn(" ".join(label.split()))
    label = truncate(label.replace("|", "¦"), 100)
    link = message_link(link_base, w.channel, w.message_ts)
    ref = Ref.ALERT(w.alert_id)
    shown = f"<{link}|{ref} {label}>" if link else f"{ref} {label}"
    age = format_duration(max(0, int((now - w.created_at).total_seconds())) // 60 * 60)
    return truncate(f"• {shown} · {code(w.search_name, 80)} · {w.priority.value} · {age}", 400)


def _resolvers_line(figures: DigestFigures) -> str:
    return " · ".join(f"{mention_user(r.user_id)} {r.resolved}" for r in figures.resolvers)


# ----------------------------------------------------------------- helpers


def _header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}


def _section(text: str) -> dict[str, Any]:
    # verbatim: Slack must not turn bare URLs or #names in data into links or mentions.
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, 3000), "verbatim": True},
    }


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
