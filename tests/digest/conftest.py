"""A small world of alerts whose digest figures are worked out by hand (see ``EXPECTED``).

NOW is Monday 2026-11-30 09:00 UTC. The current daily period is the 24 hours before it,
the previous period the 24 hours before that. Times below are hours before NOW.

    alert  search      prio      created  acked  resolved  how             by
    a1     noisy       high      -20      -19    -18       not an issue    U_ALICE (occ 3)
    a2     noisy       low       -10      -9.5   -8        not an issue    U_BOB
    a3     noisy       critical  -5       -4     open, assigned to U_BOB
    a4     quiet-one   medium    -3       -      open, nobody (occ 5)
    a5     noisy       medium    -1       -      -0.5      cleared         system
    b1     quiet-one   high      -40      -39    -30       action taken    U_ALICE
    b2     noisy       low       -30      -28    -22       not an issue    U_ALICE
    b3     secret      high      -26      -      open, nobody (restricted search, has a post)
    c1     quiet-one   low       -100     -      open, nobody
    c2     quiet-one   medium    -90      -      -60       action taken    U_BOB
    c3     noisy       high      -72      -1     -1        not an issue    U_CAROL

    runs: quiet-one failed at -5 ("boom <!channel>") and timed out at -2 ("timeout");
          noisy failed at -30 (previous period) and succeeded at -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.models import Alert, AlertState, Priority, Resolution, RunStatus, Search, SearchRun
from bot.runtime import Runtime

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NOISY_NAME = "noisy <!channel> & *co*"


def hours(h: float) -> datetime:
    return NOW + timedelta(hours=h)


@dataclass
class World:
    noisy: int
    quiet: int
    secret: int
    alerts: dict[str, int]


def add_search(session: Session, name: str, **fields: object) -> Search:
    search = Search(name=name, source="memory", schedule="every 5m", **fields)
    session.add(search)
    session.flush()
    return search


def add_alert(
    session: Session,
    search: Search,
    created: float,
    priority: Priority,
    *,
    acked: float | None = None,
    resolved: float | None = None,
    resolution: Resolution | None = None,
    by: str | None = None,
    assignee: str | None = None,
    occurrences: int = 1,
    channel: str | None = None,
    message_ts: str | None = None,
    title: str = "",
) -> Alert:
    state = AlertState.NEW
    if assignee:
        state = AlertState.IN_PROGRESS
    if resolved is not None:
        state = AlertState.RESOLVED
    alert = Alert(
        search_id=search.id,
        dedupe_key=f"k{created}-{priority.value}-{search.id}",
        state=state,
        priority=priority,
        created_at=hours(created),
        first_seen=hours(created),
        last_seen=hours(created),
        acknowledged_at=hours(acked) if acked is not None else None,
        resolved_at=hours(resolved) if resolved is not None else None,
        resolution=resolution,
        resolved_by=by,
        assignee=assignee,
        occurrences=occurrences,
        channel=channel,
        message_ts=message_ts,
        title=title or f"alert created at {created}h",
    )
    session.add(alert)
    session.flush()
    return alert


def add_run(
    session: Session, search: Search, at: float, status: RunStatus, error: str = ""
) -> None:
    session.add(
        SearchRun(search_id=search.id, scheduled_for=hours(at), status=status, error=error or None)
    )


def build_world(session: Session) -> World:
    # Both post to the digest channel: its digest counts them (bot/alerts/visibility.py).
    noisy = add_search(session, NOISY_NAME, channel="C_DIGEST")
    quiet = add_search(session, "quiet-one", channel="C_DIGEST")
    secret = add_search(session, "secret", restricted_to=["U_ALICE"])
    nai, taken, cleared = Resolution.NOT_AN_ISSUE, Resolution.ACTION_TAKEN, Resolution.CLEARED
    P = Priority
    rows = {
        "a1": add_alert(session, noisy, -20, P.HIGH, acked=-19, resolved=-18, resolution=nai, by="U_ALICE", occurrences=3),
        "a2": add_alert(session, noisy, -10, P.LOW, acked=-9.5, resolved=-8, resolution=nai, by="U_BOB"),
        "a3": add_alert(session, noisy, -5, P.CRITICAL, acked=-4, assignee="U_BOB"),
        "a4": add_alert(session, quiet, -3, P.MEDIUM, occurrences=5, title="<@U_EVIL> look *here*"),
        "a5": add_alert(session, noisy, -1, P.MEDIUM, resolved=-0.5, resolution=cleared, by="system"),
        "b1": add_alert(session, quiet, -40, P.HIGH, acked=-39, resolved=-30, resolution=taken, by="U_ALICE"),
        "b2": add_alert(session, noisy, -30, P.LOW, acked=-28, resolved=-22, resolution=nai, by="U_ALICE"),
        "b3": add_alert(session, secret, -26, P.HIGH, channel="C_ALERTS", message_ts="1764400000.000100", title="secret title"),
        "c1": add_alert(session, quiet, -100, P.LOW, channel="C_ALERTS", message_ts="1764040000.000200"),
        "c2": add_alert(session, quiet, -90, P.MEDIUM, resolved=-60, resolution=taken, by="U_BOB"),
        "c3": add_alert(session, noisy, -72, P.HIGH, acked=-1, resolved=-1, resolution=nai, by="U_CAROL"),
    }  # fmt: skip
    add_run(session, quiet, -5, RunStatus.FAILED, "boom <!channel>")
    add_run(session, quiet, -2, RunStatus.TIMED_OUT, "timeout")
    add_run(session, noisy, -30, RunStatus.FAILED, "old failure")
    add_run(session, noisy, -1, RunStatus.SUCCEEDED)
    session.commit()
    return World(noisy.id, quiet.id, secret.id, {k: a.id for k, a in rows.items()})


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def runtime(engine: Engine) -> Runtime:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        timezone="Europe/Paris",
        slack_api_url="https://slack.com/api/",
    )
    return Runtime(settings=settings, engine=engine)
