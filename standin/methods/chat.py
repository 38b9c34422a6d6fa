"""chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink.

`unfurl_links`, `unfurl_media`, `link_names`, `parse`, `mrkdwn` are accepted and ignored;
every argument is recorded in `Workspace.api_calls`, so tests can check the bot never
sends `link_names` or `parse=full`.
"""

from __future__ import annotations

from standin.methods.content import message_content
from standin.model import BOT_USER_ID, JSON, Channel, Ephemeral, Message
from standin.slack_files import check_slack_files
from standin.webapi import ApiError, Args, StandInContext


def channel_arg(ctx: StandInContext, args: Args, key: str = "channel") -> Channel:
    channel = ctx.workspace.resolve_channel(args.text(key))
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _postable(channel: Channel) -> Channel:
    # chat:write.public lets a bot post in public channels it has not joined.
    if channel.is_private and BOT_USER_ID not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def _existing(ctx: StandInContext, channel: Channel, ts: str | None) -> Message:
    message = ctx.workspace.find_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    return message


def _check_files(ctx: StandInContext, blocks: list[JSON] | None) -> None:
    with ctx.workspace.lock:
        errors = check_slack_files(blocks, ctx.workspace.files)
    if errors:
        raise ApiError("invalid_blocks", messages=errors)


def post_message(ctx: StandInContext, args: Args) -> JSON:
    channel = _postable(channel_arg(ctx, args))
    content = message_content(args, ctx.max_blocks_chars)
    _check_files(ctx, content.blocks)
    metadata = args.json("metadata", "invalid_metadata_format")
    message = Message(
        channel=channel.id,
        ts="",
        text=content.text,
        blocks=content.blocks,
        attachments=content.attachments,
        thread_ts=args.text("thread_ts") or None,
        reply_broadcast=args.flag("reply_broadcast"),
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    try:
        ctx.workspace.post(message)
    except LookupError:
        raise ApiError("thread_not_found") from None
    rendered = ctx.workspace.render(message, ctx.root_url())
    return {"channel": channel.id, "ts": message.ts, "message": rendered}


def update(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    message = _existing(ctx, channel, args.text("ts"))
    if not message.from_bot:
        raise ApiError("cant_update_message")
    content = message_content(args, ctx.max_blocks_chars)
    _check_files(ctx, content.blocks)
    extra = {"attachments": content.attachments} if "attachments" in args else {}
    # Slack keeps the old blocks when an update gives only text and no "blocks" key.
    blocks = content.blocks if "blocks" in args else message.blocks
    ctx.workspace.edit(message, content.text, blocks, **extra)
    rendered = ctx.workspace.render(message, ctx.root_url())
    return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": rendered}


def delete(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    message = _existing(ctx, channel, args.text("ts"))
    if not message.from_bot:
        raise ApiError("cant_delete_message")
    ctx.workspace.delete(message)
    return {"channel": channel.id, "ts": message.ts}


def post_ephemeral(ctx: StandInContext, args: Args) -> JSON:
    channel = _postable(channel_arg(ctx, args))
    user = args.text("user")
    if not user or user not in ctx.workspace.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    content = message_content(args, ctx.max_blocks_chars)
    _check_files(ctx, content.blocks)
    ephemeral = Ephemeral(
        channel=channel.id,
        user=user,
        ts="",
        text=content.text,
        blocks=content.blocks,
        thread_ts=args.text("thread_ts") or None,
    )
    ctx.workspace.post_ephemeral(ephemeral)
    return {"message_ts": ephemeral.ts}


def permalink(root_url: str, message: Message) -> str:
    link = f"{root_url}archives/{message.channel}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return link


def get_permalink(ctx: StandInContext, args: Args) -> JSON:
    channel = channel_arg(ctx, args)
    message = _existing(ctx, channel, args.text("message_ts"))
    return {"channel": channel.id, "permalink": permalink(ctx.root_url(), message)}


HANDLERS = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
