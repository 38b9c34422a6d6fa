"""``/411 search ...``: create, test, list, show, edit, enable, disable, delete, run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import select

from bot.alerts.permissions import check_manage_search, check_source_allowed
from bot.config import Settings
from bot.definitions import store as search_store
from bot.definitions.checks import check_for_save
from bot.definitions.revisions import field_diff
from bot.definitions.search import (
    ALIASES,
    DefinitionError,
    SearchDefinition,
    definition_from_search,
    definition_to_dict,
    parse_definition,
    redacted_definition_dict,
)
from bot.errors import InvalidInput
from bot.messages.blocks import when
from bot.models import SearchRevision, SearchRun
from bot.runs import runner
from bot.slack import slow
from bot.slack.commands.parse import Args, slack_ref
from bot.slack.commands.preview import WINDOW_OPTIONS, preview_window, preview_window_job
from bot.slack.commands.router import REGISTRY, CommandContext, Reply
from bot.slack.search_delete import delete_question
from bot.slack.search_modal import ModalChoices, modal_choices, search_modal
from bot.slack.sigma_modal import sigma_modal
from bot.text.escape import (
    code,
    code_block,
    escape_mrkdwn,
    mention_channel,
    mention_user,
    truncate,
)
from bot.text.refs import Ref

FIELD_NAMES = set(SearchDefinition.__dataclass_fields__) | set(ALIASES) | {"condition"}
ID_FIELDS = {"owner", "channel", "oncall_group"}
MAX_LIST = 40
SAVE_CHECK_SECONDS = 2.0  # a slash command must be answered within 3 seconds


def raw_from_options(options: dict[str, str]) -> dict[str, Any]:
    """``key=value`` options as a raw definition; unknown keys are source settings."""
    raw: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for key, value in options.items():
        if key.startswith(("source_config.", "config.")):
            config[key.split(".", 1)[1]] = value
        elif key in FIELD_NAMES:
            if key in ID_FIELDS:
                value = slack_ref(value)
            elif key == "restricted_to":
                value = ",".join(slack_ref(v) for v in value.split(","))
            raw[key] = value
        else:
            config[key] = value
    if config:
        raw["source_config"] = {**raw.get("source_config", {}), **config}
    return raw


def _definition(raw: dict[str, Any]) -> SearchDefinition:
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        problems = "\n".join(
            f"• {code(e.field, 80)}: {escape_mrkdwn(e.message)}" for e in exc.errors
        )
        raise InvalidInput(f"The search definition has problems:\n{problems}") from None


def _check_saveable(ctx: CommandContext, defn: SearchDefinition) -> list[str]:
    """Refuse a search that cannot work (see definitions/checks); return its warnings."""
    findings = check_for_save(defn, ctx.settings, timeout=SAVE_CHECK_SECONDS)
    if findings.errors:
        problems = "\n".join(
            f"• {code(e.field, 80)}: {escape_mrkdwn(e.message)}" for e in findings.errors
        )
        raise InvalidInput(f"The search cannot work as written:\n{problems}")
    return [f"\n:warning: {escape_mrkdwn(w)}" for w in findings.warnings[:5]]


def _choices(ctx: CommandContext) -> ModalChoices:
    return modal_choices(ctx.settings, ctx.services.directory, ctx.client, ctx.actor.user_id)


def _check_source(ctx: CommandContext, source: str) -> None:
    check_source_allowed(ctx.settings, ctx.services.directory, ctx.actor, source)


def _pop_reason(options: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """``reason="..."`` is the revision's reason, not a source setting."""
    rest = dict(options)
    return rest, rest.pop("reason", None)


@REGISTRY.add(
    "search create",
    "/411 search create [name=… source=… query=… schedule=…] | /411 search create sigma",
    "create a search (a form, everything inline, or from a pasted Sigma rule)",
)
def create(ctx: CommandContext, args: Args) -> Reply | None:
    if not args.options and [w.lower() for w in args.words] == ["sigma"]:
        view = sigma_modal(ctx.channel_id)
        ctx.client.views_open(trigger_id=ctx.trigger_id or "", view=view)
        return None
    if not args.options:
        view = search_modal(_choices(ctx), channel=ctx.channel_id)
        ctx.client.views_open(trigger_id=ctx.trigger_id or "", view=view)
        return None
    options, reason = _pop_reason(args.options)
    raw = raw_from_options(options)
    if args.words and "name" not in raw:
        raw["name"] = " ".join(args.words)
    raw.setdefault("owner", ctx.actor.user_id)
    raw.setdefault("channel", ctx.channel_id)
    defn = _definition(raw)
    _check_source(ctx, defn.source)
    warnings = _check_saveable(ctx, defn)
    with ctx.db as session:
        search = search_store.create_search(
            session, defn, ctx.actor.user_id, reason or "created with /411"
        )
        search_id = search.id
    return Reply(
        f"Created search *{escape_mrkdwn(defn.name)}* ({Ref.SEARCH(search_id)}), alerts go to {mention_channel(defn.channel)}. Try it with `/411 search test {search_id}`."
        + "".join(warnings)
    )


