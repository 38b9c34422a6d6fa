"""Which digest period is due for a subscription at a given moment.

A daily digest at 09:00 covers the 24 local hours before 09:00 (23 or 25 across a DST
change); the weekly summary is due on Mondays at the same time and covers the seven
local days before. Only the latest due period counts: after downtime the current
period's digest is still posted once, older missed ones are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput
from bot.models import DigestPeriod, DigestSubscription
from bot.text.escape import code

_HHMM = re.compile(r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")


@dataclass(frozen=True)
class DuePeriod:
    channel: str
    period: DigestPeriod
    start: datetime  # UTC
    end: datetime  # UTC: the moment it became due
    tz: ZoneInfo

    @property
    def key(self) -> str:
        """Stable across processes: names the deliveries of this period's digest."""
        return f"digest:{self.channel}:{self.period.value}:{self.start.isoformat()}"


def parse_time_of_day(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise InvalidInput(
            f"{code(value, 60)} is not a time of day: use HH:MM on a 24-hour clock, e.g. 09:00 or 17:30.",
            field="time_of_day",
        )
    return time(int(match["h"]), int(match["m"]))


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{code(name, 60)} is not a known IANA time zone; use a name like Europe/Paris, "
            "America/New_York or UTC.",
            field="timezone",
        ) from None


def latest_due(
    subscription: DigestSubscription, now: datetime, period: DigestPeriod
) -> DuePeriod | None:
    """The latest period of ``period`` kind due at or before ``now``, if it counts.

    A slot before the subscription existed does not count: subscribing at 10:00 to a
    09:00 digest starts tomorrow instead of posting at once.
    """
    tz = ZoneInfo(subscription.timezone)
    at = parse_time_of_day(subscription.time_of_day)
    local_now = now.astimezone(tz)
    day = local_now.date()
    if period == DigestPeriod.WEEKLY:
        day -= timedelta(days=day.weekday())  # back to Monday
    step = timedelta(days=7 if period == DigestPeriod.WEEKLY else 1)
    end = datetime.combine(day, at, tzinfo=tz)
    if end.astimezone(UTC) > now:  # compared in UTC: same-zone comparisons ignore DST
        end = datetime.combine(day - step, at, tzinfo=tz)
    start = datetime.combine(end.date() - step, at, tzinfo=tz)
    end_utc, start_utc = end.astimezone(UTC), start.astimezone(UTC)
    created = subscription.created_at
    if created is not None and end_utc < created:
        return None
    return DuePeriod(subscription.channel, period, start_utc, end_utc, tz)


def due_periods(subscription: DigestSubscription, now: datetime) -> list[DuePeriod]:
    kinds = [DigestPeriod.DAILY] + ([DigestPeriod.WEEKLY] if subscription.weekly else [])
    return [p for kind in kinds if (p := latest_due(subscription, now, kind)) is not None]
