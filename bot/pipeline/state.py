"""What a run's plan reads of the database, one round trip: active suppressions, running
maintenance windows and open alerts.

Rules 3 and 4 need all three; read separately they cost three statements a run. One
UNION ALL (each kind's columns null on the other kinds' rows) gives the same rows.
Postgres binds the keys as one array; elsewhere many keys (more than one IN chunk)
take the separate reads instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from bot.alerts.maintenance import covering, running_window
from bot.models import Alert, MaintenanceWindow, Suppression
from bot.models.base import UTCDateTime
from bot.models.maintenance import window_covers
from bot.pipeline.dedupe import CHUNK, open_alert_filter, open_alert_timing, open_alerts
from bot.pipeline.suppress import active_suppressions, live_suppression, suppression_scope


def _build(*, keys_as_array: bool) -> Any:
    no_time = cast(null(), UTCDateTime)
    no_window = (cast(null(), Boolean), cast(null(), JSON), cast(null(), JSON))
    suppressions = select(
        literal("s").label("kind"),
        Suppression.id,
        Suppression.dedupe_key,
        Suppression.match,
        no_time.label("snoozed_until"),
        no_time.label("last_notified_at"),
        no_time.label("created_at"),
        cast(null(), Boolean).label("snooze_ended"),
        no_window[0].label("everything"),
        no_window[1].label("search_ids"),
        no_window[2].label("tags"),
    ).where(suppression_scope(), live_suppression())
    windows = select(
        literal("m"),
        MaintenanceWindow.id,
        cast(null(), String),
        cast(null(), JSON),
        no_time,
        no_time,
        no_time,
        cast(null(), Boolean),
        MaintenanceWindow.everything,
        MaintenanceWindow.search_ids,
        MaintenanceWindow.tags,
    ).where(running_window())
    alerts = select(
        literal("a"),
        Alert.id,
        Alert.dedupe_key,
        cast(null(), JSON),
        *open_alert_timing(),
        *no_window,
    ).where(*open_alert_filter(keys_as_array=keys_as_array))
    all_kinds = union_all(suppressions, windows, alerts).subquery("state")
    # Suppressions, then windows, each in id order (the first match wins), as
    # active_suppressions and covering return them.
    return select(all_kinds).order_by(all_kinds.c.kind.desc(), all_kinds.c.id)


# Built once, bound per run. Postgres binds the keys as one array: any number, one trip.
_STATE = _build(keys_as_array=False)
_STATE_PG = _build(keys_as_array=True)


@dataclass
class RunState:
    """What the plan needs to know before it decides: see the module's docstring."""

    suppressions: list[Any] = field(default_factory=list)
    window_id: int | None = None  # the running maintenance window covering the search
    alerts: dict[str, Any] = field(default_factory=dict)  # open alerts by key


def read_state(
    session: Session, search_id: int | None, tags: Sequence[str], now: datetime, keys: Sequence[str]
) -> RunState:
    """Suppressions, the covering maintenance window and open alerts for these keys."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return RunState()  # nothing fired: nothing to look up
    postgres = session.get_bind().dialect.name == "postgresql"
    if search_id is None or (len(wanted) > CHUNK and not postgres):
        window = covering(session, search_id, tags, now)
        return RunState(
            active_suppressions(session, search_id, now),
            window.id if window is not None else None,
            open_alerts(session, search_id, wanted),
        )
    params = {"search_id": search_id, "now": now, "keys": wanted}
    state = RunState()
    for row in session.connection().execute(_STATE_PG if postgres else _STATE, params):
        if row.kind == "s":
            state.suppressions.append(row)
        elif row.kind == "a":
            state.alerts[row.dedupe_key] = row
        elif state.window_id is None and window_covers(
            row.everything, row.search_ids, row.tags, search_id, tags
        ):
            state.window_id = row.id
    return state
