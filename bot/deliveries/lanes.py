"""Pacing per lane: about one post per second per channel, and Retry-After blocks.

A lane is what Slack rate-limits a call by: ``post:<channel>`` for chat.postMessage
(about one message per second per channel, short bursts allowed) or the method name
(``chat.update``: a per-workspace tier). A token bucket paces posts; an HTTP 429
blocks only its own lane for ``Retry-After`` seconds, so other channels keep flowing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Lane:
    tokens: float
    updated: float
    blocked_until: float = 0.0


class Lanes:
    def __init__(self, posts_per_second: float = 1.0, burst: int = 3) -> None:
        self.posts_per_second = posts_per_second
        self.burst = burst
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()

    def _get(self, name: str) -> _Lane:
        now = time.monotonic()
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane(tokens=float(self.burst), updated=now)
        if name.startswith("post:"):
            refill = (now - lane.updated) * self.posts_per_second
            lane.tokens = min(float(self.burst), lane.tokens + refill)
        else:
            lane.tokens = float(self.burst)  # only Retry-After limits the method lanes
        lane.updated = now
        return lane

    def ready(self, name: str, *, take: bool) -> bool:
        """Whether a call may go now; ``take`` uses up a token when it may."""
        with self._lock:
            lane = self._get(name)
            if lane.blocked_until > time.monotonic() or lane.tokens < 1:
                return False
            if take:
                lane.tokens -= 1
            return True

    def wait(self, name: str) -> float:
        """Seconds until the lane may take a call again."""
        with self._lock:
            lane = self._get(name)
            blocked = lane.blocked_until - time.monotonic()
            return max(0.05, blocked, (1 - lane.tokens) / self.posts_per_second)

    def block(self, name: str, seconds: float) -> None:
        """Slack said 429: nothing on this lane for ``seconds``, then start from empty."""
        with self._lock:
            lane = self._get(name)
            lane.blocked_until = time.monotonic() + seconds
            lane.tokens = 0.0
