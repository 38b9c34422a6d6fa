"""Slack's rate limits: per-method tiers per minute, and chat.postMessage per channel.

Tiers (docs.slack.dev/apis/web-api/rate-limits): T1 1+/min, T2 20+/min, T3 50+/min,
T4 100+/min, each per method per workspace. chat.postMessage is "special": about one
message per second per channel with short bursts allowed. Over a limit Slack answers
HTTP 429 with `Retry-After: <seconds>`; `RateLimiter.check` returns those seconds.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

METHOD_TIERS = {
    "auth.test": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.members": 4,
    "conversations.list": 2,
    "usergroups.list": 2,
    "users.info": 4,
    "users.list": 2,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}


@dataclass
class RateLimits:
    """Tunable numbers; tests tighten or loosen them (`enabled=False` turns all off)."""

    enabled: bool = True
    # chat.postMessage per channel: a token bucket refilled at `per_second`, holding `burst`.
    post_per_channel_per_second: float = 1.0
    post_burst: int = 4
    # Workspace-wide cap on chat.postMessage (Slack: "several hundred per minute").
    post_per_minute_workspace: int = 600
    tier_per_minute: dict[int, int] = field(default_factory=lambda: dict(TIER_PER_MINUTE))
    method_tiers: dict[str, int] = field(default_factory=lambda: dict(METHOD_TIERS))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._buckets: dict[str, _Bucket] = {}
        self.limited: dict[str, int] = defaultdict(int)

    @property
    def limited_total(self) -> int:
        return sum(self.limited.values())

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Record a call; None when allowed, else the Retry-After seconds (at least 1)."""
        if not self.limits.enabled:
            return None
        with self._lock:
            now = self._clock()
            if method == "chat.postMessage":
                wait = self._take_token(channel or "-", now)
                if wait is None:
                    wait = self._window("postMessage", now, self.limits.post_per_minute_workspace)
                    if wait is not None:  # refused anyway: give the channel its token back
                        self._buckets[channel or "-"].tokens += 1
            else:
                tier = self.limits.method_tiers.get(method, 3)
                wait = self._window(method, now, self.limits.tier_per_minute[tier])
            if wait is not None:
                self.limited[method] += 1
            return wait

    def _window(self, key: str, now: float, per_minute: int) -> int | None:
        calls = self._windows[key]
        while calls and calls[0] <= now - 60:
            calls.popleft()
        if len(calls) >= per_minute:
            return max(1, math.ceil(calls[0] + 60 - now))
        calls.append(now)
        return None

    def _take_token(self, channel: str, now: float) -> int | None:
        rate, burst = self.limits.post_per_channel_per_second, self.limits.post_burst
        bucket = self._buckets.setdefault(channel, _Bucket(tokens=burst, updated=now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))
