"""Modal stacks (up to 3 views per user) and App Home tabs, with ids and hashes."""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable

from standin.model import JSON, View

MAX_STACK = 3


class ViewError(Exception):
    """A views.* call Slack would refuse; `code` is Slack's error string."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ViewStore:
    def __init__(self, clock: Callable[[], float], on_change: Callable[[], None]) -> None:
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.RLock()
        self.views: dict[str, View] = {}
        self.stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}

    @property
    def lock(self) -> threading.RLock:
        """Taken before the workspace's lock, never after (changes call into the workspace)."""
        return self._lock

    def _new_view(
        self, user: str, definition: JSON, root: str | None, previous: str | None
    ) -> View:
        view_id = "V" + secrets.token_hex(5).upper()
        view = View(
            id=view_id,
            user=user,
            definition=copy.deepcopy(definition),
            hash=self._new_hash(),
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = view
        return view

    def _new_hash(self) -> str:
        return f"{self._clock():.6f}.{secrets.token_hex(4)}"

    def get(self, view_id: str) -> View | None:
        with self._lock:
            return self.views.get(view_id)

    def stack(self, user: str) -> list[View]:
        with self._lock:
            return [self.views[v] for v in self.stacks.get(user, [])]

    def home(self, user: str) -> View | None:
        with self._lock:
            view_id = self.homes.get(user)
            return self.views.get(view_id) if view_id else None

    def open(self, user: str, definition: JSON) -> View:
        """A new modal; one already open for this user is replaced, as in Slack's client."""
        with self._lock:
            view = self._new_view(user, definition, None, None)
            self.stacks[user] = [view.id]
            self._on_change()
            return view

    def push(self, user: str, definition: JSON) -> View:
        with self._lock:
            stack = self.stacks.get(user, [])
            if not stack:
                raise ViewError("not_found")
            if len(stack) >= MAX_STACK:
                raise ViewError("push_limit_reached")
            top = self.views[stack[-1]]
            view = self._new_view(user, definition, top.root_view_id, top.id)
            stack.append(view.id)
            self._on_change()
            return view

    def find(self, view_id: str | None, external_id: str | None) -> View:
        with self._lock:
            if view_id:
                view = self.views.get(view_id)
            else:
                view = next(
                    (
                        v
                        for v in self.views.values()
                        if external_id and v.definition.get("external_id") == external_id
                    ),
                    None,
                )
            if view is None or not self._is_live(view):
                raise ViewError("not_found")
            return view

    def _is_live(self, view: View) -> bool:
        return view.id in self.stacks.get(view.user, []) or self.homes.get(view.user) == view.id

    def update(self, view: View, definition: JSON, expected_hash: str | None) -> View:
        with self._lock:
            if expected_hash and expected_hash != view.hash:
                raise ViewError("hash_conflict")
            if definition.get("type") != view.type:
                raise ViewError("invalid_arguments")
            view.definition = copy.deepcopy(definition)
            view.hash = self._new_hash()
            view.errors = {}
            # Slack keeps what the user typed where the block_id and action_id still exist.
            view.state_values = {
                block_id: values
                for block_id, values in view.state_values.items()
                if any(b.get("block_id") == block_id for b in definition.get("blocks", []))
            }
            self._on_change()
            return view

    def publish(self, user: str, definition: JSON, expected_hash: str | None) -> View:
        with self._lock:
            current = self.home(user)
            if current is not None:
                return self.update(current, definition, expected_hash)
            view = self._new_view(user, definition, None, None)
            self.homes[user] = view.id
            self._on_change()
            return view

    def close(self, user: str, view_id: str) -> list[View]:
        """Close a view and those pushed above it; returns the closed views, top first."""
        with self._lock:
            stack = self.stacks.get(user, [])
            if view_id not in stack:
                return []
            index = stack.index(view_id)
            closed = [self.views[v] for v in reversed(stack[index:])]
            del stack[index:]
            self._on_change()
            return closed

    def clear(self, user: str) -> list[View]:
        with self._lock:
            closed = [self.views[v] for v in reversed(self.stacks.get(user, []))]
            self.stacks[user] = []
            self._on_change()
            return closed

    def set_errors(self, view: View, errors: dict[str, str]) -> None:
        with self._lock:
            view.errors = dict(errors)
            self._on_change()

    def set_state(self, view: View, values: JSON) -> None:
        with self._lock:
            view.state_values = copy.deepcopy(values)
            self._on_change()
