"""What a run decided, before anything is written: a preview shows it, a run applies it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.alerts.close import Closing


@dataclass
class NewAlert:
    key: str
    fields: dict[str, Any]
    occurrences: int
    title: str
    body: str
    link: str | None
    template_error: str | None = None
    last_seen: datetime | None = None


@dataclass
class SeenAgain:
    alert_id: int
    key: str
    occurrences: int  # added to the alert's occurrences
    fields: dict[str, Any]
    renotify: str | None = None  # why it is notified again ("repeat interval", "snooze ended")


@dataclass
class Plan:
    hits: int = 0
    firing: int = 0  # candidates that passed the condition
    new: list[NewAlert] = field(default_factory=list)
    seen: list[SeenAgain] = field(default_factory=list)
    suppressed: int = 0
    suppressed_by: dict[int, int] = field(default_factory=dict)  # suppression id -> count
    maintenance: dict[int, int] = field(default_factory=dict)  # maintenance window id -> count
    closing: list[Closing] = field(default_factory=list)
    burst: bool = False  # too many new alerts for one post each: one summary post
    warnings: list[str] = field(default_factory=list)  # e.g. results lacking a key field
    quiet: bool = False  # a backfill: new alerts get no post each (it posts one summary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "warnings": self.warnings,
            "firing": self.firing,
            "burst": self.burst,
            "suppressed": self.suppressed,
            "new": [
                {
                    "key": n.key,
                    "title": n.title,
                    "body": n.body,
                    "link": n.link,
                    "occurrences": n.occurrences,
                    "template_error": n.template_error,
                    "fields": n.fields,
                }
                for n in self.new
            ],
            "seen_again": [
                {
                    "alert_id": s.alert_id,
                    "key": s.key,
                    "occurrences": s.occurrences,
                    "renotify": s.renotify,
                }
                for s in self.seen
            ],
            "closing": [
                {
                    "alert_id": c.alert_id,
                    "key": c.key,
                    "resolution": c.resolution.value,
                    "reason": c.reason,
                }
                for c in self.closing
            ],
        }
