"""Fault switches: make the stand-in answer like a Slack having a bad day.

Per Web API method, or for all (``"*"``):
- ``500``: HTTP 500, the call not performed (or performed first: ``accept=True``,
  which is what makes a client unsure whether its post went through);
- ``429``: HTTP 429 with ``Retry-After``;
- ``hang``: wait ``seconds`` before answering, then perform the call (a client that
  timed out meanwhile does not know its post was accepted).

Set from Python (``standin.faults.set(...)``) or over HTTP:
``POST /_faults`` with ``{"method": "chat.postMessage", "mode": "500"}``;
``POST /_faults`` with ``{"clear": true}`` (or ``{"clear": true, "method": ...}``).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

ALL = "*"


class FaultMode(enum.StrEnum):
    ERROR = "500"
    RATE_LIMITED = "429"
    HANG = "hang"


@dataclass(frozen=True)
class Fault:
    mode: FaultMode
    retry_after: int = 1  # 429
    seconds: float = 35.0  # hang
    accept: bool = False  # 500: perform the call, then answer 500

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(
            mode=FaultMode(str(data["mode"])),
            retry_after=int(data.get("retry_after", 1)),
            seconds=float(data.get("seconds", 35.0)),
            accept=bool(data.get("accept", False)),
        )


class Faults:
    """The switches in force; thread-safe (the server answers from many threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_method: dict[str, Fault] = {}
        self.hits = 0  # calls a fault answered (tests check the switch took effect)

    def set(self, method: str, fault: Fault) -> None:
        with self._lock:
            self._by_method[method] = fault

    def clear(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self._by_method.clear()
            else:
                self._by_method.pop(method, None)

    def for_method(self, method: str) -> Fault | None:
        with self._lock:
            fault = self._by_method.get(method) or self._by_method.get(ALL)
            if fault is not None:
                self.hits += 1
            return fault

    def apply_json(self, data: dict[str, Any]) -> None:
        if data.get("clear"):
            self.clear(data.get("method"))
        else:
            self.set(str(data.get("method") or ALL), Fault.from_json(data))
