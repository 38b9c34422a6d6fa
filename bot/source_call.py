"""Calling a source with a deadline: a hung query cannot hold a worker."""

from __future__ import annotations

import logging
import threading
from typing import Any

from searches.base import Source, SourceResult, TimeWindow

log = logging.getLogger(__name__)


class RunTimeout(Exception):
    pass


def run_source(source: Source, window: TimeWindow, timeout: float) -> SourceResult:
    """``source.run(window)`` in a thread with a deadline.

    Python cannot kill a thread; a run past its deadline is abandoned (and its
    source closed when it returns), and the caller records TIMED_OUT.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = source.run(window)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()
            try:
                source.close()
            except Exception:
                log.exception("closing source %s failed", source.context.search_name)

    threading.Thread(target=target, name=f"source-{source.context.search_id}", daemon=True).start()
    if not done.wait(timeout):
        raise RunTimeout(f"the search did not finish within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    result: SourceResult = box["result"]
    return result
