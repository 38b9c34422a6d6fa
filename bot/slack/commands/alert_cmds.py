"""``/411 alerts ...`` (with their buttons) and suppressions: suppress, suppressions, unsuppress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.permissions import check_act_on_search, is_admin
from bot.definitions import store as search_store
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.models import Alert, AlertState, Search, Suppression, utcnow
from bot.pipeline.keys import fit_key
from bot.slack import limits
from bot.slack.blocks import (
    PRIORITY_BADGE,
    Block,
    button,
    is_snoozed,
    mrkdwn,
    snooze_select,
    state_line,
    when,
)
from bot.slack.commands.parse import Args
from bot.slack.commands.router import REGISTRY, CommandContext, Reply
from bot.slack.ids import ActionId, alert_block_id
from bot.text.escape import code, escape_mrkdwn, mention_user
from searches.durations import format_duration, parse_duration

MAX_ALERTS = 50  # read at most this many; as many as fit Slack's limits are shown
MAX_SUPPRESS = 90 * 86400
SUPPRESS_USAGE = (
    "Usage: `/411 suppress <search> <key> for <duration> [reason]`; the key is "
    "`field=value` (one per key field), a bare value when the search has one key field, "
    "or an alert id (`#92`)."
)


def _alert_blocks(alert: Alert, search_name: str) -> list[Block]:
    now = utcnow()
    text = (
        f"*#{alert.id}* {PRIORITY_BADGE[alert.priority]} · {escape_mrkdwn(search_name)}\n"
        f"{code(alert.title or alert.dedupe_key, 300)}\n{state_line(alert, now)} · seen {alert.occurrences}x, last {when(alert.last_seen)}"
        f"\nkey {code(alert.dedupe_key, 200)} (for `/411 suppress`)"
    )
    value = str(alert.id)
    elements: list[Block] = [button("Take it", ActionId.TAKE, value, style="primary")]
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


def _fit(title: str, rows: list[tuple[Alert, str]]) -> Reply:
    """As many alerts as fit in one message; the rest are counted."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(title, verbatim=False)}]
    shown = 0
    for alert, name in rows:
        candidate = blocks + _alert_blocks(alert, name)
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
        select(Alert, Search.name)
        .join(Search, Search.id == Alert.search_id)
        .where(Alert.state != AlertState.RESOLVED)
    )
    with ctx.db as session:
        if mode == "open":
            title = "*Open alerts*"
        elif mode == "mine":
            query = query.where(Alert.assignee == ctx.actor.user_id)
            title = f"*Open alerts assigned to {mention_user(ctx.actor.user_id)}*"
        elif mode == "search":
            search = search_store.find_search(session, args.word(1, "search"))
            query = query.where(Alert.search_id == search.id)
            title = f"*Open alerts of {escape_mrkdwn(search.name)}*"
        else:
            raise InvalidInput(
                f"Unknown alert list {code(mode, 50)}. Usage: `/411 alerts [open | mine | search <id|name>]`"
            )
        rows = session.execute(query.order_by(Alert.id.desc()).limit(MAX_ALERTS)).all()
        pairs = [(alert, name) for alert, name in rows]
        pairs.sort(key=lambda pair: (-pair[0].priority.rank, -pair[0].id))
        if not pairs:
            return Reply(title + ": none. :tada:")
        return _fit(title, pairs)


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
        raise InvalidInput(SUPPRESS_USAGE)
    try:
        seconds = parse_duration(words[at + 1])
    except ValueError as exc:
        raise InvalidInput(f"Duration: {exc}", field="duration") from None
    if not 60 <= seconds <= MAX_SUPPRESS:
        raise InvalidInput("A suppression lasts between 1 minute and 90 days.", field="duration")
    options = dict(args.options)
    reason = " ".join(words[at + 2 :]) or options.pop("reason", "")
    options.pop("reason", None)
    return SuppressRequest(words[0], words[1:at], options, seconds, reason)


def _expected(search: Search) -> str:
    if search.key_fields:
        return "`" + "|".join(f"{f}=…" for f in search.key_fields) + "` or an alert id (`#92`)"
    return "an alert id (`#92`): this search has no key fields, see `/411 alerts search`"


def _alert_key(session: Session, search: Search, ref: str) -> str:
    raw = ref.lstrip("#")
    if not raw.isdigit():
        raise InvalidInput(f"{code(ref, 50)} is not an alert id. {SUPPRESS_USAGE}")
    alert = session.get(Alert, int(raw))
    if alert is None or alert.search_id != search.id:
        raise NotFound(f"Search *{escape_mrkdwn(search.name)}* has no alert #{raw}.")
    return alert.dedupe_key


def _field_values(search: Search, request: SuppressRequest) -> dict[str, str]:
    """field -> value from ``field=value`` options or words; the parser lowercases option names."""
    by_lower = {f.lower(): f for f in search.key_fields}
    values: dict[str, str] = {}
    pairs = list(request.key_options.items())
    for word in request.key_words:
        for part in word.split("|"):
            name, eq, value = part.partition("=")
            if not eq:
                raise InvalidInput(
                    f"{code(word, 100)} is not `field=value`. Expected {_expected(search)}."
                )
            pairs.append((name, value))
    for name, value in pairs:
        field_name = by_lower.get(name.strip().lower())
        if field_name is None:
            raise InvalidInput(
                f"{code(name, 60)} is not a key field of *{escape_mrkdwn(search.name)}*; "
                f"its alert keys look like {_expected(search)}."
            )
        values[field_name] = value
    return values


