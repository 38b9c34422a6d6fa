"""The stand-in's workspace: people, channels, messages, threads, ephemerals, files.

One `Workspace` per stand-in, shared by the Web API handlers, the deliveries to the bot
and the UI API. Every method takes the one lock; every change bumps `event_id` and wakes
the page's long-poll.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standin import seed
from standin.model import (
    BOT_USER_ID,
    JSON,
    Channel,
    Ephemeral,
    Message,
    StoredFile,
    User,
    Usergroup,
)
from standin.slack_files import with_file_urls

MAX_RECORDED_CALLS = 50_000


@dataclass
class ApiCall:
    """One Web API call as the bot made it, kept so tests can assert on arguments."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    status: int = 200


@dataclass
class Workspace:
    clock: Callable[[], float]
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    usergroups: dict[str, Usergroup] = field(default_factory=dict)
    messages: dict[str, dict[str, Message]] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    # Bounded, so a long `411 dev` session does not grow without end.
    api_calls: deque[ApiCall] = field(default_factory=lambda: deque(maxlen=MAX_RECORDED_CALLS))
    event_id: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        # Both are saved with the workspace (persist.py), so ids never repeat after a restart.
        self.last_ts_us = 0
        self.last_id = 0
        for user in seed.USERS:
            self.add_user(copy.deepcopy(user))
        for channel in seed.CHANNELS:
            self.add_channel(copy.deepcopy(channel))
        for group in seed.USERGROUPS:
            self.usergroups[group.id] = copy.deepcopy(group)

    # -- ids and change notification ------------------------------------------------

    def next_ts(self) -> str:
        """A Slack message ts ("1700000000.000100"): unique and increasing."""
        with self.lock:
            now_us = int(self.clock() * 1_000_000)
            self.last_ts_us = max(now_us, self.last_ts_us + 1)
            return f"{self.last_ts_us // 1_000_000}.{self.last_ts_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self.last_id += 1
            return f"{prefix}{self.last_id:08X}"

    def touch(self) -> None:
        with self.lock:
            self.event_id += 1
            self.changed.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        with self.lock:
            self.changed.wait_for(lambda: self.event_id > since, timeout=timeout)
            return self.event_id

    def record_call(self, call: ApiCall) -> None:
        with self.lock:
            self.api_calls.append(call)

    # -- people and channels -----------------------------------------------------------

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            self.touch()
            return user

    def add_channel(self, channel: Channel) -> Channel:
        with self.lock:
            self.channels[channel.id] = channel
            self.messages.setdefault(channel.id, {})
            self.touch()
            return channel

    def resolve_channel(self, ref: str | None) -> Channel | None:
        """A channel by id, by name (`#alerts` or `alerts`), or a user id (their DM)."""
        if not ref:
            return None
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            if ref in self.users:
                return self._dm(ref)
            name = ref.lstrip("#")
            return next((c for c in self.channels.values() if c.name == name), None)

    def _dm(self, user_id: str) -> Channel:
        dm_id = f"D_{user_id.removeprefix('U_')}"
        if dm_id not in self.channels:
            members = {user_id, BOT_USER_ID}
            self.add_channel(Channel(id=dm_id, name=dm_id, members=members, is_im=True))
        return self.channels[dm_id]

    # -- messages ---------------------------------------------------------------------

    def post(self, message: Message) -> Message:
        """Store a new message (its ts is set here); replies join their parent's thread."""
        with self.lock:
            message.ts = self.next_ts()
            if message.thread_ts is not None:
                parent = self.find_message(message.channel, message.thread_ts)
                if parent is not None and parent.is_reply:  # a reply's ts means its thread
                    parent = self.find_message(message.channel, parent.thread_ts)
                if parent is None:
                    raise LookupError("thread_not_found")
                message.thread_ts = parent.ts
                parent.replies.append(message.ts)
            self.messages[message.channel][message.ts] = message
            self.touch()
            return message

    def find_message(self, channel: str, ts: str | None) -> Message | None:
        with self.lock:
            return self.messages.get(channel, {}).get(ts or "")

    def edit(self, message: Message, text: str, blocks: list[JSON] | None, **extra: Any) -> None:
        with self.lock:
            message.text = text
            message.blocks = blocks
            if "attachments" in extra:
                message.attachments = extra["attachments"]
            message.edited_ts = self.next_ts()
            self.touch()

    def delete(self, message: Message) -> None:
        with self.lock:
            self.messages[message.channel].pop(message.ts, None)
            if message.is_reply:
                parent = self.find_message(message.channel, message.thread_ts)
                if parent is not None and message.ts in parent.replies:
                    parent.replies.remove(message.ts)
            self.touch()

    def history(self, channel: str) -> list[Message]:
        """Top-level messages and broadcast replies, newest first (as Slack lists them)."""
        with self.lock:
            found = [
                m
                for m in self.messages.get(channel, {}).values()
                if not m.is_reply or m.reply_broadcast
            ]
            return sorted(found, key=lambda m: m.ts, reverse=True)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The parent first, then its replies oldest first."""
        with self.lock:
            parent = self.find_message(channel, ts)
            if parent is None:
                return []
            replies = [self.messages[channel][r] for r in parent.replies]
            return [parent, *replies]

    def render(self, message: Message, base_url: str) -> JSON:
        """A message as the Web API shows it, files and reply users included."""
        with self.lock:
            files = [self.files[f].to_api(base_url) for f in message.file_ids if f in self.files]
            reply_users = sorted({self.messages[message.channel][r].user for r in message.replies})
            data = message.to_api(files=files, reply_users=reply_users)
            if data.get("blocks"):
                data["blocks"] = with_file_urls(data["blocks"], self.files, base_url)
            return data

    # -- ephemerals ---------------------------------------------------------------------

    def post_ephemeral(self, ephemeral: Ephemeral) -> Ephemeral:
        with self.lock:
            ephemeral.ts = self.next_ts()
            self.ephemerals.append(ephemeral)
            self.touch()
            return ephemeral

    def find_ephemeral(self, user: str, ts: str) -> Ephemeral | None:
        with self.lock:
            return next((e for e in self.ephemerals if e.user == user and e.ts == ts), None)

    def ephemerals_for(self, user: str, channel: str | None = None) -> list[Ephemeral]:
        with self.lock:
            return [
                e
                for e in self.ephemerals
                if e.user == user and (channel is None or e.channel == channel)
            ]

    def replace_ephemeral(self, old: Ephemeral, text: str, blocks: list[JSON] | None) -> None:
        with self.lock:
            old.text, old.blocks = text, blocks
            self.touch()

    def remove_ephemeral(self, old: Ephemeral) -> None:
        with self.lock:
            if old in self.ephemerals:
                self.ephemerals.remove(old)
            self.touch()
