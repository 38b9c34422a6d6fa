"""The JSON API behind the Slack-like web page (standin/static/).

Routes (all JSON; POST bodies are JSON objects):

GET  /ui/api/state?user=U_ALICE
     {team, bot, me, users[], usergroups[], channels[] (with "members"),
      messages: {channel_id: [message, ... oldest first, each with "replies": [...]]},
      ephemerals: [ephemeral messages this user sees, oldest first],
      modals: [the user's modal stack, bottom first; each view has "errors" {block_id: msg}
               and "notice" (a message like Slack's "We had some trouble connecting")],
      home: the user's App Home view or null,
      last_event_id}
     Messages and views are exactly what the Web API returns (blocks included);
     files in a message are under "files" with "url_private" pointing at /files/<id>.
GET  /ui/api/events?since=N&timeout=25
     Long-poll: answers {"last_event_id": M} as soon as M > N (or after timeout seconds).
POST /ui/api/command        {user, channel, text, command?}   text may start with "/411 "
POST /ui/api/action         {user, channel, message_ts, action_id, block_id?, value?,
                             selected_option?, selected_user?}             (in a message)
                            {user, view_id, action_id, block_id?, value?, selected_option?,
                             selected_user?, values?}                      (in a view)
POST /ui/api/view_submission {user, view_id, values: {block_id: {action_id: value}}}
POST /ui/api/view_closed    {user, view_id, all?}
POST /ui/api/home_opened    {user}
     Each POST answers {"ok": true, "reply": {status, body, error}} with the bot's ack
     (error is "operation_timeout" or "dispatch_failed" when there was none), or HTTP 400
     {"ok": false, "error": "..."} when the action was impossible (no such message...).
GET  /files/<id>            the uploaded bytes with their content type.

Values in `values`/`selected_option` may be simple (an option's value, a user id, a
string) or Slack's full objects; see `selection.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from standin.delivery import BotReply
from standin.interactions import InteractionError, Interactions
from standin.model import APP_ID, BOT_ID, BOT_USER_ID, JSON, TEAM_DOMAIN, TEAM_ID, View
from standin.selection import SelectionError
from standin.slack_files import with_file_urls
from standin.webapi import Reply, StandInContext

MAX_POLL_SECONDS = 30.0


def _ephemeral(data: JSON, files: dict[str, Any], root: str) -> JSON:
    """An ephemeral as the page gets it: images of uploaded files carry their URL."""
    if data.get("blocks"):
        data["blocks"] = with_file_urls(data["blocks"], files, root)
    return data


def _view(view: View) -> JSON:
    return {**view.to_api(), "errors": dict(view.errors), "notice": view.notice}


def snapshot(ctx: StandInContext, user_id: str) -> JSON:
    ws, root = ctx.workspace, ctx.root_url()
    with ws.lock:
        channels = [
            {**c.to_api(), "members": sorted(c.members)}
            for c in ws.channels.values()
            if not c.is_im or user_id in c.members
        ]
        messages: dict[str, list[JSON]] = {}
        for channel in channels:
            history = sorted(ws.history(channel["id"]), key=lambda m: m.ts)
            messages[channel["id"]] = [
                {
                    **ws.render(m, root),
                    "replies": [ws.render(r, root) for r in ws.thread(m.channel, m.ts)[1:]],
                }
                for m in history
            ]
        return {
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN, "name": "411 Stand-in"},
            "bot": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID, "name": "411"},
            "me": user_id,
            "users": [u.to_api() for u in ws.users.values()],
            "usergroups": [
                {"id": g.id, "handle": g.handle, "name": g.name, "users": list(g.users)}
                for g in ws.usergroups.values()
            ],
            "channels": channels,
            "messages": messages,
            "ephemerals": [
                _ephemeral(e.to_api(), ws.files, root) for e in ws.ephemerals_for(user_id)
            ],
            "modals": [_view(v) for v in ctx.views.stack(user_id)],
            "home": _view(home) if (home := ctx.views.home(user_id)) else None,
            "last_event_id": ws.event_id,
        }


def wait_events(ctx: StandInContext, since: int, timeout: float) -> JSON:
    last = ctx.workspace.wait_for_change(since, min(max(timeout, 0.0), MAX_POLL_SECONDS))
    return {"last_event_id": last}


def _command(ix: Interactions, body: JSON) -> BotReply:
    text = str(body.get("text", "")).strip()
    command = body.get("command")
    if command is None and text.startswith("/"):
        command, _, text = text.partition(" ")
    if command is not None and command != ix.command:
        raise InteractionError(f"{command} is not a valid command.")
    return ix.send_command(body["user"], body["channel"], text.strip(), command=command)


def _action(ix: Interactions, body: JSON) -> BotReply:
    picks = {
        "value": body.get("value"),
        "selected_option": body.get("selected_option"),
        "selected_user": body.get("selected_user"),
        "block_id": body.get("block_id"),
    }
    if body.get("view_id"):
        return ix.click_in_view(
            body["user"], body["view_id"], body["action_id"], values=body.get("values"), **picks
        )
    return ix.click(body["user"], body["channel"], body["message_ts"], body["action_id"], **picks)


def _closed(ix: Interactions, body: JSON) -> BotReply | None:
    return ix.close_view(body["user"], body["view_id"], all_views=bool(body.get("all")))


ROUTES: dict[str, Callable[[Interactions, JSON], BotReply | None]] = {
    "command": _command,
    "action": _action,
    "view_submission": lambda ix, b: ix.submit_view(b["user"], b["view_id"], b.get("values") or {}),
    "view_closed": _closed,
    "home_opened": lambda ix, b: ix.open_home(b["user"]),
}


def _suggest(ix: Interactions, body: JSON) -> Reply:
    """An external_select's options, asked of the bot as Slack does (block_suggestion)."""
    options = ix.suggest(
        body["user"], body["channel"], body["message_ts"], body["action_id"], body.get("value", "")
    )
    return Reply(200, {"ok": True, "options": options})


def post(ix: Interactions, route: str, body: Any) -> Reply:
    if route == "suggest" and isinstance(body, dict):
        try:
            return _suggest(ix, body)
        except KeyError as exc:
            return Reply(400, {"ok": False, "error": f"missing field {exc.args[0]}"})
        except InteractionError as exc:
            return Reply(400, {"ok": False, "error": str(exc)})
    handler = ROUTES.get(route)
    if handler is None:
        return Reply(404, {"ok": False, "error": "unknown_route"})
    if not isinstance(body, dict):
        return Reply(400, {"ok": False, "error": "invalid_json"})
    try:
        reply = handler(ix, body)
    except KeyError as exc:
        return Reply(400, {"ok": False, "error": f"missing field {exc.args[0]}"})
    except (InteractionError, SelectionError) as exc:
        return Reply(400, {"ok": False, "error": str(exc)})
    return Reply(200, {"ok": True, "reply": reply.to_api() if reply else None})
