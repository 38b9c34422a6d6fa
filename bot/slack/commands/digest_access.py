"""Who may subscribe a channel to the digest, and getting the bot into that channel.

- Only admins, and the owner of a search that posts its alerts to the channel (who is
  in that channel), subscribe or unsubscribe it: the digest puts alert figures and titles
  where every member of the channel reads them.
- ``chat:write.public`` lets the bot post in a public channel it is not in, not share
  files there nor post in a private one: at subscribe time the bot joins a public channel
  (``channels:join``) and asks to be invited to a private one, before anything is saved.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.visibility import Viewer
from bot.errors import BotError, InvalidInput, PermissionDenied
from bot.models import Search
from bot.text.escape import mention_channel

log = logging.getLogger(__name__)


def check_may_subscribe(session: Session, viewer: Viewer, channel: str) -> None:
    if viewer.is_admin:
        return
    owns = session.scalar(
        select(Search.id).where(
            Search.channel == channel,
            Search.owner == viewer.user_id,
            Search.deleted_at.is_(None),
        )
    )
    if owns is None or not viewer.directory.in_channel(viewer.user_id, channel):
        raise PermissionDenied(
            f"Only admins, or the owner of a search whose alerts go to {mention_channel(channel)}, "
            "may change this channel's digest: everyone in the channel reads it."
        )


def ensure_bot_in(client: WebClient, channel: str) -> str:
    """Make sure the bot is a member of ``channel``; returns what to tell the subscriber."""
    try:
        info = client.conversations_info(channel=channel)["channel"] or {}
        if info.get("is_member"):
            return ""
        if info.get("is_private") or info.get("is_im"):
            raise InvalidInput(
                "I am not in this channel: invite me first (`/invite @411`), then subscribe."
            )
        client.conversations_join(channel=channel)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("cannot join %s for the digest: %s", channel, error)
        raise BotError(
            f"I could not join this channel ({error}): invite me (`/invite @411`), then "
            "subscribe again."
        ) from None
    return " I joined this channel to post the digest and its chart."
