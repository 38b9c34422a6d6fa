"""The Assign menu's options: only people who may act on the alert, filtered as one types.

An ``external_select`` asks the bot (a ``block_suggestion``) for its options; the answer
is the alert's channel members (or the people its restricted search names), its owner
and admins, by name, at most Slack's 100. Assigning anyone else is refused anyway
(``actions.assign``): the menu only keeps people from picking them.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.alerts.permissions import may_act_on_alert, people_who_may_act
from bot.messages.ids import ActionId, alert_id_from
from bot.models import Alert, Search
from bot.slack.services import Services
from bot.text.escape import plain

MAX_OPTIONS = 100  # Slack's limit for an external_select's answer


def register(app: App) -> None:
    @app.options(ActionId.ASSIGN)
    def on_assign_options(ack: Ack, payload: dict[str, Any], context: dict[str, Any]) -> None:
        ack(options=_options(payload, context))


def _options(payload: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    alert_id = alert_id_from(payload.get("block_id"), None)
    actor = context.get("actor")
    if alert_id is None or actor is None:
        return []
    services: Services = context["services"]
    settings, directory = services.runtime.settings, services.directory
    with context["db"] as session:
        alert = session.get(Alert, alert_id)
        search = session.get(Search, alert.search_id) if alert is not None else None
        if alert is None or not may_act_on_alert(settings, directory, actor.user_id, search, alert):
            return []  # an outsider is offered nobody (and learns nothing of the channel)
        people = people_who_may_act(settings, directory, search, alert)
    typed = str(payload.get("value") or "").strip().lower()
    labelled = [(directory.user_label(person), person) for person in people]
    matching = [(label, p) for label, p in sorted(labelled) if typed in label.lower()]
    return [
        {"text": {"type": "plain_text", "text": plain(label, 75)}, "value": person}
        for label, person in matching[:MAX_OPTIONS]
    ]
