"""Short-lived handles Slack gives an app with each interaction.

- `trigger_id`: lets `views.open`/`views.push` open a modal for the user who acted;
  valid for 3 seconds and once.
- `response_url`: lets the app answer the interaction; up to 5 uses within 30 minutes.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

TRIGGER_TTL = 3.0
RESPONSE_URL_TTL = 30 * 60.0
RESPONSE_URL_USES = 5


@dataclass
class Trigger:
    id: str
    user: str
    created: float
    used: bool = False


@dataclass
class ResponseUrl:
    token: str
    user: str
    channel: str
    created: float
    # What the interaction came from: a message (ts) or an ephemeral (ephemeral_ts).
    message_ts: str | None = None
    ephemeral_ts: str | None = None
    thread_ts: str | None = None
    uses: int = 0


class Handles:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._triggers: dict[str, Trigger] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self.trigger_ttl = TRIGGER_TTL
        self.response_url_ttl = RESPONSE_URL_TTL
        self.response_url_uses = RESPONSE_URL_USES

    def new_trigger(self, user: str) -> str:
        now = self._clock()
        trigger_id = f"{int(now)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = Trigger(id=trigger_id, user=user, created=now)
        return trigger_id

    def use_trigger(self, trigger_id: str | None) -> tuple[str | None, str | None]:
        """(user, None) when the trigger may open a view now, else (None, Slack's error)."""
        with self._lock:
            trigger = self._triggers.get(trigger_id or "")
            if trigger is None:
                return None, "invalid_trigger_id"
            if trigger.used or self._clock() - trigger.created > self.trigger_ttl:
                return None, "expired_trigger_id"
            trigger.used = True
            return trigger.user, None

    def new_response_url(self, handle: ResponseUrl) -> str:
        handle.token = secrets.token_urlsafe(16)
        handle.created = self._clock()
        with self._lock:
            self._response_urls[handle.token] = handle
        return handle.token

    def use_response_url(self, token: str) -> tuple[ResponseUrl | None, str | None]:
        """Count one use; (handle, None) when allowed, else (None, Slack's error)."""
        with self._lock:
            handle = self._response_urls.get(token)
            if handle is None:
                return None, "invalid_url"
            if self._clock() - handle.created > self.response_url_ttl:
                return None, "expired_url"
            if handle.uses >= self.response_url_uses:
                return None, "used_url"
            handle.uses += 1
            return handle, None
