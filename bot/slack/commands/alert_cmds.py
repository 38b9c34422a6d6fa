"""``/411 alerts ...`` (with their buttons) and suppressions: suppress, suppressions, unsuppress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot.alerts import suppressions as suppressions_service
from bot.alerts.permissions import check_act_on_search, is_admin
from bot.errors import InvalidInput, PermissionDenied
from bot.messages import confirm, limits
from bot.messages.blocks import (
    PRIORITY_BADGE,
    Block,
    button,
    is_snoozed,
    mrkdwn,
    snooze_select,
    state_line,
    when,
)
from bot.messages.ids import ActionId, alert_block_id, take_value
from bot.models import Alert, AlertState, Search, utcnow
from bot.slack.commands.parse import Args
from bot.slack.commands.router import REGISTRY, CommandContext, Reply
from bot.text.escape import code, escape_mrkdwn, mention_user
from bot.text.refs import Ref
from searches.durations import format_duration, parse_duration

MAX_ALERTS = 50  # read at most this many; as many as fit Slack's limits are shown


def _take_button(alert: Alert, viewer: str) -> list[Block]:
    """Take it, unless it is the viewer's; taking it from someone asks first."""
    if alert.assignee == viewer:
        return []
    take = button("Take it", ActionId.TAKE, take_value(alert.id, alert.assignee), style="primary")
    if alert.assignee:
        take["confirm"] = confirm.take_from(alert)
    return [take]


def _alert_blocks(alert: Alert, search_name: str, viewer: str) -> list[Block]:
    now = utcnow()
    text = (
        f"*{Ref.ALERT(alert.id)}* {PRIORITY_BADGE[alert.priority]} · {escape_mrkdwn(search_name)}\n"
        f"{code(alert.title or alert.dedupe_key, 300)}\n{state_line(alert, now)} · seen {alert.occurrences}x, last {when(alert.last_seen)}"
        f"\nkey {code(alert.dedupe_key, 200)} (for `/411 suppress`)"
    )
    value = str(alert.id)
    elements: list[Block] = _take_button(alert, viewer)
    elements.append(
        button("Unsnooze", ActionId.UNSNOOZE, value)
        if is_snoozed(alert, now)
        else snooze_select(ActionId.SNOOZE)
    )
    elements.append(button("Resolve", ActionId.RESOLVE, value, style="danger"))
    return [
        {"type": "section", "text": mrkdwn(text, verbatim=False)},
        {"type": "actions", "block_id": alert_block_id(alert.id, "list"), "elements": elements},
    ]


