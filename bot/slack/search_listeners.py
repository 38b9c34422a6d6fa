"""Submissions of the search modal (create / edit): per-field errors, or save and confirm."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.alerts.permissions import Actor, check_manage_search, check_source_allowed
from bot.definitions import store as search_store
from bot.definitions.checks import check_for_save
from bot.errors import BotError
from bot.messages.ids import ActionId, CallbackId
from bot.slack.feedback import guarded
from bot.slack.search_modal import (
    ModalChoices,
    ModalErrors,
    block_for,
    definition_from_view,
    errors_by_block,
    modal_choices,
    raw_from_view,
    search_modal,
    why_of,
)
from bot.slack.services import Services
from bot.text.escape import escape_mrkdwn
from bot.text.refs import Ref

SAVE_CHECK_SECONDS = 2.0  # Slack wants the modal's answer within 3 seconds


def tell(client: WebClient, user: str, channel: str | None, text: str) -> None:
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
    except SlackApiError:
        pass  # not in that channel (or it is gone): a DM still reaches them
    client.chat_postMessage(channel=user, text=text)


def register(app: App) -> None:
    @app.view(CallbackId.SEARCH_CREATE)
    @guarded
    def on_create(
        ack: Ack, view: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        _save(ack, view, context, client, editing=False)

    @app.view(CallbackId.SEARCH_EDIT)
    @guarded
    def on_edit(ack: Ack, view: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        _save(ack, view, context, client, editing=True)

    @app.action(ActionId.HOME_CREATE)
    @guarded
    def on_home_create(
        ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        choices = _choices(context, client)
        client.views_open(trigger_id=body["trigger_id"], view=search_modal(choices))

    @app.action("source")
    @guarded
    def on_source_chosen(
        ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        """Another source was chosen in the modal: swap in that source's own settings."""
        ack()
        view = body["view"]
        meta = json.loads(view.get("private_metadata") or "{}")
        values = raw_from_view(view, lenient=True)
        if values.get("source") != meta.get("source"):
            values.pop("source_config", None)  # another source's settings mean nothing here
        rebuilt = search_modal(
            _choices(context, client),
            search_id=meta.get("search_id"),
            channel=meta.get("channel"),
            values=values,
        )
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=rebuilt)


def _choices(context: dict[str, Any], client: WebClient) -> ModalChoices:
    services: Services = context["services"]
    actor: Actor = context["actor"]
    return modal_choices(services.runtime.settings, services.directory, client, actor.user_id)


def _save(
    ack: Ack, view: dict[str, Any], context: dict[str, Any], client: WebClient, *, editing: bool
) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    actor: Actor = context["actor"]
    services: Services = context["services"]
    channel = meta.get("channel")
    settings = services.runtime.settings
    try:
        defn = definition_from_view(view, owner=actor.user_id, channel=channel)
        check_source_allowed(settings, services.directory, actor, defn.source)
        findings = check_for_save(defn, settings, timeout=SAVE_CHECK_SECONDS)
        if findings.errors:
            raise ModalErrors(errors_by_block(findings.errors, defn.source))
        with context["db"] as session:
            if editing:
                search = search_store.find_search(session, str(meta.get("search_id")))
                check_manage_search(
                    settings,
                    services.directory,
                    Actor(actor.user_id, channel),
                    search,
                    "edit",
                )
                # Changing a privileged search is privileged too, whatever the new source.
                check_source_allowed(settings, services.directory, actor, search.source)
                # The form has no field for it: an imported search stays matched to its rule.
                defn = dataclasses.replace(defn, origin=search.origin)
                changed = search_store.update_search(
                    session, search, defn, actor.user_id, why_of(view) or "edited in Slack"
                )
                text = f"Search *{escape_mrkdwn(defn.name)}* " + (
                    "saved." if changed else "unchanged."
                )
            else:
                search = search_store.create_search(
                    session, defn, actor.user_id, "created in Slack"
                )
                text = f"Created search *{escape_mrkdwn(defn.name)}* ({Ref.SEARCH(search.id)}). Try it: `/411 search test {search.id}`"
    except ModalErrors as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    except BotError as exc:
        ack(
            response_action="errors",
            errors={block_for(getattr(exc, "field", None) or "name"): exc.message[:2000]},
        )
        return
    ack()
    if findings.warnings:
        text += "".join(f"\n:warning: {escape_mrkdwn(w)}" for w in findings.warnings[:5])
    tell(client, actor.user_id, channel, text)