def suppression_key(session: Session, search: Search, request: SuppressRequest) -> str:
    """The dedupe key exactly as the pipeline writes it (bot/pipeline/keys.py), or InvalidInput."""
    options = request.key_options
    words = request.key_words
    if "alert" in options:
        if len(options) > 1 or words:
            raise InvalidInput(f"Give the key once. {SUPPRESS_USAGE}")
        return _alert_key(session, search, options["alert"])
    if len(words) == 1 and words[0].startswith("#"):
        if options:
            raise InvalidInput(f"Give the key once. {SUPPRESS_USAGE}")
        return _alert_key(session, search, words[0])
    if not search.key_fields:
        raise InvalidInput(
            f"*{escape_mrkdwn(search.name)}* has no key fields: give {_expected(search)}."
        )
    if not options and len(words) == 1 and "=" not in words[0]:
        if len(search.key_fields) != 1:
            raise InvalidInput(
                f"*{escape_mrkdwn(search.name)}* has {len(search.key_fields)} key fields: give "
                f"{_expected(search)}."
            )
        return fit_key(f"{search.key_fields[0]}={words[0]}")
    if not options and not words:
        raise InvalidInput(f"Missing key. Expected {_expected(search)}.")
    values = _field_values(search, request)
    missing = [f for f in search.key_fields if f not in values]
    if missing:
        raise InvalidInput(
            f"Missing {', '.join(code(f, 60) for f in missing)}: the key of "
            f"*{escape_mrkdwn(search.name)}* is {_expected(search)}."
        )
    return fit_key("|".join(f"{f}={values[f]}" for f in search.key_fields))


@REGISTRY.add(
    "suppress",
    "/411 suppress <search> <field=value | value | #alert> for <duration> [reason]",
    "silence one alert key of a search for a while",
)
def suppress(ctx: CommandContext, args: Args) -> Reply:
    request = _request(args)
    with ctx.db as session:
        search = search_store.find_search(session, request.search_ref)
        check_act_on_search(ctx.settings, ctx.services.directory, ctx.actor, search)
        key = suppression_key(session, search, request)
        now = utcnow()
        row = Suppression(
            search_id=search.id,
            dedupe_key=key,
            reason=request.reason,
            created_by=ctx.actor.user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=request.seconds),
        )
        session.add(row)
        session.flush()
        text = (
            f"Suppression #{row.id}: key {code(key, 200)} of *{escape_mrkdwn(search.name)}* "
            f"is silent for {format_duration(request.seconds)} (until {when(row.expires_at)})."
        )
    return Reply(text)


@REGISTRY.add("suppressions", "/411 suppressions", "active suppressions")
def suppressions(ctx: CommandContext, args: Args) -> Reply:
    now = utcnow()
    with ctx.db as session:
        rows = session.execute(
            select(Suppression, Search.name)
            .join(Search, Search.id == Suppression.search_id, isouter=True)
            .where(Suppression.lifted_at.is_(None))
            .order_by(Suppression.id)
        ).all()
        lines = []
        for row, name in rows:
            if not row.is_active(now):
                continue
            what = code(row.dedupe_key, 150) if row.dedupe_key else code(row.match or {}, 150)
            until = when(row.expires_at) if row.expires_at else "until lifted"
            reason = f" · {escape_mrkdwn(row.reason)}" if row.reason else ""
            lines.append(
                f"`#{row.id}` {escape_mrkdwn(name or 'every search')} · {what} · until {until} · "
                f"by {mention_user(row.created_by)} · {row.suppressed_count} suppressed{reason}"
            )
    if not lines:
        return Reply("No active suppressions.")
    return Reply("*Active suppressions*\n" + "\n".join(lines[:40]))


@REGISTRY.add("unsuppress", "/411 unsuppress <id>", "lift a suppression")
def unsuppress(ctx: CommandContext, args: Args) -> Reply:
    raw = args.word(0, "id").lstrip("#")
    if not raw.isdigit():
        raise InvalidInput(f"{code(raw, 50)} is not a suppression id; see `/411 suppressions`.")
    with ctx.db as session:
        row = session.get(Suppression, int(raw))
        if row is None or row.lifted_at is not None:
            raise NotFound(f"No active suppression #{raw}.")
        search = session.get(Search, row.search_id) if row.search_id else None
        if search is not None:
            check_act_on_search(ctx.settings, ctx.services.directory, ctx.actor, search)
        elif not is_admin(ctx.settings, ctx.services.directory, ctx.actor.user_id):
            raise PermissionDenied("Only admins may lift a suppression that covers every search.")
        row.lifted_at = utcnow()
        row.lifted_by = ctx.actor.user_id
    return Reply(f"Suppression #{raw} is lifted.")
