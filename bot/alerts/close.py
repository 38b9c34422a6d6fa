"""Resolve an alert automatically (autoclose, auto-resolve): the pipeline's side of
``transitions.resolve``, acting as the system."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.alerts import transitions
from bot.models import Alert, AlertState
from bot.models.base import SYSTEM

if TYPE_CHECKING:  # the pipeline imports this module: no import back at run time
    from bot.pipeline.plan import Closing

__all__ = ["close_alert"]


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
