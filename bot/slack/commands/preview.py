"""What `/411 search test` shows: a preview over a time window, as text.

The window is not the time since the last run (seconds, for a scheduled search):
a test shows what the search finds over a range worth looking at, by default
its look-back range ending now, or ``last=1h`` / ``from=… to=…``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from bot.config import Settings
from bot.definitions.search import SearchDefinition
from bot.errors import InvalidInput
from bot.messages.blocks import when
from bot.runs import runner
from bot.slack import slow
from bot.text.escape import code, escape_mrkdwn, truncate
from bot.text.time_input import parse_range
from searches.base import TimeWindow
from searches.durations import parse_duration

WINDOW_OPTIONS = ("last", "from", "to")  # a test's time range, not source settings


def preview_text(preview: runner.RunPreview) -> str:
    warnings = [*preview.warnings, *preview.plan.warnings]
    shown = "".join(f"\n:warning: {code(w, 400)}" for w in warnings[:5])
    if preview.error:
        failed = f":x: *{escape_mrkdwn(preview.search_name)}* failed: {code(preview.error, 1500)}"
        return truncate(failed + shown, 3000)
    plan = preview.plan
    lines = [
        f"*{escape_mrkdwn(preview.search_name)}* over {when(preview.window.start)} to {when(preview.window.end)} ({preview.duration_ms} ms):",
        f"*{plan.hits}* hits · *{plan.firing}* firing · *{len(plan.new)}* new alerts · *{len(plan.seen)}* already open · *{plan.suppressed}* suppressed",
    ]
    if plan.burst:
        lines.append("These new alerts would be posted as one burst summary.")
    for new in plan.new[:5]:
        title = code(new.title or new.key, 200)
        lines.append(f"• {title} key {code(new.key, 100)} x{new.occurrences}")
    if len(plan.new) > 5:
        lines.append(f"…and {len(plan.new) - 5} more.")
    broken = sorted({n.template_error for n in plan.new if n.template_error})
    if broken:
        # The alerts would still be posted (with the default title); the author should know why.
        lines.append(":warning: Template errors (the default title would be used):")
        lines.extend(f"• {code(error, 300)}" for error in broken[:3])
    if shown:
        lines.append(shown.lstrip("\n"))
    if preview.truncated:
        lines.append(
            "_The source returned more results than one run reads; the count is a lower bound._"
        )
    return truncate("\n".join(lines), 3000)


def preview_window(
    options: dict[str, str], lookback_seconds: int, now: datetime, tz: tzinfo = UTC
) -> TimeWindow:
    """``last=1h``, or ``from=… [to=…]``; by default the search's look-back range ending now.

    Not the time since the last run (seconds, for a scheduled search): a test shows
    what the search finds over a range worth looking at. Times without a zone are
    read in ``tz`` (the configured TIMEZONE); a range in the future is refused.
    """
    if "last" in options:
        if "from" in options or "to" in options:
            raise InvalidInput("Give either `last=…` or `from=… to=…`, not both.")
        try:
            seconds = parse_duration(options["last"])
        except ValueError as exc:
            raise InvalidInput(f"`last`: {exc}") from None
        return TimeWindow(now - timedelta(seconds=seconds), now)
    window = parse_range(
        options.get("from"),
        options.get("to"),
        now,
        quote=_quote_option,
        default_start=None if "to" in options else now - timedelta(seconds=lookback_seconds),
        tz=tz,
    )
    assert window is not None  # a default start always gives a window
    return window


def preview_window_job(
    settings: Settings, target: SearchDefinition | int, window: TimeWindow, now: datetime
) -> str:
    """In a worker process: what the search would alert on over ``window``, as the reply text."""
    return preview_text(
        runner.preview_search(slow.child_runtime(settings), target, window, now=now)
    )


def _quote_option(text: str) -> str:
    """Typed times as code spans, option names as Slack users type them (``from=…``)."""
    return f"`{text}=…`" if text in ("from", "to") else code(text, 60)
