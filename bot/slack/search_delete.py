"""Deleting a search asks first: ``/411 search delete`` answers with a button whose Block Kit
``confirm`` dialog names the search; only the confirmed press deletes it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.alerts.permissions import Actor, check_manage_search
from bot.alerts.visibility import Viewer
from bot.definitions import store as search_store
from bot.errors import InvalidInput
from bot.messages.blocks import Block, button, mrkdwn
from bot.messages.confirm import confirm_dialog
from bot.messages.ids import ActionId
from bot.models import Search
from bot.slack.feedback import guarded
from bot.slack.services import Services
from bot.text.escape import escape_mrkdwn
from bot.text.refs import Ref


def delete_question(search: Search) -> tuple[str, list[Block]]:
    """The ephemeral answer to ``/411 search delete``: what goes, and the button."""
    name = escape_mrkdwn(search.name)
    text = (
        f"Delete search *{name}* ({Ref.SEARCH(search.id)})? It stops running; "
        "its alerts stay in the history."
    )
    delete = button("Delete search", ActionId.SEARCH_DELETE, str(search.id), style="danger")
    delete["confirm"] = confirm_dialog(
        "Delete this search?", f"Delete *{name}* for good? This cannot be undone here.", "Delete"
    )
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(text, verbatim=False)},
        {"type": "actions", "elements": [delete]},
    ]
    return text, blocks


def register(app: App) -> None:
    @app.action(ActionId.SEARCH_DELETE)
    @guarded
    def on_delete(
        ack: Ack, action: dict[str, Any], context: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        actor: Actor | None = context.get("actor")
        raw = str(action.get("value") or "")
        if actor is None or not raw.isdigit():
            raise InvalidInput("This button does not name a search.")
        services: Services = context["services"]
        settings = services.runtime.settings
        with context["db"] as session:
            search = Viewer(settings, services.directory, actor.user_id).find_search(session, raw)
            check_manage_search(settings, services.directory, actor, search, "delete")
            name = search.name
            search_store.delete_search(session, search, actor.user_id, "deleted with /411")
        text = f"Search *{escape_mrkdwn(name)}* is deleted."
        respond(text=text, response_type="ephemeral", replace_original=True)
