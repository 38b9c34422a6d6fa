"""Listeners for the buttons on alert and burst messages, and for their modals.

Each one acks at once, then calls an ``alert_actions`` service function inside
one transaction. A refusal raises PermissionDenied before anything changed; the
central error handler turns it into an ephemeral explanation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.alerts import actions as alert_actions
from bot.alerts import bursts
from bot.alerts.actions import ActionContext
from bot.alerts.permissions import Actor, check_alert_action
from bot.errors import BotError, InvalidInput
from bot.messages.ids import ActionId, CallbackId, alert_id_from, burst_id_from, holder_from
from bot.models import Alert, Resolution, Search
from bot.slack.alert_modals import (
    Target,
    burst_resolve_modal,
    note_modal,
    resolve_modal,
    snooze_modal,
    value_of,
)
from bot.slack.feedback import guarded
from bot.slack.services import Services
from bot.text.escape import mention_user
from bot.text.refs import Ref
from searches.durations import parse_duration

Context = dict[str, Any]


def _alert_id(action: dict[str, Any]) -> int:
    alert_id = alert_id_from(action.get("block_id"), action.get("value"))
    if alert_id is None:
        raise InvalidInput("This button does not name an alert.")
    return alert_id


def _selected(action: dict[str, Any]) -> str:
    """The value of the menu entry picked ("" when none)."""
    return str((action.get("selected_option") or {}).get("value", ""))


def _actor(context: Context) -> Actor:
    actor = context.get("actor")
    if actor is None:
        raise InvalidInput("Slack did not say who pressed the button.")
    return cast(Actor, actor)


def _confirm(body: dict[str, Any], respond: Respond, text: str) -> None:
    """On an ephemeral list (``/411 alerts``) the channel message is not in view: say it worked."""
    if (body.get("container") or {}).get("is_ephemeral"):
        respond(text=text, response_type="ephemeral", replace_original=False)


def _run(context: Context, fn: Callable[[ActionContext], Any]) -> Any:
    services: Services = context["services"]
    with services.acting(_actor(context)) as ctx:
        return fn(ctx)


def _simple(name: str, fn: Callable[[ActionContext, int], Alert]) -> Callable[..., None]:
    def listener(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, respond: Respond
    ) -> None:
        ack()
        alert_id = _alert_id(action)
        _run(context, lambda ctx: fn(ctx, alert_id))
        _confirm(body, respond, f"Done: {name} {Ref.ALERT(alert_id)}.")

    listener.__name__ = f"on_{name.replace(' ', '_')}"
    return guarded(listener)


def _check_alert(context: Context, alert_id: int) -> tuple[Alert, Search | None]:
    """Permission check before opening a modal, so a refusal comes before any typing.

    Returns the alert and its search (None when deleted), as read for the check."""

    def check(ctx: ActionContext) -> tuple[Alert, Search | None]:
        alert, search = alert_actions.load_alert(ctx.session, alert_id)
        check_alert_action(ctx.settings, ctx.directory, ctx.actor, search, alert)
        return alert, search

    return cast(tuple[Alert, Search | None], _run(context, check))


def _check_only(context: Context, alert_id: int) -> Alert:
    return _check_alert(context, alert_id)[0]


def register(app: App) -> None:

    @app.action(ActionId.TAKE)
    @guarded
    def on_take(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, respond: Respond
    ) -> None:
        ack()
        alert_id, holder = _alert_id(action), holder_from(action.get("value"))
        # holder: who the person saw holding it (they confirmed taking it from them);
        # someone else holding it now means they lost a race, and are told who won.
        _run(context, lambda ctx: alert_actions.take(ctx, alert_id, holder=holder))
        _confirm(body, respond, f"Done: took alert #{alert_id}.")

    app.action(ActionId.UNSNOOZE)(_simple("unsnoozed", alert_actions.unsnooze))
    app.action(ActionId.REOPEN)(_simple("reopened", alert_actions.reopen))
    app.action(ActionId.ESCALATE)(_simple("escalated", alert_actions.escalate))

    @app.action(re.compile(f"^{ActionId.LINK}"))
    @guarded
    def on_link(ack: Ack) -> None:
        ack()  # a link button opens the URL in the browser; Slack still tells us

    @app.action(ActionId.ASSIGN)
    @guarded
    def on_assign(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, respond: Respond
    ) -> None:
        ack()
        picked = action.get("selected_user") or (action.get("selected_option") or {}).get("value")
        alert_id, user = _alert_id(action), str(picked or "")
        _run(context, lambda ctx: alert_actions.assign(ctx, alert_id, user))
        _confirm(body, respond, f"Done: {Ref.ALERT(alert_id)} assigned to {mention_user(user)}.")

    @app.action(ActionId.SNOOZE)
    @guarded
    def on_snooze(
        ack: Ack,
        action: dict[str, Any],
        body: dict[str, Any],
        context: Context,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        alert_id = _alert_id(action)
        choice = _selected(action)
        if choice == "custom":
            _check_only(context, alert_id)
            target = Target(alert_id, _actor(context).channel_id)
            client.views_open(trigger_id=body["trigger_id"], view=snooze_modal(target))
            return
        seconds = int(choice) if choice.isdigit() else 0
        _run(context, lambda ctx: alert_actions.snooze(ctx, alert_id, seconds))
        _confirm(body, respond, f"Done: {Ref.ALERT(alert_id)} snoozed.")

    @app.action(ActionId.RESOLVE)
    @guarded
    def on_resolve(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        alert_id = _alert_id(action)
        alert = _check_only(context, alert_id)
        target = Target(alert_id, _actor(context).channel_id)
        client.views_open(
            trigger_id=body["trigger_id"],
            view=resolve_modal(target, alert.title or alert.dedupe_key),
        )

    @app.action(ActionId.NOTE)
    @guarded
    def on_note(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        alert_id = _alert_id(action)
        _check_only(context, alert_id)
        target = Target(alert_id, _actor(context).channel_id)
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(target))

    @app.action(re.compile(f"^{ActionId.QUICK}:"))
    @guarded
    def on_quick(ack: Ack, action: dict[str, Any], context: Context) -> None:
        ack()
        verb, *rest = _selected(action).split(":")
        if not rest or not rest[-1].isdigit():
            raise InvalidInput("This menu entry does not name an alert.")
        alert_id = int(rest[-1])
        if verb == "take":
            _run(context, lambda ctx: alert_actions.take(ctx, alert_id))
        elif verb == "resolve":
            _run(context, lambda ctx: alert_actions.resolve(ctx, alert_id, Resolution.NOT_AN_ISSUE))
        elif verb == "snooze" and len(rest) == 2 and rest[0].isdigit():
            _run(context, lambda ctx: alert_actions.snooze(ctx, alert_id, int(rest[0])))
        else:
            raise InvalidInput(f"Unknown action {verb!r}.")

    @app.action(ActionId.BURST_RESOLVE)
    @guarded
    def on_burst_resolve(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        burst_id = _burst_id(action)
        ids = _burst_alerts(context, burst_id)
        target = Target(burst_id, _actor(context).channel_id)
        client.views_open(trigger_id=body["trigger_id"], view=burst_resolve_modal(target, len(ids)))

    @app.action(ActionId.BURST_SNOOZE)
    @guarded
    def on_burst_snooze(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, respond: Respond
    ) -> None:
        ack()
        burst_id = _burst_id(action)
        choice = _selected(action)
        seconds = int(choice) if choice.isdigit() else 24 * 3600  # "custom" on a burst: a day
        result = _run(context, lambda ctx: bursts.snooze_all(ctx, burst_id, seconds))
        respond(text=result, response_type="ephemeral", replace_original=False)

    _register_views(app)


def _burst_id(action: dict[str, Any]) -> int:
    burst_id = burst_id_from(action.get("block_id"), action.get("value"))
    if burst_id is None:
        raise InvalidInput("This button does not name a burst.")
    return burst_id


def _burst_alerts(context: Context, burst_id: int) -> list[int]:
    with context["db"] as session:
        return bursts.get(session, burst_id).alert_ids


def _view_actor(context: Context, target: Target) -> Actor:
    return Actor(user_id=_actor(context).user_id, channel_id=target.channel)


def _submit(
    ack: Ack,
    context: Context,
    view: dict[str, Any],
    block: str,
    fn: Callable[[ActionContext, Target], Any],
) -> None:
    """Run the action, then close the modal; a refusal shows on the modal, nothing changed."""
    target = Target.load(view.get("private_metadata", ""))
    services: Services = context["services"]
    try:
        with services.acting(_view_actor(context, target)) as ctx:
            fn(ctx, target)
    except BotError as exc:
        ack(response_action="errors", errors={block: exc.message})
        return
    ack()


def _register_views(app: App) -> None:
    @app.view(CallbackId.RESOLVE)
    @guarded
    def on_resolve_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        resolution = Resolution(value_of(view, "resolution") or Resolution.ACTION_TAKEN.value)
        note = value_of(view, "note") or ""
        _submit(
            ack,
            context,
            view,
            "note",
            lambda ctx, t: alert_actions.resolve(ctx, t.id, resolution, note),
        )

    @app.view(CallbackId.NOTE)
    @guarded
    def on_note_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        note = value_of(view, "note") or ""
        _submit(ack, context, view, "note", lambda ctx, t: alert_actions.add_note(ctx, t.id, note))

    @app.view(CallbackId.SNOOZE)
    @guarded
    def on_snooze_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        raw = value_of(view, "duration") or ""
        try:
            seconds = parse_duration(raw)
        except ValueError as exc:
            ack(response_action="errors", errors={"duration": str(exc)})
            return
        _submit(
            ack, context, view, "duration", lambda ctx, t: alert_actions.snooze(ctx, t.id, seconds)
        )

    @app.view(CallbackId.BURST_RESOLVE)
    @guarded
    def on_burst_resolve_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        resolution = Resolution(value_of(view, "resolution") or Resolution.NOT_AN_ISSUE.value)
        note = value_of(view, "note") or ""

        def apply(ctx: ActionContext, t: Target) -> None:
            bursts.resolve_all(ctx, t.id, resolution, note)

        _submit(ack, context, view, "note", apply)
