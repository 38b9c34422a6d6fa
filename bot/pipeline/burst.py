"""Rule 8, burst grouping (Alertmanager's grouping): more than ``threshold`` new alerts in
one run make ONE summary post listing them, not one post each."""

from __future__ import annotations


def is_burst(new_alerts: int, threshold: int) -> bool:
    return threshold > 0 and new_alerts > threshold


def burst_key(run_id: int) -> str:
    return f"run:{run_id}:burst"
