"""The files upload v2 flow: getUploadURLExternal, POST the bytes, completeUploadExternal.

The upload URL is this server's `/upload/<file_id>`, so `WebClient.files_upload_v2`
works unchanged. The bytes are kept (`Workspace.files`) and served at `/files/<id>`.
"""

from __future__ import annotations

import json
import mimetypes

from standin.methods.chat import channel_arg
from standin.model import BOT_USER_ID, JSON, Channel, Message, StoredFile
from standin.webapi import ApiError, Args, StandInContext

MAX_FILE_BYTES = 1024**3  # Slack's limit is 1 GB


def get_upload_url(ctx: StandInContext, args: Args) -> JSON:
    filename = args.required("filename")
    try:
        length = int(args.required("length"))
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if not 0 < length <= MAX_FILE_BYTES:
        raise ApiError("invalid_arguments")
    stored = StoredFile(
        id=ctx.workspace.new_id("F"),
        name=filename,
        title=filename,
        length=length,
        alt_txt=args.text("alt_txt"),
        mimetype=mimetypes.guess_type(filename)[0] or "application/octet-stream",
        created=ctx.workspace.clock(),
    )
    with ctx.workspace.lock:
        ctx.workspace.files[stored.id] = stored
    return {"upload_url": f"{ctx.root_url()}upload/{stored.id}", "file_id": stored.id}


def receive_upload(ctx: StandInContext, file_id: str, data: bytes) -> bool:
    """The POST to an upload URL; False when the id was never handed out."""
    with ctx.workspace.lock:
        stored = ctx.workspace.files.get(file_id)
        if stored is None:
            return False
        stored.data = data
        return True


def _files_arg(ctx: StandInContext, args: Args) -> list[StoredFile]:
    items = args.json("files", "invalid_arguments")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments")
    found = []
    for item in items:
        stored = ctx.workspace.files.get(str(item.get("id")) if isinstance(item, dict) else "")
        if stored is None or not stored.uploaded:
            raise ApiError("file_not_found")
        if item.get("title"):
            stored.title = str(item["title"])
        found.append(stored)
    return found


def _shareable(ctx: StandInContext, channel_id: str) -> Channel:
    """A conversation a file may be shared in, as real Slack decides: named by its ID (a
    user ID is not a conversation: open the DM with conversations.open first), and with the
    bot as a member (chat:write.public lets it post, not share files)."""
    if channel_id in ctx.workspace.users:
        raise ApiError("invalid_channel", ["[ERROR] a user ID is not a conversation ID"])
    channel = channel_arg(ctx, Args(channel=channel_id))
    if BOT_USER_ID not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def complete_upload(ctx: StandInContext, args: Args) -> JSON:
    with ctx.workspace.lock:
        return _complete_upload(ctx, args)


def _complete_upload(ctx: StandInContext, args: Args) -> JSON:
    files = _files_arg(ctx, args)
    channel_ids = [c for c in (args.text("channels") or "").split(",") if c]
    if args.text("channel_id"):
        channel_ids.append(args.required("channel_id"))
    channels = [_shareable(ctx, c) for c in channel_ids]
    thread_ts = args.text("thread_ts") or None
    for channel in channels:
        message = Message(
            channel=channel.id,
            ts="",
            text=args.text("initial_comment") or "",
            thread_ts=thread_ts,
            file_ids=[f.id for f in files],
        )
        try:
            ctx.workspace.post(message)
        except LookupError:
            raise ApiError("thread_not_found") from None
        for stored in files:
            stored.shares.append((channel.id, message.ts))
    root = ctx.root_url()
    return {"files": [json.loads(json.dumps(f.to_api(root))) for f in files]}


HANDLERS = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
