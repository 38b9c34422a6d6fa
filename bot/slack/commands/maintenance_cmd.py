"""``/411 maintenance``: schedule, list and cancel maintenance windows.

    /411 maintenance add for=2h search="Scraper at work" reason words…
    /411 maintenance add start=+30m end=2026-12-06T18:00 tag=production,db
    /411 maintenance add start=now for=1h all
    /411 maintenance list
    /411 maintenance cancel M-2

Whoever may act on a search's alerts may silence it; ``all`` and ``tag=`` cover
searches one cannot list in advance, so they are for admins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.alerts import maintenance
from bot.alerts.permissions import check_act_on_search, is_admin
from bot.alerts.visibility import Viewer
from bot.errors import InvalidInput, PermissionDenied
from bot.models import MaintenanceWindow, Search, utcnow
from bot.slack.commands.parse import Args
from bot.slack.commands.router import REGISTRY, CommandContext, Reply
from bot.text.escape import code
from bot.text.refs import Ref
from bot.text.time_input import parse_time
from searches.durations import parse_duration

USAGE = (
    "Usage: `/411 maintenance add [start=now|+30m|<ISO time>] (for=<2h> | end=<ISO time>) "
    '(search="<name>"[,…] | tag=<tag>[,…] | all) [reason…]`'
)


def _moment(raw: str, now: datetime, name: str) -> datetime:
    """``now``, ``+30m`` (from now) or an ISO 8601 time (UTC unless it says otherwise)."""
    text = raw.strip()
    if text.startswith("+"):
        try:
            return now + timedelta(seconds=parse_duration(text[1:]))
        except ValueError as exc:
            raise InvalidInput(f"{name}: {exc}", field=name) from None
    return parse_time(text, now, quote=lambda t: code(t, 60))


def _span(args: Args, now: datetime) -> tuple[datetime, datetime]:
    options = args.options
    start = _moment(options.get("start", "now"), now, "start")
    if ("for" in options) == ("end" in options):
        raise InvalidInput(f"Give the length (`for=2h`) or the end (`end=…`), one of them. {USAGE}")
    if "end" in options:
        return start, _moment(options["end"], now, "end")
    try:
        return start, start + timedelta(seconds=parse_duration(options["for"]))
    except ValueError as exc:
        raise InvalidInput(f"for: {exc}", field="for") from None


def _scope(ctx: CommandContext, args: Args, session: Session) -> maintenance.Scope:
    everything = "all" in [w.lower() for w in args.words[:1]]
    names = [n.strip() for n in args.options.get("search", "").split(",") if n.strip()]
    tags = [t.strip() for t in args.options.get("tag", "").split(",") if t.strip()]
    searches: list[Search] = [ctx.viewer.find_search(session, name) for name in names]
    for search in searches:
        check_act_on_search(ctx.settings, ctx.services.directory, ctx.actor, search)
    if (everything or tags) and not is_admin(
        ctx.settings, ctx.services.directory, ctx.actor.user_id
    ):
        raise PermissionDenied("Only admins may silence every search or whole tags.")
    return maintenance.Scope(everything, searches, tags)


@REGISTRY.add(
    "maintenance add", USAGE.removeprefix("Usage: ").strip("`"), "silence searches for planned work"
)
def add(ctx: CommandContext, args: Args) -> Reply:
    now = utcnow()
    starts_at, ends_at = _span(args, now)
    with ctx.db as session:
        scope = _scope(ctx, args, session)
        words = args.words[1:] if scope.everything else args.words
        reason = " ".join(words) or args.options.get("reason", "")
        window = maintenance.schedule_window(
            session, ctx.actor.user_id, starts_at, ends_at, scope, reason, now=now
        )
        line = maintenance.describe(window, session)
        channels = maintenance.channels_of(maintenance.covered_searches(session, window))
    where = f"{len(channels)} channel{'s' if len(channels) != 1 else ''}"
    return Reply(
        f"🛠️ Scheduled {line}\nIts start and end will be announced in {where}; "
        f"`/411 maintenance cancel {Ref.MAINTENANCE(window.id)}` ends it early."
    )


@REGISTRY.add("maintenance list", "/411 maintenance list", "maintenance windows running or to come")
def list_windows(ctx: CommandContext, args: Args) -> Reply:
    now = utcnow()
    viewer = ctx.viewer
    with ctx.db as session:
        lines = []
        for window in maintenance.live_windows(session, now):
            if not _may_see_window(viewer, window, session):
                continue
            state = "🛠️ running" if window.starts_at <= now else "🗓️ scheduled"
            counted = f" · {window.suppressed_count} suppressed" if window.suppressed_count else ""
            line = maintenance.describe(window, session, viewer.may_see_search)
            lines.append(f"{state} · {line}{counted}")
    if not lines:
        return Reply("No maintenance window is running or scheduled.")
    return Reply("*Maintenance windows*\n" + "\n".join(lines[:40]))


@REGISTRY.add(
    "maintenance cancel", "/411 maintenance cancel <M-id>", "end a maintenance window now"
)
def cancel(ctx: CommandContext, args: Args) -> Reply:
    raw = args.word(0, "id")
    now = utcnow()
    with ctx.db as session:
        window = maintenance.find_window(session, raw)
        if window.created_by != ctx.actor.user_id and not is_admin(
            ctx.settings, ctx.services.directory, ctx.actor.user_id
        ):
            raise PermissionDenied("Only whoever scheduled it, or an admin, may cancel it.")
        maintenance.cancel_window(session, window, ctx.actor.user_id, now)
    return Reply(f"{Ref.MAINTENANCE(window.id)} is cancelled; alerts are posted again.")


def _may_see_window(viewer: Viewer, window: MaintenanceWindow, session: Session) -> bool:
    """A window over everything or tags is shown to all; over searches, to whoever sees one."""
    if window.everything or window.tags or viewer.is_admin or window.created_by == viewer.user_id:
        return True
    return any(viewer.may_see_search(s) for s in maintenance.covered_searches(session, window))
