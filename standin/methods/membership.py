"""conversations.open and conversations.join: the bot's way into a DM or a public channel.

Real Slack shares a file (files.completeUploadExternal) only in a conversation the bot
is a member of, and only by conversation ID: a DM is opened first with conversations.open,
a public channel joined with conversations.join (scope ``channels:join``). A private
channel cannot be joined: someone has to invite the bot.
"""

from __future__ import annotations

from standin.methods.chat import channel_arg
from standin.model import BOT_USER_ID, JSON
from standin.webapi import ApiError, Args, StandInContext


def conversations_open(ctx: StandInContext, args: Args) -> JSON:
    users = [u for u in (args.text("users") or "").split(",") if u]
    if len(users) != 1:  # group DMs are not needed by 411
        raise ApiError("invalid_arguments")
    if users[0] not in ctx.workspace.users:
        raise ApiError("user_not_found")
    channel = ctx.workspace.resolve_channel(users[0])
    assert channel is not None  # a user's DM is made on first use
    return {"channel": {"id": channel.id}}


def conversations_join(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    if channel.is_private or channel.is_im:
        raise ApiError("method_not_supported_for_channel_type")
    with ctx.workspace.lock:
        already = BOT_USER_ID in channel.members
        channel.members.add(BOT_USER_ID)
    reply: JSON = {"channel": channel.to_api()}
    if already:
        reply["warning"] = "already_in_channel"
    return reply


HANDLERS = {
    "conversations.open": conversations_open,
    "conversations.join": conversations_join,
}
