"""Append the scenario's events to a JSON-lines log, once a second, in a background thread.

Each tick is written with one ``write`` and flushed, so a reader sees whole lines. A new
(empty) log first gets ten minutes of backfill, so the searches have history to look
at. When the log passes ``max_bytes`` it is rotated to ``<name>.1``: the searches look
back minutes, not days, and a scan of the log stays fast.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.demo.events import Event
from bot.demo.scenario import Scenario, Timing

log = logging.getLogger(__name__)

BACKFILL_SECONDS = 600
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class DemoGenerator:
    def __init__(
        self,
        path: str | Path,
        *,
        timing: Timing | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        max_bytes: int = DEFAULT_MAX_BYTES,
        tick_seconds: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.scenario = Scenario(timing, seed)
        self.clock = clock
        self.max_bytes = max_bytes
        self.tick_seconds = tick_seconds
        self.written = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._last = 0.0

    def prepare(self) -> None:
        """Create the log (with backfill when new) and fix the scenario's start time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        self._started_at = self._last = now
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append(self.scenario.backfill(now, BACKFILL_SECONDS))

    def tick(self) -> int:
        """Write the events from the last tick up to now; returns how many."""
        now = self.clock()
        batch = self.scenario.events_between(self._started_at, self._last, now)
        self._last = now
        self._rotate_if_big()
        self._append(batch)
        return len(batch)

    def start(self) -> None:
        self.prepare()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-generator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.tick()
            except OSError:
                # A full disk or a removed directory must not kill the rest of `411 dev`.
                log.exception("the demo generator could not write %s", self.path)

    def _append(self, batch: list[Event]) -> None:
        if not batch:
            return
        data = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in batch)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
        self.written += len(batch)

    def _rotate_if_big(self) -> None:
        try:
            if self.path.stat().st_size > self.max_bytes:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
        except FileNotFoundError:
            pass
