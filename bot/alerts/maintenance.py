"""Maintenance windows: a silence with a start and an end, for planned work.

``/411 maintenance`` schedules one over every search, named searches or tagged ones.
While it lasts, what its searches find is recorded as suppressed and counted (on the
run and on the window), not posted: the pipeline asks :func:`covering` once a run.
Its start and its end are announced where its searches post (each channel once),
by the worker holding the scheduler lease (:func:`announce_due`). Nothing here
commits: the caller's transaction does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.errors import InvalidInput, NotFound
from bot.models import DeliveryKind, MaintenanceWindow, Search, utcnow
from bot.text.escape import code, escape_mrkdwn, mention_user, slack_date
from bot.text.refs import Ref

MAX_LENGTH = timedelta(days=30)
MIN_LENGTH = timedelta(minutes=1)
ANNOUNCE_KEY = "maintenance:{window_id}:{edge}:{channel}"


@dataclass(frozen=True)
class Scope:
    """What a window covers: everything, or these searches and these tags."""

    everything: bool = False
    searches: Sequence[Search] = ()
    tags: Sequence[str] = ()
    hidden: int = 0  # searches covered that the reader may not see (named only by count)

    def describe(self) -> str:
        if self.everything:
            return "every search"
        parts = [code(s.name, 80) for s in self.searches]
        parts += [f"tag {code(t, 40)}" for t in self.tags]
        if self.hidden:
            parts.append(f"{self.hidden} other search{'es' if self.hidden > 1 else ''}")
        return ", ".join(parts)


def schedule_window(
    session: Session,
    actor: str,
    starts_at: datetime,
    ends_at: datetime,
    scope: Scope,
    reason: str,
    *,
    now: datetime | None = None,
) -> MaintenanceWindow:
    now = now or utcnow()
    if not (scope.everything or scope.searches or scope.tags):
        raise InvalidInput("Say what it covers: `search=<name>`, `tag=<tag>` or `all`.")
    if ends_at <= max(starts_at, now):
        raise InvalidInput("The window must end after it starts, and in the future.", field="end")
    if not MIN_LENGTH <= ends_at - starts_at <= MAX_LENGTH:
        raise InvalidInput("A maintenance window lasts between 1 minute and 30 days.", field="end")
    window = MaintenanceWindow(
        starts_at=starts_at,
        ends_at=ends_at,
        everything=scope.everything,
        search_ids=sorted({s.id for s in scope.searches}),
        tags=sorted(set(scope.tags)),
        reason=reason.strip()[:500],
        created_by=actor,
        created_at=now,
    )
    session.add(window)
    session.flush()
    return window


def live_windows(session: Session, now: datetime) -> list[MaintenanceWindow]:
    """Windows not cancelled that have not ended (running or still to come)."""
    query = (
        select(MaintenanceWindow)
        .where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now)
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    )
    return list(session.scalars(query))


def running_window() -> ColumnElement[bool]:
    """Not cancelled, started and not ended at ``:now``."""
    return and_(
        MaintenanceWindow.cancelled_at.is_(None),
        MaintenanceWindow.starts_at <= bindparam("now"),
        MaintenanceWindow.ends_at > bindparam("now"),
    )


def covering(
    session: Session, search_id: int | None, tags: Sequence[str], now: datetime
) -> MaintenanceWindow | None:
    """The running window (the first scheduled) that covers this search, if any."""
    query = select(MaintenanceWindow).where(running_window()).order_by(MaintenanceWindow.id)
    for window in session.scalars(query, {"now": now}):
        if window.covers(search_id, list(tags)):
            return window
    return None


def find_window(session: Session, raw: str) -> MaintenanceWindow:
    number = Ref.MAINTENANCE.parse(raw)
    window = session.get(MaintenanceWindow, number) if number is not None else None
    if window is None:
        raise NotFound(f"No maintenance window {code(raw, 40)}; see `/411 maintenance list`.")
    return window


def cancel_window(session: Session, window: MaintenanceWindow, actor: str, now: datetime) -> None:
    if window.cancelled_at is not None or window.ends_at <= now:
        raise InvalidInput(f"{Ref.MAINTENANCE(window.id)} is over already.")
    window.cancelled_at = now
    window.cancelled_by = actor
    if window.starts_at > now:  # it never started: nothing to announce either way
        window.start_announced_at = window.end_announced_at = now


def covered_searches(session: Session, window: MaintenanceWindow) -> list[Search]:
    # Tags live in a JSON list: the (few hundred) searches are filtered here, not in SQL.
    query = select(Search).where(Search.deleted_at.is_(None)).order_by(Search.id)
    return [s for s in session.scalars(query) if window.covers(s.id, s.tags or [])]


def channels_of(searches: Sequence[Search]) -> list[str]:
    """Where the searches post: each channel once (a search without one tells its owner)."""
    return sorted({c for c in (s.channel or s.owner for s in searches) if c})


def describe(
    window: MaintenanceWindow, session: Session, may_see: Callable[[Search], bool] | None = None
) -> str:
    """One mrkdwn line: ``M-2`` · from … to … · what it covers · reason · by whom.

    ``may_see``: the reader's visibility rule (bot/alerts/visibility.py); searches the
    reader may not see are counted, not named.
    """
    covered = [s for s in (session.get(Search, i) for i in window.search_ids or []) if s]
    shown = [s for s in covered if may_see is None or may_see(s)]
    scope = Scope(window.everything, shown, window.tags or [], hidden=len(covered) - len(shown))
    reason = f" · {escape_mrkdwn(window.reason)}" if window.reason else ""
    return (
        f"*{Ref.MAINTENANCE(window.id)}* · {_when(window.starts_at)} to {_when(window.ends_at)} · "
        f"{scope.describe()}{reason} · by {mention_user(window.created_by)}"
    )


def announce_due(session: Session, now: datetime) -> int:
    """Post the starts and ends that are due; return how many windows were announced."""
    announced = 0
    query = select(MaintenanceWindow).where(
        or_(
            MaintenanceWindow.start_announced_at.is_(None),
            MaintenanceWindow.end_announced_at.is_(None),
        ),
        MaintenanceWindow.starts_at <= now,
    )
    for window in session.scalars(query):
        ended = window.ends_at <= now or window.cancelled_at is not None
        if window.start_announced_at is None and not ended:
            _announce(session, window, "start", _start_text(window, session))
            window.start_announced_at = now
            announced += 1
        elif ended and window.end_announced_at is None:
            _announce(session, window, "end", _end_text(window))
            window.start_announced_at = window.start_announced_at or now
            window.end_announced_at = now
            announced += 1
    return announced


def _announce(session: Session, window: MaintenanceWindow, edge: str, text: str) -> None:
    for channel in channels_of(covered_searches(session, window)):
        outbox.enqueue(
            session,
            key=ANNOUNCE_KEY.format(window_id=window.id, edge=edge, channel=channel),
            kind=DeliveryKind.MESSAGE,
            channel=channel,
            payload={"text": text, "blocks": [_notice_block(text)]},
        )


def _start_text(window: MaintenanceWindow, session: Session) -> str:
    return (
        f"🛠️ *Maintenance {Ref.MAINTENANCE(window.id)} has started*: alerts are recorded, "
        f"not posted, until {_when(window.ends_at)}.\n{describe(window, session)}"
    )


def _end_text(window: MaintenanceWindow) -> str:
    how = "was cancelled" if window.cancelled_at is not None else "is over"
    count = window.suppressed_count
    found = (
        f"{count} alert{'s' if count != 1 else ''} found during it" if count else "nothing found"
    )
    return (
        f"✅ *Maintenance {Ref.MAINTENANCE(window.id)} {how}*: alerts are posted again "
        f"({found}, recorded as suppressed)."
    )


def _notice_block(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _when(moment: datetime) -> str:
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return slack_date(moment.timestamp(), "{date_short_pretty} {time}", fallback)
