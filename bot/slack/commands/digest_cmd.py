"""``/411 digest ...``: handed to the digest package (``bot.slack.commands.digest_actions.digest_command``)."""

from __future__ import annotations

from bot.errors import BotError
from bot.slack.commands.parse import Args
from bot.slack.commands.router import REGISTRY, CommandContext, Reply


@REGISTRY.add(
    "digest",
    "/411 digest [preview | subscribe | unsubscribe | …]",
    "the daily digest of alerts",
)
def digest(ctx: CommandContext, args: Args) -> Reply:
    try:
        from bot.slack.commands.digest_actions import Caller, digest_command
    except ImportError:
        raise BotError("The digest is not available in this installation.") from None
    words = list(args.words) + [f"{k}={v}" for k, v in args.options.items()]
    caller = Caller(ctx.viewer, ctx.channel_id, ctx.client)
    reply = digest_command(ctx.runtime, caller, words)
    return Reply(reply.text, list(reply.blocks) if reply.blocks else None)
