"""Rule 3, suppressions (Alertmanager's silences): matching candidates are skipped but counted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

# A module import, not a name: bot.alerts.suppressions imports the pipeline's fields,
# so either package may be the first one loaded.
from bot.alerts import suppressions as service
from bot.models import Suppression


def live_suppression() -> ColumnElement[bool]:
    """Not lifted and not expired at ``:now``."""
    return and_(
        Suppression.lifted_at.is_(None),
        or_(Suppression.expires_at.is_(None), Suppression.expires_at > bindparam("now")),
    )


def suppression_scope() -> ColumnElement[bool]:
    """Suppressions of every search, or of the search ``:search_id``."""
    return or_(Suppression.search_id.is_(None), Suppression.search_id == bindparam("search_id"))


def _active(scope: ColumnElement[bool]) -> Any:
    return (
        select(Suppression.id, Suppression.dedupe_key, Suppression.match)
        .where(scope, live_suppression())
        .order_by(Suppression.id)
    )


# Built once (bound per run): every run of every search reads them.
_FOR_ALL = _active(Suppression.search_id.is_(None))
_FOR_SEARCH = _active(suppression_scope())


def active_suppressions(session: Session, search_id: int | None, now: datetime) -> list[Any]:
    """Active suppressions for the search (or all searches): rows of id, dedupe_key, match."""
    if search_id is None:
        return list(session.connection().execute(_FOR_ALL, {"now": now}))
    params = {"now": now, "search_id": search_id}
    return list(session.connection().execute(_FOR_SEARCH, params))


def matching(suppressions: list[Any], key: str, fields: Mapping[str, Any]) -> Any | None:
    """The first suppression that covers this key/fields, if any (``bot.alerts.suppressions.matches``)."""
    return next((s for s in suppressions if service.matches(s, key, fields)), None)