@REGISTRY.add(
    "search test",
    "/411 search test <id|name> [last=1h | from=… to=…] | /411 search test source=… query=…",
    "run a search without alerting (over its look-back range by default): the count and the first results",
)
def test(ctx: CommandContext, args: Args) -> None:
    target: SearchDefinition | int
    window_options = {k: v for k, v in args.options.items() if k in WINDOW_OPTIONS}
    options = {k: v for k, v in args.options.items() if k not in WINDOW_OPTIONS}
    if options:
        raw = raw_from_options(options)
        raw.setdefault("name", "inline test")
        raw.setdefault("channel", ctx.channel_id)
        defn = _definition(raw)
        target = defn
    else:
        with ctx.db as session:
            search = ctx.viewer.find_search(session, args.word(0, "search"))
            defn = definition_from_search(search)
            target = search.id
    _check_source(ctx, defn.source)
    now = datetime.now(UTC)
    window = preview_window(window_options, defn.lookback_seconds, now, ctx.settings.tz)
    # The same code path as a run (runner.preview_search), in a worker process after the ack.
    ctx.later(preview_window_job, ctx.settings, target, window, now)


@REGISTRY.add(
    "search list",
    "/411 search list [filter]",
    "searches with owner, channel, priority, schedule, last run, health and open alerts",
)
def list_(ctx: CommandContext, args: Args) -> Reply:
    text_filter = " ".join(args.words) or None
    with ctx.db as session:
        visible = set(ctx.viewer.search_ids(session))
        summaries = [s for s in search_store.list_searches(session, text_filter) if s.id in visible]
    if not summaries:
        return Reply(
            "No searches"
            + (
                f" match {code(text_filter)}."
                if text_filter
                else " yet. Create one with `/411 search create`."
            )
        )
    lines = [list_line(s) for s in summaries[:MAX_LIST]]
    if len(summaries) > MAX_LIST:
        lines.append(f"…and {len(summaries) - MAX_LIST} more; narrow it with a filter.")
    return Reply(truncate("\n".join(lines), 3000))


def revision_line(revision: SearchRevision, before: dict[str, Any] | None) -> str:
    """Who, when, why, and what changed (a field diff against the revision before)."""
    line = (
        f"• v{revision.version} {when(revision.changed_at)} by "
        f"{mention_user(revision.changed_by)}: {escape_mrkdwn(revision.reason)}"
    )
    changes = field_diff(before, revision.snapshot)
    if changes:
        line += "\n    " + escape_mrkdwn("; ".join(changes[:6]))
        line += f" (+{len(changes) - 6} more)" if len(changes) > 6 else ""
    return line


HEALTH_MARK = {"ok": ":large_green_circle:", "warning": ":warning:", "never ran": ":white_circle:"}


def list_line(s: search_store.SearchSummary) -> str:
    """One search: owner, channel, priority, schedule, last run and health."""
    last = "never ran"
    if s.last_run_status is not None and s.last_run_at is not None:
        last = f"{s.last_run_status.value} {when(s.last_run_at)}"
    mark = HEALTH_MARK.get(s.health, ":red_circle:")
    state = "" if s.enabled else " · _disabled_"
    return (
        f"{mark} `{Ref.SEARCH(s.id)}` *{escape_mrkdwn(s.name)}* · {escape_mrkdwn(s.priority)} · "
        f"{escape_mrkdwn(s.schedule)} · owner {mention_user(s.owner)} · "
        f"{mention_channel(s.channel) if s.channel else 'no channel'} · last run: {last} · "
        f"health: {s.health} · {s.open_alerts} open{state}"
    )


@REGISTRY.add(
    "search show",
    "/411 search show <id|name>",
    "a search's definition, last runs and change history",
)
def show(ctx: CommandContext, args: Args) -> Reply:
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        definition = yaml.safe_dump(
            redacted_definition_dict(definition_from_search(search)),
            sort_keys=False,
            allow_unicode=True,
        )
        runs = session.scalars(
            select(SearchRun)
            .where(SearchRun.search_id == search.id)
            .order_by(SearchRun.id.desc())
            .limit(5)
        ).all()
        every = search_store.revisions(session, search)
        previous = [None, *(r.snapshot for r in every)]
        revisions = list(zip(every, previous, strict=False))[-5:]
        head = f"*{escape_mrkdwn(search.name)}* ({Ref.SEARCH(search.id)}, version {search.version}) · owner {mention_user(search.owner)}"
        run_lines = [
            f"• {when(r.started_at or r.scheduled_for)} {r.status.value} · {r.hits} hits · {r.alerts_new} new"
            + (f" · {code(r.error, 200)}" if r.error else "")
            for r in runs
        ] or ["• no runs yet"]
        rev_lines = [revision_line(r, before) for r, before in reversed(revisions)]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": code_block(definition, 2900)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate("*Last runs*\n" + "\n".join(run_lines), 3000),
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate("*History*\n" + "\n".join(rev_lines), 3000),
            },
        },
    ]
    return Reply(f"Search {escape_mrkdwn(search.name)}", blocks)


