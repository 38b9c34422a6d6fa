"""What happens when: the demo's story, second by second, as a pure function of time.

Background traffic (logins, a few typos, engineers' ssh sessions, password changes,
visitors on the website) runs all the time. On top of it, incidents recur so every demo
search has something to find, and each one happens in the first seconds after start so
alerts show up within a minute:

- a non-technical employee opens an ssh session on a production host;
- an attacker guesses passwords from one address (a burst of failed logins);
- a scraper fetches hundreds of pages from one address;
- single sign-on breaks and successful logins stop for several minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.demo import events
from bot.demo.events import Event
from bot.demo.people import (
    ATTACKER_IPS,
    BROWSER_AGENTS,
    ENGINEERS,
    GUESSED_NAMES,
    NON_PROD_HOSTS,
    NON_TECHNICAL,
    OFFICE_IPS,
    PROD_HOSTS,
    SCRAPER_AGENTS,
    SCRAPER_IPS,
    STAFF,
    VISITOR_IPS,
    WEB_PATHS,
)


@dataclass(frozen=True)
class Timing:
    """When incidents happen, in seconds since the generator started."""

    rogue_ssh_first: float = 2
    rogue_ssh_every: float = 240
    brute_force_first: float = 4
    brute_force_every: float = 300
    brute_force_seconds: float = 12
    brute_force_attempts: int = 60
    scraper_first: float = 6
    scraper_every: float = 420
    scraper_seconds: float = 20
    scraper_requests: int = 400
    # Single sign-on is down when the demo starts (so the dead-man search has something
    # to find at once), then again for `outage_seconds` every `outage_every`.
    outage_at_start: float = 40
    outage_every: float = 1800
    outage_offset: float = 900
    outage_seconds: float = 360
    # Background rates, per second.
    logins_per_second: float = 0.6
    typos_per_second: float = 0.05
    ssh_per_second: float = 0.08
    password_changes_per_second: float = 0.01
    page_views_per_second: float = 2.0


@dataclass(frozen=True)
class Incident:
    """One occurrence of a recurring incident: which one, its number, and its offset in it."""

    number: int
    offset: float


def _occurrence(t: float, first: float, every: float, length: float) -> Incident | None:
    if t < first:
        return None
    number, offset = divmod(t - first, every)
    return Incident(int(number), offset) if offset < length else None


class Scenario:
    def __init__(self, timing: Timing | None = None, seed: int | None = None) -> None:
        self.timing = timing or Timing()
        self.rng = random.Random(seed)

    def sso_down(self, t: float) -> bool:
        timing = self.timing
        if t < timing.outage_at_start:
            return True
        return (
            _occurrence(t, timing.outage_offset, timing.outage_every, timing.outage_seconds)
            is not None
        )

    def events_between(self, start: float, t0: float, t1: float) -> list[Event]:
        """Events with timestamps in [t0, t1) (wall clock), for a demo started at ``start``."""
        out: list[Event] = []
        out += self._background(t0, t1, sso_down=self.sso_down(t0 - start))
        for t in _seconds(t0 - start, t1 - start):
            at = start + t
            out += self._rogue_ssh(at, t)
            out += self._brute_force(at, t)
            out += self._scraper(at, t)
        out.sort(key=lambda e: e["@timestamp"])
        return out

    def backfill(self, end: float, seconds: float) -> list[Event]:
        """Quiet background traffic for the ``seconds`` before ``end``.

        Successful logins stop 330 s before ``end``: single sign-on has been down for a
        while when the demo starts, so the dead-man search fires on its first run.
        """
        out: list[Event] = []
        step = 5.0
        t = end - seconds
        while t < end:
            out += self._background(t, min(t + step, end), sso_down=t >= end - 330)
            t += step
        out.sort(key=lambda e: e["@timestamp"])
        return out

    # -- background ------------------------------------------------------------------

    def _count(self, rate: float, seconds: float) -> int:
        expected = rate * seconds
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def _background(self, t0: float, t1: float, *, sso_down: bool) -> list[Event]:
        timing, rng, span = self.timing, self.rng, t1 - t0
        out: list[Event] = []

        def at() -> float:
            return rng.uniform(t0, t1)

        for _ in range(self._count(timing.logins_per_second, span)):
            person = rng.choice(STAFF)
            # While SSO is down every attempt fails: that is what the dead-man search sees.
            out.append(
                events.login(
                    at(), person.name, person.role, rng.choice(OFFICE_IPS), success=not sso_down
                )
            )
        for _ in range(self._count(timing.typos_per_second, span)):
            person = rng.choice(STAFF)
            out.append(
                events.login(at(), person.name, person.role, rng.choice(OFFICE_IPS), success=False)
            )
        for _ in range(self._count(timing.ssh_per_second, span)):
            host = rng.choice(PROD_HOSTS + NON_PROD_HOSTS)
            out.append(
                events.ssh_session(at(), rng.choice(ENGINEERS), host, rng.choice(OFFICE_IPS))
            )
        for _ in range(self._count(timing.password_changes_per_second, span)):
            out.append(events.password_change(at(), rng.choice(STAFF), rng.choice(OFFICE_IPS)))
        for _ in range(self._count(timing.page_views_per_second, span)):
            path = rng.choice(WEB_PATHS)
            status = 404 if rng.random() < 0.03 else 200
            out.append(
                events.http_request(
                    at(),
                    rng.choice(VISITOR_IPS),
                    path,
                    rng.choice(BROWSER_AGENTS),
                    status=status,
                    size=rng.randint(800, 60_000),
                )
            )
        return out

    # -- incidents --------------------------------------------------------------------

    def _rogue_ssh(self, at: float, t: float) -> list[Event]:
        timing = self.timing
        incident = _occurrence(t, timing.rogue_ssh_first, timing.rogue_ssh_every, 1)
        if incident is None:
            return []
        person = NON_TECHNICAL[incident.number % len(NON_TECHNICAL)]
        host = PROD_HOSTS[incident.number % len(PROD_HOSTS)]
        return [
            events.ssh_session(at + self.rng.random(), person, host, self.rng.choice(OFFICE_IPS))
        ]

    def _brute_force(self, at: float, t: float) -> list[Event]:
        timing = self.timing
        incident = _occurrence(
            t, timing.brute_force_first, timing.brute_force_every, timing.brute_force_seconds
        )
        if incident is None:
            return []
        ip = ATTACKER_IPS[incident.number % len(ATTACKER_IPS)]
        per_second = timing.brute_force_attempts / timing.brute_force_seconds
        return [
            events.login(
                at + self.rng.random(), self.rng.choice(GUESSED_NAMES), None, ip, success=False
            )
            for _ in range(self._count(per_second, 1))
        ]

    def _scraper(self, at: float, t: float) -> list[Event]:
        timing = self.timing
        incident = _occurrence(
            t, timing.scraper_first, timing.scraper_every, timing.scraper_seconds
        )
        if incident is None:
            return []
        ip = SCRAPER_IPS[incident.number % len(SCRAPER_IPS)]
        agent = SCRAPER_AGENTS[incident.number % len(SCRAPER_AGENTS)]
        per_second = timing.scraper_requests / timing.scraper_seconds
        return [
            events.http_request(
                at + self.rng.random(),
                ip,
                f"/products/{self.rng.randint(1000, 9999)}",
                agent,
                size=self.rng.randint(20_000, 90_000),
            )
            for _ in range(self._count(per_second, 1))
        ]


def _seconds(t0: float, t1: float) -> range:
    """The whole seconds s with t0 <= s < t1 (incidents are planned per second)."""
    first = int(t0) if t0 == int(t0) else int(t0) + 1
    return range(max(first, 0), max(int(-(-t1 // 1)), 0))
