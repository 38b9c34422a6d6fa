"""Resolve an alert automatically (autoclose, auto-resolve): the pipeline's side of
``transitions.resolve``, acting as the system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.alerts import transitions
from bot.models import Alert, AlertState
from bot.models.base import SYSTEM
from bot.models.enums import AlertAction, Resolution

__all__ = ["Closing", "close_alert"]


@dataclass
class Closing:
    """An alert a run's plan closes: autoclose (too old) or auto-resolve (condition cleared)."""

    alert_id: int
    key: str
    resolution: Resolution
    action: AlertAction
    reason: str


def close_alert(
    session: Session, run_id: int, closing: Closing, now: datetime, thread_replies: bool
) -> None:
    alert = session.get(Alert, closing.alert_id)
    if alert is None or alert.state == AlertState.RESOLVED:
        return  # resolved by a person since the plan was made
    change = transitions.Change(session, SYSTEM, now, thread_replies)
    transitions.resolve(
        change,
        alert,
        closing.resolution,
        action=closing.action,
        reason=closing.reason,
        detail={"run_id": run_id},
    )
