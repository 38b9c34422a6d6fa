"""Rule 4, dedupe: one open alert per key. Candidates with the same key fold into one
group; a group whose key has an open alert only adds occurrences to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bot.alerts.snooze_expiry import snooze_ended_since_notified
from bot.models import Alert, AlertState
from bot.pipeline.condition import Candidate


@dataclass
class KeyGroup:
    key: str
    first: Candidate  # the alert carries the first candidate's fields
    occurrences: int
    last_timestamp: datetime | None


def fold(keyed: list[tuple[str, Candidate]]) -> dict[str, KeyGroup]:
    groups: dict[str, KeyGroup] = {}
    for key, candidate in keyed:
        group = groups.get(key)
        if group is None:
            groups[key] = KeyGroup(key, candidate, candidate.occurrences, candidate.timestamp)
            continue
        group.occurrences += candidate.occurrences
        if candidate.timestamp and (
            group.last_timestamp is None or candidate.timestamp > group.last_timestamp
        ):
            group.last_timestamp = candidate.timestamp
    return groups


CHUNK = 500  # keys per IN (...) query: well under every database's parameter limit


def open_alert_timing() -> tuple[Any, ...]:
    """What renotify needs of an open alert, after its id and key."""
    return (
        Alert.snoozed_until,
        Alert.last_notified_at,
        Alert.created_at,
        snooze_ended_since_notified(),
    )


def open_alert_filter(*, keys_as_array: bool = False) -> tuple[Any, ...]:
    """The search's open alerts among the keys bound as ``search_id`` and ``keys``.

    ``keys_as_array`` (Postgres): the keys travel as one array parameter, so the
    statement's text is the same for any number of keys (prepared once, no chunks),
    where an expanding ``IN`` renders one placeholder per key.
    """
    wanted = (
        Alert.dedupe_key == any_(bindparam("keys", type_=postgresql.ARRAY(String)))
        if keys_as_array
        else Alert.dedupe_key.in_(bindparam("keys", expanding=True))
    )
    return (Alert.search_id == bindparam("search_id"), Alert.state != AlertState.RESOLVED, wanted)


# Built once (bound per run): a busy search runs this every minute.
_OPEN_BY_KEY = select(Alert.id, Alert.dedupe_key, *open_alert_timing()).where(*open_alert_filter())


def open_alerts(session: Session, search_id: int | None, keys: Iterable[str]) -> dict[str, Any]:
    """The search's open alerts with these keys (at most one per key: the partial unique index).

    Only this run's keys are loaded, and only the columns the rules read (plain
    rows, not ORM objects), so a busy search pays little per run.
    """
    if search_id is None:
        return {}
    wanted = list(keys)
    found: dict[str, Any] = {}
    connection = session.connection()  # Core rows: nothing of the ORM is needed here
    for i in range(0, len(wanted), CHUNK):
        params = {"search_id": search_id, "keys": wanted[i : i + CHUNK]}
        found.update((row.dedupe_key, row) for row in connection.execute(_OPEN_BY_KEY, params))
    return found


# Built once (bound per run): autoclosing and auto-resolving searches read these every run.
_STALE = select(Alert.id, Alert.dedupe_key, Alert.last_seen).where(
    Alert.search_id == bindparam("search_id"),
    Alert.state != AlertState.RESOLVED,
    Alert.last_seen < bindparam("cutoff"),
)
_ALL_OPEN = select(Alert.id, Alert.dedupe_key).where(
    Alert.search_id == bindparam("search_id"), Alert.state != AlertState.RESOLVED
)


def stale_alerts(session: Session, search_id: int | None, cutoff: datetime) -> list[Any]:
    """Open alerts last seen before ``cutoff`` (id, dedupe_key, last_seen), for autoclose."""
    if search_id is None:
        return []
    params = {"search_id": search_id, "cutoff": cutoff}
    return list(session.connection().execute(_STALE, params))


def all_open(session: Session, search_id: int | None) -> list[Any]:
    """Every open alert of the search (id, dedupe_key), for auto-resolve."""
    if search_id is None:
        return []
    return list(session.connection().execute(_ALL_OPEN, {"search_id": search_id}))
