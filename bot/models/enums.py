"""States, resolutions, priorities and actions: the vocabulary of 411."""

from __future__ import annotations

import enum


class AlertState(enum.StrEnum):
    """Etsy 411's life cycle: New, In progress (someone has it), Resolved."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Resolution(enum.StrEnum):
    ACTION_TAKEN = "action_taken"
    NOT_AN_ISSUE = "not_an_issue"
    TOO_OLD = "too_old"  # also what autoclose records
    CLEARED = "cleared"  # the condition stopped firing (auto-resolve)

    @property
    def label(self) -> str:
        return {
            Resolution.ACTION_TAKEN: "Action taken",
            Resolution.NOT_AN_ISSUE: "Not an issue",
            Resolution.TOO_OLD: "Too old",
            Resolution.CLEARED: "Cleared",
        }[self]


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)

    def raised(self) -> Priority:
        """The next priority up (escalation); critical stays critical."""
        members = list(Priority)
        return members[min(self.rank + 1, len(members) - 1)]


class AlertAction(enum.StrEnum):
    """What an alert event records: every action and notification on an alert."""

    CREATED = "created"
    SEEN_AGAIN = "seen_again"
    NOTIFIED = "notified"
    RENOTIFIED = "renotified"
    ASSIGNED = "assigned"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    NOTE = "note"
    MUTED = "muted"  # "Mute this key…": a suppression of the alert's key
    AUTOCLOSED = "autoclosed"
    AUTO_RESOLVED = "auto_resolved"
    DELIVERY_FAILED = "delivery_failed"


class RunStatus(enum.StrEnum):
    PENDING = "pending"  # due, waiting for a worker to claim it
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"  # e.g. the search was disabled before the run started

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


class DeliveryKind(enum.StrEnum):
    """What a delivery does in Slack."""

    POST = "post"  # chat.postMessage of an alert (or burst summary) into its channel
    UPDATE = "update"  # chat.update of a message already posted
    THREAD_REPLY = "thread_reply"  # chat.postMessage with thread_ts
    MESSAGE = "message"  # any other message (owner notices, digests)
    UPLOAD = "upload"  # files upload v2 (the digest chart)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a delivery loop
    SENT = "sent"
    FAILED = "failed"  # gave up after the retry bound; recorded on the alert
    SUPERSEDED = "superseded"  # folded into a later update of the same message


class DigestPeriod(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class ConditionOp(enum.StrEnum):
    """How a search's result becomes "firing"."""

    ANY = "any"  # every hit (or bucket) is an alert
    GT = "gt"  # count (or bucket count) > threshold
    GTE = "gte"
    LT = "lt"  # count < threshold: the dead-man case ("logins dropped to zero")
    LTE = "lte"
    EQ = "eq"