def _fit(title: str, rows: list[tuple[Alert, str]], viewer: str) -> Reply:
    """As many alerts as fit in one message; the rest are counted."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(title, verbatim=False)}]
    shown = 0
    for alert, name in rows:
        candidate = blocks + _alert_blocks(alert, name, viewer)
        if limits.check_message(
            {"text": title, "blocks": [*candidate, {"type": "context", "elements": [mrkdwn("…")]}]}
        ):
            break
        blocks, shown = candidate, shown + 1
    if shown < len(rows):
        more = f"…and {len(rows) - shown} more. Narrow it down: `/411 alerts mine`, `/411 alerts search <id>`."
        blocks.append({"type": "context", "elements": [mrkdwn(more, verbatim=False)]})
    return Reply(title, blocks)


@REGISTRY.add(
    "alerts", "/411 alerts [open | mine | search <id|name>]", "open alerts, with their buttons"
)
def alerts(ctx: CommandContext, args: Args) -> Reply:
    mode = args.words[0].lower() if args.words else "open"
    query = (
        select(Alert, Search)
        .join(Search, Search.id == Alert.search_id)
        .where(Alert.state != AlertState.RESOLVED)
    )
    with ctx.db as session:
        if mode == "open":
            title = "*Open alerts you may see*"
        elif mode == "mine":
            query = query.where(Alert.assignee == ctx.actor.user_id)
            title = f"*Open alerts assigned to {mention_user(ctx.actor.user_id)}*"
        elif mode == "search":
            search = ctx.viewer.find_search(session, args.word(1, "search"))
            query = query.where(Alert.search_id == search.id)
            title = f"*Open alerts of {escape_mrkdwn(search.name)}*"
        else:
            raise InvalidInput(
                f"Unknown alert list {code(mode, 50)}. Usage: `/411 alerts [open | mine | search <id|name>]`"
            )
        # Only alerts of searches this person may see are read, then each alert is checked
        # (its own channel decides): nobody learns of an alert they could not see in Slack.
        query = query.where(Alert.search_id.in_(ctx.viewer.search_ids(session)))
        rows = session.execute(query.order_by(Alert.id.desc()).limit(MAX_ALERTS)).all()
        pairs = [(alert, search.name) for alert, search in ctx.viewer.alerts(rows)]
        pairs.sort(key=lambda pair: (-pair[0].priority.rank, -pair[0].id))
        if not pairs:
            return Reply(title + ": none. :tada:")
        return _fit(title, pairs, ctx.actor.user_id)


@dataclass(frozen=True)
class SuppressRequest:
    search_ref: str
    key_words: list[str]  # the key as typed words ("#92", "bob", "user=bob"), maybe empty
    key_options: dict[str, str]  # the key as options (source.ip=…, alert=92)
    seconds: int
    reason: str


def _request(args: Args) -> SuppressRequest:
    """Words: ``<search> [key] for <duration> [reason…]``; the key may be options instead."""
    words = args.words
    at = next((i for i, w in enumerate(words[:3]) if w.lower() == "for"), None)
    if at is None or at == 0 or at + 1 >= len(words):
        raise InvalidInput(suppressions_service.USAGE)
    try:
        seconds = parse_duration(words[at + 1])
    except ValueError as exc:
        raise InvalidInput(f"Duration: {exc}", field="duration") from None
    options = dict(args.options)
    reason = " ".join(words[at + 2 :]) or options.pop("reason", "")
    options.pop("reason", None)
    return SuppressRequest(words[0], words[1:at], options, seconds, reason)


@REGISTRY.add(
    "suppress",
    "/411 suppress <search> <field=value | value | A-id> for <duration> [reason]",
    "silence one alert key of a search for a while",
)
def suppress(ctx: CommandContext, args: Args) -> Reply:
    request = _request(args)
    with ctx.db as session:
        search = ctx.viewer.find_search(session, request.search_ref)
        check_act_on_search(ctx.settings, ctx.services.directory, ctx.actor, search)
        key = suppressions_service.key_from_input(
            session, search, request.key_words, request.key_options
        )
        now = utcnow()
        row = suppressions_service.create_suppression(
            session,
            ctx.actor.user_id,
            search,
            key,
            now + timedelta(seconds=request.seconds),
            request.reason,
            now=now,
        )
        text = (
            f"Suppression {Ref.SUPPRESSION(row.id)}: key {code(key, 200)} of *{escape_mrkdwn(search.name)}* "
            f"is silent for {format_duration(request.seconds)} (until {when(row.expires_at)})."
        )
    return Reply(text)


@REGISTRY.add("suppressions", "/411 suppressions", "active suppressions")
def suppressions(ctx: CommandContext, args: Args) -> Reply:
    lines = []
    with ctx.db as session:
        visible = set(ctx.viewer.search_ids(session))
        for listed in suppressions_service.active_suppressions(session):
            row = listed.suppression
            if row.search_id is not None and row.search_id not in visible:
                continue  # what someone silences tells what their alerts say
            what = code(row.dedupe_key, 150) if row.dedupe_key else code(row.match or {}, 150)
            until = when(row.expires_at) if row.expires_at else "until lifted"
            reason = f" · {escape_mrkdwn(row.reason)}" if row.reason else ""
            lines.append(
                f"`{Ref.SUPPRESSION(row.id)}` {escape_mrkdwn(listed.search_name or 'every search')} · {what} · "
                f"until {until} · by {mention_user(row.created_by)} · "
                f"{row.suppressed_count} suppressed{reason}"
            )
    if not lines:
        return Reply("No active suppressions.")
    return Reply("*Active suppressions*\n" + "\n".join(lines[:40]))


@REGISTRY.add("unsuppress", "/411 unsuppress <SUP-id>", "lift a suppression")
def unsuppress(ctx: CommandContext, args: Args) -> Reply:
    raw = args.word(0, "id")
    number = Ref.SUPPRESSION.parse(raw)
    if number is None:
        raise InvalidInput(f"{code(raw, 50)} is not a suppression id; see `/411 suppressions`.")
    with ctx.db as session:
        row = suppressions_service.find_active(session, number)
        search = session.get(Search, row.search_id) if row.search_id else None
        if search is not None:
            check_act_on_search(ctx.settings, ctx.services.directory, ctx.actor, search)
        elif not is_admin(ctx.settings, ctx.services.directory, ctx.actor.user_id):
            raise PermissionDenied("Only admins may lift a suppression that covers every search.")
        suppressions_service.lift_suppression(session, ctx.actor.user_id, row)
    return Reply(f"Suppression {Ref.SUPPRESSION(number)} is lifted.")
