"""`/411 search backfill`: runs in a worker after the ack; one summary post, the totals to the asker."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Alert, Delivery
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.runs.test_backfill import create, day_of_logins
from tests.slack.conftest import BotServer, wait_for


def test_backfill_from_slack(
    es, es_index, es_runtime: Runtime, standin: SlackStandIn, es_bot: BotServer
) -> None:
    from elasticsearch import helpers

    docs = day_of_logins()
    helpers.bulk(es, [{"_index": es_index, "_source": d} for d in docs], refresh="wait_for")
    search_id = create(es_runtime, es_index, "per user", "per user")
    standin.send_command(
        "U_ALICE",
        "C_ALERTS",
        f"search backfill {search_id} from=2026-11-28T00:00Z to=2026-11-29T00:00Z",
    )

    def answer() -> str | None:
        texts = [e.text for e in standin.ephemerals("U_ALICE", "C_ALERTS")]
        return next((t for t in texts if "backfill of" in t), None)

    said = wait_for(answer, timeout=60, what="the backfill's answer")
    assert "24 runs" in said and "new alerts" in said
    with es_runtime.sessions() as session:
        created = session.scalars(select(Alert.id).where(Alert.search_id == search_id)).all()
        posts = session.scalars(
            select(Delivery).where(Delivery.idempotency_key.like("backfill:%"))
        ).all()
    assert created and f"{len(created)} new alerts" in said
    assert len(posts) == 1 and posts[0].channel == "C_ALERTS"
    standin.send_command(
        "U_ALICE", "C_ALERTS", f"search backfill {search_id} from=2999-01-01T00:00Z"
    )
    refused = wait_for(
        lambda: next(
            (e.text for e in standin.ephemerals("U_ALICE", "C_ALERTS") if "future" in e.text), None
        ),
        what="the refusal",
    )
    assert "`from=…` 2999-01-01T00:00:00+00:00 is in the future" in refused
