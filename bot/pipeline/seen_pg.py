"""Postgres: the alerts seen again in a run, as CTEs of one statement.

Adds each alert's occurrences (an atomic increment, skipped for an alert someone
resolved meanwhile), writes its SEEN_AGAIN event and queues one message update per
alert, unless one is pending already or the alert has no message to update. Part
of a run's one-statement write (:mod:`bot.runs.results`); the rules are those of
``apply._seen_again``, and tests/pipeline/test_write_paths.py proves both write
the same rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.deliveries.outbox import Keys
from bot.models import AlertAction, DeliveryKind, DeliveryStatus
from bot.models.base import SYSTEM
from bot.pipeline.plan import SeenAgain

# The ids and counts travel as two array parameters, so the text never changes (psycopg
# and the server prepare it once) however many alerts a run sees again. The CTEs share
# one snapshot: ``pending`` sees the deliveries from before this statement, which is
# what the rules ask (the update this statement queues is not "already pending").
# ``bumped`` holds the alerts still open.
# ``owned`` (bot/runs/results.py) is the run's row while it is still ours: the rows
# come to nothing once another worker has taken the run back.
SEEN_AGAIN_CTES = """
    seen AS (
        SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:counts AS integer[]))
            AS seen(alert_id, n)
        WHERE EXISTS (SELECT 1 FROM owned)
    ), bumped AS (
        UPDATE alerts
        SET occurrences = alerts.occurrences + seen.n, last_seen = :now, updated_at = :now
        FROM seen
        WHERE alerts.id = seen.alert_id AND alerts.state != 'resolved'
        RETURNING alerts.id, alerts.channel, seen.n
    ), seen_events AS (
        INSERT INTO alert_events (alert_id, action, actor, at, detail)
        SELECT id, :seen_again, :actor, :now,
               json_build_object('run_id', CAST(:run_id AS integer), 'occurrences', n)
        FROM bumped
        ORDER BY id
    ), pending AS (
        SELECT DISTINCT d.alert_id, d.kind
        FROM deliveries d JOIN bumped b ON d.alert_id = b.id
        WHERE (d.kind = :post AND d.status IN (:pending, :sending))
           OR (d.kind = :update AND d.status = :pending)
    ), updates AS (
        INSERT INTO deliveries (idempotency_key, kind, status, channel, alert_id, payload,
                                attempts, next_attempt_at, created_at)
        SELECT {update_key}, :update,
               :pending, coalesce(b.channel, ''), b.id, CAST('{}' AS json), 0, :now, :now
        FROM bumped b
        WHERE NOT EXISTS (SELECT 1 FROM pending p WHERE p.alert_id = b.id AND p.kind = :update)
          AND (coalesce(b.channel, '') != ''
               OR EXISTS (SELECT 1 FROM pending p WHERE p.alert_id = b.id AND p.kind = :post))
        ORDER BY b.id
    )
""".replace(
    "{update_key}", Keys.ALERT_UPDATE_BY_RUN.sql(alert_id="b.id", run_id="CAST(:run_id AS integer)")
)


def seen_again_params(seen: list[SeenAgain], run_id: int, now: datetime) -> dict[str, Any]:
    """The parameters of :data:`SEEN_AGAIN_CTES`."""
    return {
        "ids": [item.alert_id for item in seen],
        "counts": [item.occurrences for item in seen],
        "now": now,
        "run_id": run_id,
        "seen_again": AlertAction.SEEN_AGAIN.value,
        "actor": SYSTEM,
        "post": DeliveryKind.POST.value,
        "update": DeliveryKind.UPDATE.value,
        "pending": DeliveryStatus.PENDING.value,
        "sending": DeliveryStatus.SENDING.value,
    }