@REGISTRY.add(
    "search edit",
    "/411 search edit <id|name> [field=value …]",
    "change a search (a form, or fields inline)",
)
def edit(ctx: CommandContext, args: Args) -> Reply | None:
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, "edit")
        defn = definition_from_search(search)
        if args.options:
            options, reason = _pop_reason(args.options)
            new = _definition(merge_edit(definition_to_dict(defn), raw_from_options(options)))
            _check_source(ctx, defn.source)  # changing a privileged search is privileged too
            _check_source(ctx, new.source)
            warnings = _check_saveable(ctx, new)
            changed = search_store.update_search(
                session, search, new, ctx.actor.user_id, reason or "edited with /411"
            )
            return Reply(
                f"Search *{escape_mrkdwn(search.name)}* "
                + ("updated." if changed else "unchanged.")
                + "".join(warnings)
            )
        view = search_modal(_choices(ctx), defn, search_id=search.id, channel=ctx.channel_id)
    ctx.client.views_open(trigger_id=ctx.trigger_id or "", view=view)
    return None


def merge_edit(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The stored definition with ``changes``; ``source_config`` is merged key by key.

    ``query=…`` alone must not drop the stored ``path``/``index``. A new ``source``
    starts from an empty ``source_config``: the old one's settings mean nothing to it.
    """
    raw = {**stored, **changes}
    same_source = changes.get("source", stored.get("source")) == stored.get("source")
    if same_source and "source_config" in changes:
        raw["source_config"] = {**(stored.get("source_config") or {}), **changes["source_config"]}
    if "condition_op" in raw or "condition_threshold" in raw:
        raw.pop("condition", None)
    return raw


def _toggle(ctx: CommandContext, args: Args, enabled: bool) -> Reply:
    verb = "enable" if enabled else "disable"
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, verb)
        changed = search_store.set_enabled(session, search, enabled, ctx.actor.user_id)
        name = search.name
    state = "enabled" if enabled else "disabled"
    return Reply(
        f"Search *{escape_mrkdwn(name)}* "
        + (f"is {state} now." if changed else f"was {state} already.")
    )


@REGISTRY.add("search enable", "/411 search enable <id|name>", "schedule a search again")
def enable(ctx: CommandContext, args: Args) -> Reply:
    return _toggle(ctx, args, True)


@REGISTRY.add("search disable", "/411 search disable <id|name>", "stop running a search")
def disable(ctx: CommandContext, args: Args) -> Reply:
    return _toggle(ctx, args, False)


@REGISTRY.add(
    "search delete",
    "/411 search delete <id|name>",
    "delete a search (its alerts stay in the history)",
)
def delete(ctx: CommandContext, args: Args) -> Reply:
    """Asks first: the answer's button (with a confirm dialog) deletes (bot/slack/search_delete.py)."""
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, "delete")
        text, blocks = delete_question(search)
    return Reply(text, blocks)


@REGISTRY.add(
    "search push-token",
    "/411 search push-token <id|name>",
    "issue a new token for a push search (shown to you alone, once)",
)
def push_token(ctx: CommandContext, args: Args) -> Reply:
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, "edit")
        token = search_store.issue_push_token(session, search, ctx.actor.user_id)
        search_id, name = search.id, search.name
    base = (ctx.settings.public_url or "https://<411 host>").rstrip("/")
    return Reply(
        f"New push token for *{escape_mrkdwn(name)}* (the previous one no longer works). "
        "It is shown only now:\n"
        f"{code(token, 200)}\n"
        f"Send events with `POST {escape_mrkdwn(base)}/push/{search_id}` and the header "
        "`Authorization: Bearer <token>`; the body is a JSON object or a list of them."
    )


@REGISTRY.add("search run", "/411 search run <id|name>", "run a search now, for real")
def run(ctx: CommandContext, args: Args) -> None:
    with ctx.db as session:
        search = ctx.viewer.find_search(session, args.word(0, "search"))
        check_manage_search(ctx.settings, ctx.services.directory, ctx.actor, search, "run")
        search_id, name = search.id, search.name
    ctx.later(run_job, ctx.settings, search_id, name)


def run_text(name: str, finished: SearchRun) -> str:
    text = (
        f"Ran *{escape_mrkdwn(name)}*: {finished.status.value} · {finished.hits} hits · "
        f"{finished.alerts_new} new alerts · {finished.alerts_updated} updated"
    )
    if finished.error:
        text += f"\n{code(finished.error, 1500)}"
    return text


def run_job(settings: Settings, search_id: int, name: str) -> str:
    """In a worker process (``bot.slack.slow``): run the search, answer with the reply text."""
    return run_text(name, runner.run_search(slow.child_runtime(settings), search_id))
