"""Pacing per lane: about one post per second per channel, and Retry-After blocks.

A lane is what Slack rate-limits a call by: ``post:<channel>`` for chat.postMessage
(about one message per second per channel, short bursts allowed) or the method name
(``chat.update``: a per-workspace tier). A token bucket paces posts; an HTTP 429
blocks its own lane for ``Retry-After`` seconds, so other channels keep flowing.

Posts have a workspace-wide limit too ("several hundred a minute"), and a 429 does
not say which limit refused it. One channel refused is that channel's limit; a
second channel refused while the first one's wait still runs is the workspace's,
and then every post waits out ``Retry-After``: trying each other channel in turn
would only collect a 429 from each.
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


POST_LANE = "post:"  # the prefix of a channel's post lane


class Lanes:
    def __init__(self, posts_per_second: float = 1.0, burst: int = 3) -> None:
        self.posts_per_second = posts_per_second
        self.burst = burst
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._last_post_block: tuple[str, float] = ("", 0.0)  # the last post lane blocked
        self._posts_blocked_until = 0.0  # the workspace's post limit: every post lane waits

    def _get(self, name: str) -> _Lane:
        now = time.monotonic()
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane(tokens=float(self.burst), updated=now)
        if name.startswith(POST_LANE):
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
            if self._blocked_until(name, lane) > time.monotonic() or lane.tokens < 1:
                return False
            if take:
                lane.tokens -= 1
            return True

    def wait(self, name: str) -> float:
        """Seconds until the lane may take a call again."""
        with self._lock:
            lane = self._get(name)
            blocked = self._blocked_until(name, lane) - time.monotonic()
            return max(0.05, blocked, (1 - lane.tokens) / self.posts_per_second)

    def block(self, name: str, seconds: float) -> None:
        """Slack said 429: nothing on this lane for ``seconds``, then start from empty."""
        with self._lock:
            now = time.monotonic()
            lane = self._get(name)
            lane.blocked_until = now + seconds
            lane.tokens = 0.0
            if name.startswith(POST_LANE):
                other, other_until = self._last_post_block
                if other != name and other_until > now:  # two channels: the workspace's limit
                    self._posts_blocked_until = max(self._posts_blocked_until, now + seconds)
                self._last_post_block = (name, now + seconds)

    def _blocked_until(self, name: str, lane: _Lane) -> float:
        if name.startswith(POST_LANE):
            return max(lane.blocked_until, self._posts_blocked_until)
        return lane.blocked_until
