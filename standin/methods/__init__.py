"""The Web API methods the stand-in implements, by Slack method name."""

from __future__ import annotations

from standin.methods import chat, directory, files, membership, views
from standin.webapi import Handler

HANDLERS: dict[str, Handler] = {
    **chat.HANDLERS,
    **directory.HANDLERS,
    **views.HANDLERS,
    **files.HANDLERS,
    **membership.HANDLERS,
}
