"""The things a Slack workspace holds, as the stand-in keeps them.

Plain dataclasses; `to_api()` renders each one the way Slack's Web API shows it.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

TEAM_ID = "T0411"
TEAM_DOMAIN = "four11"
APP_ID = "A0411"
BOT_ID = "B0411"
BOT_USER_ID = "U_411BOT"
# Slack still sends this legacy field in every payload; apps should not use it.
VERIFICATION_TOKEN = "standin-verification-token"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_bot: bool = False
    tz: str = "UTC"

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_admin": self.is_admin,
            "is_owner": self.is_admin,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": self.tz,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "bot_id": BOT_ID if self.is_bot else None,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    topic: str = ""

    def to_api(self) -> JSON:
        data: JSON = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im and not self.is_private,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_archived": False,
            "is_member": BOT_USER_ID in self.members,
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "context_team_id": TEAM_ID,
        }
        if self.is_im:
            data["user"] = next((m for m in self.members if m != BOT_USER_ID), None)
        return data


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class StoredFile:
    id: str
    name: str
    title: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    mimetype: str = "application/octet-stream"
    user: str = BOT_USER_ID
    shares: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts)
    created: float = 0.0

    @property
    def uploaded(self) -> bool:
        return self.data is not None

    def to_api(self, base_url: str) -> JSON:
        url = f"{base_url}files/{self.id}"
        return {
            "id": self.id,
            "created": int(self.created),
            "timestamp": int(self.created),
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary",
            "user": self.user,
            "size": len(self.data) if self.data is not None else self.length,
            "alt_txt": self.alt_txt,
            "url_private": url,
            "url_private_download": url,
            "permalink": url,
            "channels": sorted({c for c, _ in self.shares}),
            "shares": {"public": {c: [{"ts": ts}] for c, ts in self.shares}},
        }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[JSON] | None = None
    attachments: list[JSON] | None = None
    user: str = BOT_USER_ID
    thread_ts: str | None = None
    reply_broadcast: bool = False
    file_ids: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    metadata: JSON | None = None
    replies: list[str] = field(default_factory=list)  # ts of replies, when a parent

    @property
    def from_bot(self) -> bool:
        return self.user == BOT_USER_ID

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, files: list[JSON] | None = None, reply_users: list[str] | None = None) -> JSON:
        data: JSON = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        data["team"] = TEAM_ID
        if self.from_bot:
            data["bot_id"] = BOT_ID
            data["app_id"] = APP_ID
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            data["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts is not None:
            data["thread_ts"] = self.thread_ts
        if self.is_reply and self.reply_broadcast:
            data["subtype"] = "thread_broadcast"
        if self.replies:
            data["thread_ts"] = self.ts
            data["reply_count"] = len(self.replies)
            data["reply_users"] = reply_users or []
            data["reply_users_count"] = len(reply_users or [])
            data["latest_reply"] = self.replies[-1]
        if self.edited_ts is not None:
            data["edited"] = {"user": self.user, "ts": self.edited_ts}
        if files:
            data["files"] = files
            data["upload"] = False
        if self.metadata is not None:
            data["metadata"] = copy.deepcopy(self.metadata)
        return data


@dataclass
class Ephemeral:
    """A message only one user sees; Slack keeps it in that user's client only."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JSON] | None = None
    thread_ts: str | None = None
    # Who "sent" it: the bot (chat.postEphemeral, response_url) or Slack itself (errors).
    from_slack: bool = False

    def to_api(self) -> JSON:
        data: JSON = {
            "type": "message",
            "subtype": "ephemeral",
            "channel": self.channel,
            "user": "USLACKBOT" if self.from_slack else BOT_USER_ID,
            "text": self.text,
            "ts": self.ts,
            "is_ephemeral": True,
        }
        if not self.from_slack:
            data["bot_id"] = BOT_ID
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts is not None:
            data["thread_ts"] = self.thread_ts
        return data


@dataclass
class View:
    """A modal or an App Home tab as Slack stores it (its `to_api` is Slack's view object)."""

    id: str
    user: str
    definition: JSON
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: JSON = field(default_factory=dict)
    # Set when the bot answered a submission with response_action=errors.
    errors: dict[str, str] = field(default_factory=dict)
    # What Slack's client would say when a submission failed (no ack, bad response).
    notice: str | None = None

    @property
    def type(self) -> str:
        return str(self.definition.get("type", ""))

    def to_api(self) -> JSON:
        d = self.definition
        data: JSON = {
            "id": self.id,
            "team_id": TEAM_ID,
            "type": d.get("type"),
            "blocks": copy.deepcopy(d.get("blocks", [])),
            "private_metadata": d.get("private_metadata", ""),
            "callback_id": d.get("callback_id", ""),
            "state": {"values": copy.deepcopy(self.state_values)},
            "hash": self.hash,
            "clear_on_close": bool(d.get("clear_on_close", False)),
            "notify_on_close": bool(d.get("notify_on_close", False)),
            "close": copy.deepcopy(d.get("close")),
            "submit": copy.deepcopy(d.get("submit")),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": APP_ID,
            "external_id": d.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        if "title" in d:
            data["title"] = copy.deepcopy(d["title"])
        return data


def assign_ids(blocks: list[JSON]) -> list[JSON]:
    """Slack gives every block a block_id and every interactive element an action_id."""
    for block in blocks:
        if isinstance(block, dict):
            block.setdefault("block_id", secrets.token_urlsafe(4)[:5])
            for element in _interactive_elements(block):
                element.setdefault("action_id", secrets.token_urlsafe(4)[:5])
    return blocks


def _interactive_elements(block: JSON) -> list[JSON]:
    found: list[JSON] = []
    if block.get("type") == "actions":
        found = [e for e in block.get("elements", []) if isinstance(e, dict)]
    for key in ("accessory", "element"):
        element = block.get(key)
        if isinstance(element, dict) and element.get("type") != "image":
            found.append(element)
    return found


def find_element(
    blocks: list[JSON], action_id: str, block_id: str | None
) -> tuple[JSON, JSON] | None:
    """(block, element) of the interactive element with this action_id, if any."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in _interactive_elements(block):
            if element.get("action_id") == action_id:
                return block, element
    return None
