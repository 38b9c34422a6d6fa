"""The data model: typed SQLAlchemy 2 models and the enums they use."""

from bot.models.alert import Alert, AlertEvent
from bot.models.base import SYSTEM, Base, utcnow
from bot.models.delivery import Delivery
from bot.models.digest import DigestPost, DigestSubscription
from bot.models.enums import (
    AlertAction,
    AlertState,
    ConditionOp,
    DeliveryKind,
    DeliveryStatus,
    DigestPeriod,
    Priority,
    Resolution,
    RunStatus,
)
from bot.models.heartbeat import WorkerHeartbeat
from bot.models.maintenance import MaintenanceWindow
from bot.models.push import PushEvent
from bot.models.search import Search, SearchRevision, SearchRun
from bot.models.suppression import Suppression

__all__ = [
    "SYSTEM",
    "Alert",
    "AlertAction",
    "AlertEvent",
    "AlertState",
    "Base",
    "ConditionOp",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "DigestPeriod",
    "DigestPost",
    "DigestSubscription",
    "MaintenanceWindow",
    "Priority",
    "PushEvent",
    "Resolution",
    "RunStatus",
    "Search",
    "SearchRevision",
    "SearchRun",
    "Suppression",
    "WorkerHeartbeat",
    "utcnow",
]
