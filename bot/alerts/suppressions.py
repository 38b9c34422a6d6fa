"""Suppressions (Alertmanager's silences): create, list, lift, and the rule that matches them.

A suppression silences one alert key of a search (or fields equal to given values, or a
whole search) until it expires or someone lifts it; the pipeline skips matching hits and
counts them (rule 3, ``bot/pipeline/suppress.py``). Callers check who may suppress first:
whoever may act on a search's alerts (``permissions.check_act_on_search``); a suppression
over every search is for admins. Nothing here commits: the caller's transaction does.

The key of a suppression is an alert key exactly as the pipeline writes it
(``bot/pipeline/keys.py``): :func:`key_from_input` turns what a person typed into one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.keys import key_of_fields
from bot.errors import InvalidInput, NotFound
from bot.models import Alert, Search, Suppression, utcnow
from bot.text.escape import code, escape_mrkdwn
from bot.text.fields import lookup
from bot.text.refs import Ref

MIN_SPAN = timedelta(minutes=1)
MAX_SPAN = timedelta(days=90)
USAGE = (
    "Usage: `/411 suppress <search> <key> for <duration> [reason]`; the key is "
    "`field=value` (one per key field), a bare value when the search has one key field, "
    "or an alert id (`A-92`)."
)


@dataclass(frozen=True)
class Listed:
    """An active suppression and the name of its search (None: every search)."""

    suppression: Suppression
    search_name: str | None


def create_suppression(
    session: Session,
    actor: str,
    search: Search | None,
    key: str | None,
    until: datetime | None,
    reason: str,
    *,
    match: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Suppression:
    """Silence ``key`` of ``search`` (None: every search) until ``until`` (None: until lifted)."""
    now = now or utcnow()
    if until is not None and not MIN_SPAN <= until - now <= MAX_SPAN:
        raise InvalidInput("A suppression lasts between 1 minute and 90 days.", field="duration")
    row = Suppression(
        search_id=search.id if search else None,
        dedupe_key=key,
        match=dict(match) if match else None,
        reason=reason.strip()[:500],
        created_by=actor,
        created_at=now,
        expires_at=until,
    )
    session.add(row)
    session.flush()
    return row


def active_suppressions(session: Session, now: datetime | None = None) -> list[Listed]:
    """Suppressions neither lifted nor expired, oldest first."""
    now = now or utcnow()
    rows = session.execute(
        select(Suppression, Search.name)
        .join(Search, Search.id == Suppression.search_id, isouter=True)
        .where(Suppression.lifted_at.is_(None))
        .order_by(Suppression.id)
    ).all()
    return [Listed(row, name) for row, name in rows if row.is_active(now)]


def find_active(session: Session, suppression_id: int) -> Suppression:
    row = session.get(Suppression, suppression_id)
    if row is None or row.lifted_at is not None:
        raise NotFound(f"No active suppression {Ref.SUPPRESSION(suppression_id)}.")
    return row


def lift_suppression(
    session: Session, actor: str, suppression: Suppression, now: datetime | None = None
) -> None:
    suppression.lifted_at = now or utcnow()
    suppression.lifted_by = actor


def matches(suppression: Any, key: str, fields: Mapping[str, Any]) -> bool:
    """Whether a suppression (a row or a row-like) covers this alert key and these fields.

    A suppression with a key matches that key; one with a match matches fields equal to
    all its values (compared as text); one with neither silences the whole search. Both
    given: both must hold.
    """
    if suppression.dedupe_key is not None and suppression.dedupe_key != key:
        return False
    match = suppression.match or {}
    return all(str(lookup(fields, name)) == str(value) for name, value in match.items())


# ------------------------------------------------------------- a key from typed input


def key_from_input(
    session: Session, search: Search, words: Sequence[str], options: Mapping[str, str]
) -> str:
    """The alert key a person means: ``A-92`` / ``alert=92``, a bare value (one key field),
    or ``field=value`` words or options. Anything else: InvalidInput saying what is expected."""
    if "alert" in options:
        if len(options) > 1 or words:
            raise InvalidInput(f"Give the key once. {USAGE}")
        return _key_of_alert(session, search, options["alert"])
    # An alert id (a value that looks like one: write it as field=value).
    if len(words) == 1 and _ALERT_REF.match(words[0]):
        if options:
            raise InvalidInput(f"Give the key once. {USAGE}")
        return _key_of_alert(session, search, words[0])
    name = f"*{escape_mrkdwn(search.name)}*"
    if not search.key_fields:
        raise InvalidInput(f"{name} has no key fields: give {_expected(search)}.")
    if not options and len(words) == 1 and "=" not in words[0]:
        if len(search.key_fields) != 1:
            raise InvalidInput(
                f"{name} has {len(search.key_fields)} key fields: give {_expected(search)}."
            )
        return key_of_fields(search.key_fields, lambda _: words[0])
    if not options and not words:
        raise InvalidInput(f"Missing key. Expected {_expected(search)}.")
    values = _field_values(search, words, options)
    missing = [f for f in search.key_fields if f not in values]
    if missing:
        raise InvalidInput(
            f"Missing {', '.join(code(f, 60) for f in missing)}: the key of "
            f"{name} is {_expected(search)}."
        )
    return key_of_fields(search.key_fields, values.__getitem__)


def _expected(search: Search) -> str:
    if search.key_fields:
        return "`" + "|".join(f"{f}=…" for f in search.key_fields) + "` or an alert id (`A-92`)"
    return "an alert id (`A-92`): this search has no key fields, see `/411 alerts search`"


_ALERT_REF = re.compile(r"^(?:#|A-)\d+$")


def _key_of_alert(session: Session, search: Search, ref: str) -> str:
    number = Ref.ALERT.parse(ref)
    if number is None:
        raise InvalidInput(f"{code(ref, 50)} is not an alert id. {USAGE}")
    alert = session.get(Alert, number)
    if alert is None or alert.search_id != search.id:
        raise NotFound(f"Search *{escape_mrkdwn(search.name)}* has no alert {code(ref, 50)}.")
    return alert.dedupe_key


def _field_values(
    search: Search, words: Sequence[str], options: Mapping[str, str]
) -> dict[str, str]:
    """field -> value from ``field=value`` options or words; the parser lowercases option names."""
    by_lower = {f.lower(): f for f in search.key_fields}
    pairs = list(options.items())
    for word in words:
        for part in word.split("|"):
            name, eq, value = part.partition("=")
            if not eq:
                raise InvalidInput(
                    f"{code(word, 100)} is not `field=value`. Expected {_expected(search)}."
                )
            pairs.append((name, value))
    values: dict[str, str] = {}
    for name, value in pairs:
        field_name = by_lower.get(name.strip().lower())
        if field_name is None:
            raise InvalidInput(
                f"{code(name, 60)} is not a key field of *{escape_mrkdwn(search.name)}*; "
                f"its alert keys look like {_expected(search)}."
            )
        values[field_name] = value
    return values
