"""An alert's "More" menu (escalate, add note, mute this key…) and its "Show hits" modal.

"Show hits" opens a modal at once (Slack's trigger expires in 3 seconds), asks the
search's source again for the alert's hits, then fills the modal in: the first
``MAX_HITS``, pretty-printed and escaped, ``PAGE`` to a page with Previous / Next.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.alerts import actions as alert_actions
from bot.alerts.mute import mute_alert_key
from bot.errors import InvalidInput
from bot.messages.blocks import Block, button, mrkdwn, plain_text, when
from bot.messages.ids import ActionId, CallbackId, MoreChoice
from bot.models import Alert, Search
from bot.runs.hits import MAX_HITS, AlertHits, alert_hits
from bot.slack import alert_listeners as listeners
from bot.slack.alert_modals import Target, _modal, escalate_modal, note_modal, value_of
from bot.slack.feedback import guarded
from bot.slack.services import Services
from bot.text.escape import code_block, safe_text
from bot.text.refs import Ref
from searches.durations import parse_duration

Context = dict[str, Any]
HIT_CHARS = 2500  # one hit's pretty-printed JSON, inside a section's 3000


# ------------------------------------------------------------------ modals


def mute_modal(target: Target, key: str) -> Block:
    blocks: list[Block] = [
        {
            "type": "section",
            "text": mrkdwn(
                f"New alerts of {Ref.ALERT(target.id)}'s key are recorded as suppressed, "
                f"not posted, until the mute ends.\nKey: `{safe_text(key, 300)}`"
            ),
        },
        {
            "type": "input",
            "block_id": "duration",
            "label": plain_text("Mute for"),
            "hint": plain_text("For example 30m, 4h, 2d or 1w (at most 90 days)."),
            "element": {"type": "plain_text_input", "action_id": "duration", "initial_value": "4h"},
        },
        {
            "type": "input",
            "block_id": "reason",
            "optional": True,
            "label": plain_text("Reason"),
            "element": {
                "type": "plain_text_input",
                "action_id": "reason",
                "multiline": True,
                "max_length": 500,
            },
        },
    ]
    return _modal(CallbackId.MUTE, "Mute this key", target, blocks, "Mute")


def hits_modal(target: Target, found: AlertHits | None, page: int = 0) -> Block:
    """The hits of one page; ``found`` None while they are being looked up."""
    view = _modal(CallbackId.HITS, f"Hits of {Ref.ALERT(target.id)}", target, [], "Close")
    view.pop("submit")
    view["close"] = plain_text("Close", 24)
    view["private_metadata"] = json.dumps({"id": target.id, "channel": target.channel})
    if found is None:
        view["blocks"] = [{"type": "section", "text": plain_text("Looking up the hits…")}]
        return view
    view["blocks"] = _hit_blocks(target, found, page)
    return view


def _hit_blocks(target: Target, found: AlertHits, page: int) -> list[Block]:
    page = min(max(page, 0), found.pages - 1)
    shown = found.page(page)
    span = f"{when(found.window.start)} to {when(found.window.end)}" if found.window else ""
    more = f" (the first {MAX_HITS}; more matched)" if found.truncated else ""
    intro = f"*{len(found.hits)}* hit{'s' if len(found.hits) != 1 else ''}{more} · {span}"
    blocks: list[Block] = [{"type": "context", "elements": [mrkdwn(intro, verbatim=False)]}]
    if found.error:
        blocks.append({"type": "section", "text": mrkdwn(f"⚠️ {safe_text(found.error, 500)}")})
    for hit in shown:
        pretty = json.dumps(hit, indent=2, ensure_ascii=False, default=str, sort_keys=True)
        blocks.append({"type": "section", "text": mrkdwn(code_block(pretty, HIT_CHARS))})
    if not shown:
        blocks.append({"type": "section", "text": plain_text("No hit of this alert is left.")})
    if found.pages > 1:
        nav: list[Block] = []
        if page > 0:
            nav.append(button("Previous", f"{ActionId.HITS_PAGE}_prev", str(page - 1)))
        if page < found.pages - 1:
            nav.append(button("Next", f"{ActionId.HITS_PAGE}_next", str(page + 1)))
        label = f"Page {page + 1} of {found.pages}"
        blocks.append({"type": "context", "elements": [mrkdwn(label, verbatim=False)]})
        blocks.append({"type": "actions", "block_id": "hits_pages", "elements": nav})
    return blocks


# ------------------------------------------------------------------ listeners


def _lookup(context: Context, target: Target) -> AlertHits:
    """Permission first (who may act on the alert may see its hits), then the source."""
    return _hits(context, target, *listeners._check_alert(context, target.id))


def _hits(context: Context, target: Target, alert: Alert, search: Search | None) -> AlertHits:
    """The hits of an alert already checked, with its search as read for the check."""
    services: Services = context["services"]
    if search is None:
        raise InvalidInput(f"The search of {Ref.ALERT(target.id)} was deleted.")
    return alert_hits(services.runtime, alert, search)


def register(app: App) -> None:
    @app.action(ActionId.MORE)
    @guarded
    def on_more(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        choice, _, raw_id = listeners._selected(action).partition(":")
        if not raw_id.isdigit() or choice not in set(MoreChoice):
            raise InvalidInput("This menu entry does not name an alert.")
        alert_id = int(raw_id)
        target = Target(alert_id, listeners._actor(context).channel_id)
        alert, search = listeners._check_alert(context, alert_id)
        if choice == MoreChoice.ESCALATE:
            group = search.oncall_group if search else None
            client.views_open(
                trigger_id=body["trigger_id"], view=escalate_modal(target, alert, group)
            )
            return
        view = (
            note_modal(target)
            if choice == MoreChoice.NOTE
            else mute_modal(target, alert.dedupe_key)
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ActionId.HITS)
    @guarded
    def on_hits(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        target = Target(listeners._alert_id(action), listeners._actor(context).channel_id)
        alert, search = listeners._check_alert(context, target.id)
        opened = client.views_open(trigger_id=body["trigger_id"], view=hits_modal(target, None))
        view_id = opened["view"]["id"]
        found = _hits(context, target, alert, search)
        client.views_update(view_id=view_id, view=hits_modal(target, found))

    @app.action(re.compile(f"^{ActionId.HITS_PAGE}_"))
    @guarded
    def on_hits_page(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], context: Context, client: WebClient
    ) -> None:
        ack()
        view = body.get("view") or {}
        target = Target.load(view.get("private_metadata", ""))
        page = int(action.get("value") or 0)
        found = _lookup(context, target)
        client.views_update(view_id=view["id"], view=hits_modal(target, found, page))

    @app.view(CallbackId.ESCALATE)
    @guarded
    def on_escalate_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        ack()  # the modal has no input to show an error on: a refusal comes as a message
        target = Target.load(view.get("private_metadata", ""))
        services: Services = context["services"]
        with services.acting(listeners._view_actor(context, target)) as ctx:
            alert_actions.escalate(ctx, target.id)

    @app.view(CallbackId.MUTE)
    @guarded
    def on_mute_submit(ack: Ack, view: dict[str, Any], context: Context) -> None:
        raw = value_of(view, "duration") or ""
        reason = value_of(view, "reason") or ""
        try:
            seconds = parse_duration(raw)
        except ValueError as exc:
            ack(response_action="errors", errors={"duration": str(exc)})
            return
        listeners._submit(
            ack,
            context,
            view,
            "duration",
            lambda ctx, t: mute_alert_key(ctx, t.id, seconds, reason),
        )
