"""Postgres: new alerts, their CREATED events and their posts, as CTEs of one statement.

Part of a run's one-statement write (:mod:`bot.runs.results`). The rules are
those of :mod:`bot.pipeline.apply` (``_alert_row``, ``_created_detail``,
``_posts``); tests/pipeline/test_write_paths.py proves both write the same rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.alerts.bursts import MEMBERS
from bot.deliveries.outbox import Keys
from bot.models import AlertAction, DeliveryKind, DeliveryStatus, Search
from bot.models.base import SYSTEM
from bot.pipeline.plan import NewAlert


@dataclass(frozen=True)
class Posts:
    """Where the new alerts' posts go (no channel: none), and the burst's key if a burst."""

    channel: str | None = None
    burst_key: str | None = None


# The rows travel as one JSON parameter, so the statement text never changes (psycopg
# and the server cache and prepare it) however many alerts a run opens. The same round
# trip writes each inserted alert's CREATED event and, given a channel, its post or the
# burst's summary post. ``a`` holds the inserted alerts.
# ``owned`` (bot/runs/results.py) is the run's row while it is still ours: the rows
# come to nothing once another worker has taken the run back.
NEW_ALERT_CTES = """
    r AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb))
            AS r(dedupe_key text, title text, body text, content jsonb, link text,
                 occurrences int, template_error text)
        WHERE EXISTS (SELECT 1 FROM owned)
    ), a AS (
        INSERT INTO alerts (search_id, dedupe_key, state, priority, escalated, title, body,
                            content, link, occurrences, first_seen, last_seen,
                            last_notified_at, created_at, updated_at, delivery_failed)
        SELECT :search_id, r.dedupe_key, 'new', :priority, false, r.title, r.body,
               r.content::json, r.link, r.occurrences, :now, :now, :now, :now, :now, false
        FROM r
        ON CONFLICT (search_id, dedupe_key) WHERE state != 'resolved' DO NOTHING
        RETURNING dedupe_key, id, occurrences
    ), created AS (
        INSERT INTO alert_events (alert_id, action, actor, at, detail)
        SELECT a.id, :created, :actor, :now,
               CASE WHEN r.template_error IS NULL
                    THEN json_build_object('run_id', CAST(:run_id AS integer),
                                           'occurrences', a.occurrences)
                    ELSE json_build_object('run_id', CAST(:run_id AS integer),
                                           'occurrences', a.occurrences,
                                           'template_error', r.template_error)
               END
        FROM a JOIN r ON r.dedupe_key = a.dedupe_key
        ORDER BY a.id
    ), posts AS (
        INSERT INTO deliveries (idempotency_key, kind, status, channel, alert_id, payload,
                                attempts, next_attempt_at, created_at)
        SELECT {post_key}, :post, :pending, CAST(:channel AS text), a.id,
               CAST('{}' AS json), 0, :now, :now
        FROM a
        WHERE CAST(:channel AS text) IS NOT NULL AND CAST(:burst_key AS text) IS NULL
        ORDER BY a.id
    ), burst AS (
        INSERT INTO deliveries (idempotency_key, kind, status, channel, payload, attempts,
                                next_attempt_at, created_at)
        SELECT CAST(:burst_key AS text), :post, :pending, CAST(:channel AS text),
               json_build_object('{members}', json_agg(a.id ORDER BY a.id),
                                 'search_id', CAST(:search_id AS integer)),
               0, :now, :now
        FROM a
        WHERE CAST(:channel AS text) IS NOT NULL AND CAST(:burst_key AS text) IS NOT NULL
        HAVING count(*) > 0
    )
""".replace("{post_key}", Keys.ALERT_POST.sql(alert_id="a.id", reason="'new'")).replace(
    "{members}", MEMBERS
)
# Postgres text and jsonb cannot hold NUL; log lines sometimes do. It becomes U+FFFD.
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def new_alert_params(
    search: Search, run_id: int, items: list[NewAlert], now: datetime, posts: Posts
) -> dict[str, Any]:
    """The parameters of :data:`NEW_ALERT_CTES`."""
    rows = [
        {
            "dedupe_key": item.key,
            "title": item.title,
            "body": item.body,
            "content": item.fields,
            "link": item.link,
            "occurrences": item.occurrences,
            "template_error": item.template_error or None,
        }
        for item in items
    ]
    return {
        "search_id": search.id,
        "priority": search.priority.value,
        "now": now,
        "run_id": run_id,
        "created": AlertAction.CREATED.value,
        "actor": SYSTEM,
        "channel": posts.channel,
        "burst_key": posts.burst_key,
        "post": DeliveryKind.POST.value,
        "pending": DeliveryStatus.PENDING.value,
        "rows": _NUL_ESCAPE.sub(r"\1\\ufffd", json.dumps(rows, default=str)),
    }
