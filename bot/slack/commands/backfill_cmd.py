"""``/411 search backfill <id|name> from=… [to=…]``: a search over a past span, for real.

The work runs in a worker process after the ack (a day of a 5-minute schedule is
hundreds of runs); the alerts it creates are announced by ONE summary post where
the search's alerts go, and the person who asked gets the totals.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerts.permissions import check_manage_search
from bot.config import Settings
from bot.errors import InvalidInput
from bot.runs.backfill import Backfill, backfill_search
from bot.slack import slow
from bot.slack.commands.parse import Args
from bot.slack.commands.router import REGISTRY, CommandContext
from bot.text.escape import code, escape_mrkdwn
from bot.text.time_input import parse_range
from searches.base import TimeWindow


@REGISTRY.add(
    "search backfill",
    "/411 search backfill <id|name> from=… [to=…]",
    "run a search over a past span for real, as its schedule would have (times without a "
    "zone are in the configured TIMEZONE); one summary post",
)
def backfill(ctx: CommandContext, args: Args) -> None:
    if "from" not in args.options:
        raise InvalidInput(
            "Say where the backfill starts: `from=2026-01-31T08:00` or `from=now-7d`."
        )
    now = datetime.now(UTC)
    span = parse_range(
        args.options["from"], args.options.get("to"), now, quote=_quote_option, tz=ctx.settings.tz
    )
    assert span is not None  # from= was given
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, "run")
        search_id = search.id
    ctx.later(backfill_job, ctx.settings, search_id, span, ctx.actor.user_id, now)


def backfill_job(
    settings: Settings, search_id: int, span: TimeWindow, actor: str, now: datetime
) -> str:
    """In a worker process (``bot.slack.slow``): the backfill, answered with its totals."""
    report = backfill_search(slow.child_runtime(settings), search_id, span, actor=actor, now=now)
    return backfill_text(report)


def backfill_text(report: Backfill) -> str:
    mark = ":x:" if report.error else ":rewind:"
    text = f"{mark} {escape_mrkdwn(report.text())}"
    if report.summary_posted:
        text += "\nThe new alerts are summed up in one post where the search's alerts go."
    return text


def _quote_option(text: str) -> str:
    return f"`{text}=…`" if text in ("from", "to") else code(text, 60)
