"""What the database itself guarantees about alerts and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.models import Alert, AlertState, Delivery, DeliveryKind, Resolution, Search


def _search(session: Session) -> Search:
    search = Search(name="ssh into prod", source="file", schedule="every 1m")
    session.add(search)
    session.flush()
    return search


def test_it_allows_only_one_open_alert_per_search_and_key(session: Session) -> None:
    search = _search(session)
    session.add(Alert(search_id=search.id, dedupe_key="alice"))
    session.commit()
    session.add(Alert(search_id=search.id, dedupe_key="alice"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_it_allows_a_new_alert_once_the_old_one_is_resolved(session: Session) -> None:
    search = _search(session)
    first = Alert(search_id=search.id, dedupe_key="alice")
    session.add(first)
    session.commit()
    first.state = AlertState.RESOLVED
    first.resolution = Resolution.ACTION_TAKEN
    session.add(Alert(search_id=search.id, dedupe_key="alice"))
    session.commit()
    assert session.query(Alert).count() == 2


def test_it_keeps_datetimes_aware_and_in_utc(session: Session) -> None:
    search = _search(session)
    seen = datetime(2026, 11, 29, 12, 0, tzinfo=UTC) + timedelta(microseconds=5)
    session.add(Alert(search_id=search.id, dedupe_key="k", first_seen=seen, last_seen=seen))
    session.commit()
    session.expire_all()
    alert = session.query(Alert).one()
    assert alert.first_seen == seen
    assert alert.first_seen.tzinfo is not None


def test_it_enqueues_a_delivery_once_per_idempotency_key(session: Session) -> None:
    search = _search(session)
    alert = Alert(search_id=search.id, dedupe_key="k")
    session.add(alert)
    first = outbox.enqueue_alert_post(session, alert, "C_ALERTS")
    again = outbox.enqueue_alert_post(session, alert, "C_ALERTS")
    session.commit()
    assert first.id == again.id
    assert session.query(Delivery).filter_by(kind=DeliveryKind.POST).count() == 1


def test_it_refuses_a_duplicate_idempotency_key_at_the_database(session: Session) -> None:
    session.add(Delivery(idempotency_key="same", kind=DeliveryKind.MESSAGE, channel="C1"))
    session.commit()
    session.add(Delivery(idempotency_key="same", kind=DeliveryKind.MESSAGE, channel="C1"))
    with pytest.raises(IntegrityError):
        session.commit()
