"""A daemon thread with ``start()`` and ``stop()``, for the loops every worker runs."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """Subclasses set ``thread_name`` and implement ``_run``, which returns once
    ``self._stop`` is set (wait on it instead of sleeping so that stop is prompt)."""

    thread_name = "background-loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def alive(self) -> bool:
        """Whether the loop's thread is running (the worker's liveness)."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError
