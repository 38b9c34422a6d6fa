"""Search schedules: "every 5m" / "every 30s" or a five-field cron expression.

A schedule knows its fire times. Interval schedules are phased by search id
(``offset``) so a thousand one-minute searches do not all fire in the same
second; the phase is derived from the id, so it survives restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from searches.durations import compact_duration, parse_duration

MIN_INTERVAL = 10  # seconds; shorter schedules hammer Elasticsearch for little gain
_EVERY = re.compile(r"^\s*every\s+(.+?)\s*$", re.IGNORECASE)
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: ``interval`` seconds, or a ``cron`` expression."""

    text: str  # normalised: "every 5m" or the cron expression
    interval: int | None = None
    cron: str | None = None

    def trigger(self, offset: int = 0) -> BaseTrigger:
        """An APScheduler trigger; ``offset`` seconds shift interval schedules (phase)."""
        if self.interval is not None:
            start = _EPOCH + timedelta(seconds=offset % self.interval)
            return IntervalTrigger(seconds=self.interval, start_date=start, timezone=UTC)
        assert self.cron is not None
        return _cron_trigger(self.cron)

    def previous_fire(self, now: datetime, offset: int = 0) -> datetime:
        """The latest fire time at or before ``now`` (what a firing job is "scheduled for")."""
        if self.interval is not None:
            start = _EPOCH + timedelta(seconds=offset % self.interval)
            steps = int((now - start).total_seconds() // self.interval)
            return start + timedelta(seconds=steps * self.interval)
        trigger = _cron_trigger(self.cron or "")
        probe = now - timedelta(minutes=2)
        best: datetime | None = None
        while True:  # cron fires at most once a minute: a couple of steps
            nxt = trigger.get_next_fire_time(best, probe)
            if nxt is None or nxt > now:
                break
            best, probe = nxt, nxt + timedelta(seconds=1)
        if best is None:  # no fire in the last two minutes: look further back, rarely needed
            probe = now - timedelta(days=8)
            while (nxt := trigger.get_next_fire_time(best, probe)) is not None and nxt <= now:
                best, probe = nxt, nxt + timedelta(seconds=1)
        return (best or now).astimezone(UTC)

    def next_fire(self, after: datetime, offset: int = 0) -> datetime | None:
        fire = self.trigger(offset).get_next_fire_time(None, after)
        return fire.astimezone(UTC) if fire else None

    def fire_after(self, fired: datetime, offset: int = 0) -> datetime | None:
        """The fire time following ``fired`` (a fire time): plain arithmetic for intervals."""
        if self.interval is not None:
            return fired + timedelta(seconds=self.interval)
        return self.next_fire(fired + timedelta(seconds=1), offset)


def parse_schedule(value: str | int) -> Schedule:
    """Parse "every 5m", "5m", 300, or "*/5 * * * *"; raise ValueError with a readable reason."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _interval(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError('give a schedule such as "every 5m" or a cron expression "*/5 * * * *"')
    text = value.strip()
    match = _EVERY.match(text)
    if match:
        return _interval(parse_duration(match.group(1)))
    fields = text.split()
    if len(fields) == 5:
        try:
            _cron_trigger(" ".join(fields))
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {text!r}: {exc}") from None
        return Schedule(text=" ".join(fields), cron=" ".join(fields))
    try:
        return _interval(parse_duration(text))
    except ValueError:
        raise ValueError(
            f'{text!r} is not a schedule; use "every 5m", "every 30s" or a cron expression '
            'with five fields like "*/5 * * * *"'
        ) from None


def _interval(seconds: int) -> Schedule:
    if seconds < MIN_INTERVAL:
        raise ValueError(f"a schedule must be at least every {MIN_INTERVAL}s")
    return Schedule(text=f"every {compact_duration(seconds)}", interval=seconds)


def _cron_trigger(expr: str) -> CronTrigger:
    minute, hour, day, month, dow = expr.split()
    return CronTrigger.from_crontab(
        f"{minute} {hour} {day} {month} {_crontab_weekdays(dow)}", timezone=UTC
    )


def _crontab_weekdays(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) as names, which APScheduler 3 reads right.

    APScheduler 3 counts 0 as Monday (its issue 286), so numbers are never passed through.
    """
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            low, high = 0, 6
        elif "-" in base:
            low, high = (_day_number(x) for x in base.split("-", 1))
            if high == 0 and low > 0:
                high = 7  # "5-7" or "fri-sun" ends on Sunday
        else:
            low = high = _day_number(base)
        if step < 1 or low > high:
            raise ValueError(f"invalid day-of-week field {field!r}")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day_number(token: str) -> int:
    if token in _DAY_NAMES:
        return _DAY_NAMES.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ValueError(f"invalid day of week {token!r}")
