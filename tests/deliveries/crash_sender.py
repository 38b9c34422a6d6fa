"""Run one delivery-loop pass in a separate process and SIGKILL it at a chosen point.

    python -m tests.deliveries.crash_sender <database url> <slack api url> after-send|before-send

``after-send``: Slack accepted the post, the process dies before recording it.
``before-send``: the process dies after claiming the row, before calling Slack.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from bot.deliveries import sender
from bot.deliveries.loop import DeliveryLoop
from tests.slack.conftest import make_runtime


def _die(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    db_url, api_url, point = sys.argv[1:4]
    loop = DeliveryLoop(make_runtime(db_url, api_url))
    if point == "after-send":
        loop.outcomes.record = _die  # type: ignore[method-assign]
    else:
        sender.execute = _die  # type: ignore[assignment]
    loop.run_once()
    sys.exit(3)  # never reached when a delivery was due


if __name__ == "__main__":
    main()
