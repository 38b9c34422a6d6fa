"""Keeping the stand-in's workspace in a JSON file across restarts (`411 dev`).

Slack keeps a workspace forever; a stand-in that forgot it at every restart would leave
the bot's database pointing at messages that no longer exist (every action on an older
alert fails with message_not_found). With a `state_path`, the stand-in loads the file at
start and `Saver` writes it again shortly after changes and once more at stop.

Saved: people, channels, user groups, messages and threads, files (bytes as base64), views
(modal stacks and App Home tabs), and the ts/id counters so nothing is handed out twice.
Not saved, as Slack's client loses them too: ephemerals, trigger_ids, response_urls.
Writes are atomic (a temporary file, then `os.replace`): a crash leaves the old file or the
new one, never half of one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from standin.model import JSON, Channel, Message, StoredFile, User, Usergroup, View
from standin.state import Workspace
from standin.viewstore import ViewStore

log = logging.getLogger(__name__)

VERSION = 1
DEBOUNCE_SECONDS = 0.5


class StateFileError(Exception):
    """The saved workspace cannot be read; the message says which file and why."""


# -- to and from JSON ------------------------------------------------------------------------


def dump(workspace: Workspace, views: ViewStore) -> JSON:
    # The view store's lock first: it calls into the workspace while holding its own.
    with views.lock, workspace.lock:
        return {
            "version": VERSION,
            "last_ts_us": workspace.last_ts_us,
            "last_id": workspace.last_id,
            "event_id": workspace.event_id,
            "users": [asdict(u) for u in workspace.users.values()],
            "channels": [
                {**asdict(c), "members": sorted(c.members)} for c in workspace.channels.values()
            ],
            "usergroups": [asdict(g) for g in workspace.usergroups.values()],
            "messages": [asdict(m) for ms in workspace.messages.values() for m in ms.values()],
            "files": [_file_to_json(f) for f in workspace.files.values()],
            "views": [asdict(v) for v in views.views.values()],
            "stacks": views.stacks,
            "homes": views.homes,
        }


def _file_to_json(stored: StoredFile) -> JSON:
    data = asdict(stored)
    data["data"] = None if stored.data is None else base64.b64encode(stored.data).decode()
    data["shares"] = [list(share) for share in stored.shares]
    return data


def load(data: Any, workspace: Workspace, views: ViewStore) -> None:
    """Replace what the workspace and the view store hold with the saved state."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} stand-in state")
    users = {u.id: u for u in (User(**d) for d in data["users"])}
    channels = {c.id: c for c in (_channel(d) for d in data["channels"])}
    groups = {g.id: g for g in (Usergroup(**d) for d in data["usergroups"])}
    messages: dict[str, dict[str, Message]] = {c: {} for c in channels}
    for item in data["messages"]:
        message = Message(**item)
        messages.setdefault(message.channel, {})[message.ts] = message
    files = {f.id: f for f in (_file(d) for d in data["files"])}
    saved_views = {v.id: v for v in (View(**d) for d in data["views"])}
    with views.lock, workspace.lock:
        workspace.users, workspace.channels, workspace.usergroups = users, channels, groups
        workspace.messages, workspace.files = messages, files
        workspace.last_ts_us = max(workspace.last_ts_us, int(data["last_ts_us"]))
        workspace.last_id = max(workspace.last_id, int(data["last_id"]))
        workspace.event_id = max(workspace.event_id, int(data["event_id"]))
        views.views = saved_views
        views.stacks = {u: [v for v in s if v in saved_views] for u, s in data["stacks"].items()}
        views.homes = {u: v for u, v in data["homes"].items() if v in saved_views}


def _channel(data: JSON) -> Channel:
    return Channel(**{**data, "members": set(data["members"])})


def _file(data: JSON) -> StoredFile:
    raw = data.get("data")
    shares = [(str(c), str(ts)) for c, ts in data.get("shares", [])]
    payload = None if raw is None else base64.b64decode(raw)
    return StoredFile(**{**data, "data": payload, "shares": shares})


# -- the file ------------------------------------------------------------------------------


def read(path: Path, workspace: Workspace, views: ViewStore) -> bool:
    """Load `path` if it exists; False when there is none yet (a new workspace)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateFileError(f"cannot read the stand-in's workspace {path}: {exc}") from None
    try:
        load(json.loads(text), workspace, views)
    except (ValueError, KeyError, TypeError) as exc:
        raise StateFileError(
            f"the stand-in's workspace {path} is damaged ({exc}); "
            "move it away to start with an empty workspace"
        ) from None
    return True


def write(path: Path, state: JSON) -> None:
    """Write atomically: readers (and a crash) see the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(state, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


class Saver:
    """Writes the workspace after changes, at most every `debounce` seconds, and at stop."""

    def __init__(
        self,
        path: Path,
        workspace: Workspace,
        views: ViewStore,
        debounce: float = DEBOUNCE_SECONDS,
    ) -> None:
        self.path, self.workspace, self.views = path, workspace, views
        self.debounce = debounce
        self._saved_event = -1
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._saved_event = self.workspace.event_id
        self._thread = threading.Thread(target=self._run, name="standin-saver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.workspace.touch()  # wakes the thread's wait
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.save()

    def save(self) -> None:
        with self._write_lock:
            state = dump(self.workspace, self.views)
            write(self.path, state)
            self._saved_event = int(state["event_id"])

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.workspace.wait_for_change(self._saved_event, timeout=5.0)
            if self._stopping.wait(self.debounce):  # gather a burst of changes into one write
                return
            if self.workspace.event_id == self._saved_event:
                continue
            try:
                self.save()
            except OSError:
                # The next change tries again; the stand-in keeps serving meanwhile.
                log.exception("stand-in: could not save the workspace to %s", self.path)
