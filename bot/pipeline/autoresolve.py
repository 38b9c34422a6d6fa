"""Rule 7, auto-resolve (optional per search): open alerts whose condition no longer fires
are resolved as "cleared". A suppressed key still fires, so it is not cleared."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.alerts.close import Closing
from bot.models import AlertAction, Resolution


def auto_resolve(
    open_alerts: Iterable[Any], firing_keys: set[str], closing_ids: set[int]
) -> list[Closing]:
    return [
        Closing(
            alert_id=alert.id,
            key=alert.dedupe_key,
            resolution=Resolution.CLEARED,
            action=AlertAction.AUTO_RESOLVED,
            reason="the condition no longer fires",
        )
        for alert in open_alerts
        if alert.dedupe_key not in firing_keys and alert.id not in closing_ids
    ]
