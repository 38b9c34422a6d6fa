"""What a run's plan reads of the database: active suppressions and open alerts, one round trip.

Rules 3 and 4 need both; read separately they cost two statements a run. One
UNION ALL of the two (the alerts' columns null on suppression rows and the
reverse) gives the same rows. Postgres binds the keys as one array; elsewhere
many keys (more than one IN chunk) take the two separate reads instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from bot.models import Alert, Suppression
from bot.models.base import UTCDateTime
from bot.pipeline.dedupe import CHUNK, open_alert_filter, open_alert_timing, open_alerts
from bot.pipeline.suppress import active_suppressions, live_suppression, suppression_scope


def _build(*, keys_as_array: bool) -> Any:
    suppressions = select(
        literal("s").label("kind"),
        Suppression.id,
        Suppression.dedupe_key,
        Suppression.match,
        cast(null(), UTCDateTime).label("snoozed_until"),
        cast(null(), UTCDateTime).label("last_notified_at"),
        cast(null(), UTCDateTime).label("created_at"),
        cast(null(), Boolean).label("snooze_ended"),
    ).where(suppression_scope(), live_suppression())
    alerts = select(
        literal("a"), Alert.id, Alert.dedupe_key, cast(null(), JSON), *open_alert_timing()
    ).where(*open_alert_filter(keys_as_array=keys_as_array))
    both = union_all(suppressions, alerts).subquery("state")
    # Suppressions in id order (the first match wins), as active_suppressions returns them.
    return select(both).order_by(both.c.kind.desc(), both.c.id)


# Built once, bound per run. Postgres binds the keys as one array: any number, one trip.
_STATE = _build(keys_as_array=False)
_STATE_PG = _build(keys_as_array=True)


def read_state(
    session: Session, search_id: int | None, now: datetime, keys: Sequence[str]
) -> tuple[list[Any], dict[str, Any]]:
    """(active suppressions, open alerts by key) for a saved search's run with these keys."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return [], {}  # nothing fired: no suppression or alert to look up
    postgres = session.get_bind().dialect.name == "postgresql"
    if search_id is None or (len(wanted) > CHUNK and not postgres):
        return active_suppressions(session, search_id, now), open_alerts(session, search_id, wanted)
    params = {"search_id": search_id, "now": now, "keys": wanted}
    suppressions: list[Any] = []
    alerts: dict[str, Any] = {}
    for row in session.connection().execute(_STATE_PG if postgres else _STATE, params):
        if row.kind == "s":
            suppressions.append(row)
        else:
            alerts[row.dedupe_key] = row
    return suppressions, alerts
