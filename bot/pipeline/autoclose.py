"""Rule 6, autoclose: open alerts not seen for N are resolved as "too old"."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.close import Closing
from bot.models import AlertAction, Resolution
from searches.durations import format_duration


def autoclose(
    open_alerts: Iterable[Any], seen_keys: set[str], autoclose_seconds: int | None, now: datetime
) -> list[Closing]:
    if not autoclose_seconds:
        return []
    cutoff = now - timedelta(seconds=autoclose_seconds)
    return [
        Closing(
            alert_id=alert.id,
            key=alert.dedupe_key,
            resolution=Resolution.TOO_OLD,
            action=AlertAction.AUTOCLOSED,
            reason=f"not seen for {format_duration(autoclose_seconds)}",
        )
        for alert in open_alerts
        if alert.dedupe_key not in seen_keys and alert.last_seen < cutoff
    ]
