"""Rule 8, burst grouping (Alertmanager's grouping): more than ``threshold`` new alerts in
one run make ONE summary post listing them, not one post each. The burst itself (its
posts, listings, bulk actions) is ``bot/alerts/bursts.py``."""

from __future__ import annotations


def is_burst(new_alerts: int, threshold: int) -> bool:
    return threshold > 0 and new_alerts > threshold
