"""POSTs to a response_url (Bolt's `respond()`): up to 5 uses within 30 minutes.

The JSON body is a message plus `response_type` (`ephemeral`, the default, or
`in_channel`), `replace_original` and `delete_original`. Replacing or deleting works on
the message or ephemeral the interaction came from; a slash command has no original, so
its response_url always posts a new message.
"""

from __future__ import annotations

import json
from typing import Any

from standin.handles import ResponseUrl
from standin.methods.content import message_content
from standin.model import Ephemeral, Message
from standin.slack_files import check_slack_files
from standin.state import ApiCall
from standin.webapi import ApiError, Args, Reply, StandInContext


def handle_response_url(ctx: StandInContext, token: str, body: bytes) -> Reply:
    handle, error = ctx.handles.use_response_url(token)
    if handle is None:
        return Reply(404, {"ok": False, "error": error})
    try:
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError:
        return Reply(400, {"ok": False, "error": "invalid_payload"})
    try:
        _apply(ctx, handle, Args(data))
    except ApiError as exc:
        reply_body: dict[str, Any] = {"ok": False, "error": exc.code}
        if exc.messages:
            reply_body["response_metadata"] = {"messages": exc.messages}
        ctx.workspace.record_call(ApiCall("response_url", data, False, exc.code, 400))
        return Reply(400, reply_body)
    ctx.workspace.record_call(ApiCall("response_url", data, True))
    return Reply(200, {"ok": True})


def _apply(ctx: StandInContext, handle: ResponseUrl, args: Args) -> None:
    ws = ctx.workspace
    original_message = ws.find_message(handle.channel, handle.message_ts)
    original_ephemeral = ws.find_ephemeral(handle.user, handle.ephemeral_ts or "")
    if args.flag("delete_original"):
        if original_message is not None:
            ws.delete(original_message)
        elif original_ephemeral is not None:
            ws.remove_ephemeral(original_ephemeral)
        return
    content = message_content(args, ctx.max_blocks_chars)
    errors = check_slack_files(content.blocks, ws.files)
    if errors:
        raise ApiError("invalid_blocks", messages=errors)
    if args.flag("replace_original"):
        if original_message is not None:
            ws.edit(original_message, content.text, content.blocks)
            return
        if original_ephemeral is not None:
            ws.replace_ephemeral(original_ephemeral, content.text, content.blocks)
            return
    thread_ts = args.text("thread_ts") or handle.thread_ts
    if args.text("response_type") == "in_channel":
        message = Message(
            channel=handle.channel,
            ts="",
            text=content.text,
            blocks=content.blocks,
            attachments=content.attachments,
            thread_ts=thread_ts,
        )
        try:
            ws.post(message)
        except LookupError:
            raise ApiError("thread_not_found") from None
        return
    ws.post_ephemeral(
        Ephemeral(
            channel=handle.channel,
            user=handle.user,
            ts="",
            text=content.text,
            blocks=content.blocks,
            thread_ts=thread_ts,
        )
    )
