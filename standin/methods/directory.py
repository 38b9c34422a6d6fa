"""Read-only methods: auth.test, conversations.*, users.*, usergroups.users.list."""

from __future__ import annotations

import base64
from typing import Any

from standin.methods.chat import channel_arg
from standin.model import APP_ID, BOT_ID, BOT_USER_ID, JSON, TEAM_ID, Message
from standin.webapi import ApiError, Args, StandInContext

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def auth_test(ctx: StandInContext, args: Args) -> JSON:
    return {
        "url": ctx.root_url(),
        "team": "411 Stand-in",
        "user": "411",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "is_enterprise_install": False,
    }


def conversations_info(ctx: StandInContext, args: Args) -> JSON:
    return {"channel": channel_arg(ctx, args).to_api()}


def _page(items: list[Any], args: Args, key: str) -> JSON:
    """Slack's cursor pagination over a list (cursors are opaque base64 offsets)."""
    try:
        limit = min(MAX_LIMIT, int(args.get("limit") or DEFAULT_LIMIT))
        cursor = args.text("cursor")
        offset = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    except (ValueError, IndexError):
        raise ApiError("invalid_cursor") from None
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    return {key: page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}


def _in_range(message: Message, args: Args) -> bool:
    oldest, latest = args.text("oldest"), args.text("latest")
    inclusive = args.flag("inclusive")
    ts = float(message.ts)
    if oldest and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
        return False
    return not (latest and (ts > float(latest) or (ts == float(latest) and not inclusive)))


def conversations_history(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    messages = [m for m in ctx.workspace.history(channel.id) if _in_range(m, args)]
    rendered = [ctx.workspace.render(m, ctx.root_url()) for m in messages]
    return _page(rendered, args, "messages")


def conversations_replies(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    thread = ctx.workspace.thread(channel.id, args.required("ts", "thread_not_found"))
    if not thread:
        raise ApiError("thread_not_found")
    rendered = [ctx.workspace.render(m, ctx.root_url()) for m in thread]
    return _page(rendered, args, "messages")


def conversations_members(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    return _page(sorted(channel.members), args, "members")


def conversations_list(ctx: StandInContext, args: Args) -> JSON:
    wanted = set((args.text("types") or "public_channel").split(","))
    kinds = {
        "public_channel": (False, False),
        "private_channel": (True, False),
        "im": (False, True),
    }
    allowed = {kinds[t] for t in wanted if t in kinds}
    channels = [
        c.to_api() for c in ctx.workspace.channels.values() if (c.is_private, c.is_im) in allowed
    ]
    return _page(channels, args, "channels")


def users_info(ctx: StandInContext, args: Args) -> JSON:
    user = ctx.workspace.users.get(args.text("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.to_api()}


def users_list(ctx: StandInContext, args: Args) -> JSON:
    members = [u.to_api() for u in ctx.workspace.users.values()]
    return _page(members, args, "members")


def usergroups_users_list(ctx: StandInContext, args: Args) -> JSON:
    group = ctx.workspace.usergroups.get(args.text("usergroup") or "")
    if group is None:
        raise ApiError("no_such_subteam")
    return {"users": list(group.users)}


def usergroups_list(ctx: StandInContext, args: Args) -> JSON:
    groups = [
        {
            "id": g.id,
            "team_id": TEAM_ID,
            "handle": g.handle,
            "name": g.name,
            "user_count": len(g.users),
        }
        | ({"users": list(g.users)} if args.flag("include_users") else {})
        for g in ctx.workspace.usergroups.values()
    ]
    return {"usergroups": groups}


HANDLERS = {
    "auth.test": auth_test,
    "conversations.info": conversations_info,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.members": conversations_members,
    "conversations.list": conversations_list,
    "users.info": users_info,
    "users.list": users_list,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.list": usergroups_list,
}
