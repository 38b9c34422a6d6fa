"""The suppression service (bot/alerts/suppressions.py) and the one key format, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.alerts import suppressions
from bot.alerts.keys import KEY_LIMIT
from bot.errors import InvalidInput, NotFound
from bot.models import Search, utcnow
from bot.pipeline.condition import Candidate
from bot.pipeline.keys import alert_key
from bot.pipeline.suppress import active_suppressions as pipeline_active
from bot.pipeline.suppress import matching

HIT = {"source": {"ip": "192.0.2.7"}, "user": "bob", "n": 3}


def _search(db: Session, key_fields: list[str], name: str = "logins") -> Search:
    search = Search(
        name=name, source="file", schedule="every 5m", owner="U_O", key_fields=key_fields
    )
    db.add(search)
    db.flush()
    return search


def test_a_typed_key_is_the_key_the_pipeline_writes(db: Session) -> None:
    two = _search(db, ["source.ip", "user"])
    pipeline = alert_key(Candidate(fields=HIT), two.key_fields)
    assert pipeline == "source.ip=192.0.2.7|user=bob"
    typed = suppressions.key_from_input(db, two, ["user=bob", "source.ip=192.0.2.7"], {})
    as_options = suppressions.key_from_input(db, two, [], {"source.ip": "192.0.2.7", "user": "bob"})
    assert typed == as_options == pipeline
    one = _search(db, ["n"], "counts")  # a number in the hit, typed as text: the same key
    assert suppressions.key_from_input(db, one, ["3"], {}) == alert_key(Candidate(HIT), ["n"])
    long_value = "x" * 400  # past the column: both sides hash it the same way
    hashed = suppressions.key_from_input(db, one, [long_value], {})
    assert hashed == alert_key(Candidate({"n": long_value}), ["n"])
    assert hashed.startswith("sha256:") and len(hashed) <= KEY_LIMIT
    with pytest.raises(InvalidInput, match="has 2 key fields"):
        suppressions.key_from_input(db, two, ["bob"], {})
    with pytest.raises(NotFound, match="has no alert `#999`"):
        suppressions.key_from_input(db, two, ["#999"], {})


def test_create_list_match_and_lift(db: Session) -> None:
    search = _search(db, ["user"])
    other = _search(db, ["user"], "other")
    now = utcnow()
    row = suppressions.create_suppression(
        db, "U_BOB", search, "user=bob", now + timedelta(hours=1), " known scanner ", now=now
    )
    db.commit()
    assert (row.created_by, row.reason, row.search_id) == ("U_BOB", "known scanner", search.id)
    listed = suppressions.active_suppressions(db, now)
    assert [(item.suppression.id, item.search_name) for item in listed] == [(row.id, "logins")]
    # The pipeline's rule 3 matches through the same function.
    rows = pipeline_active(db, search.id, now)
    assert matching(rows, "user=bob", {"user": "bob"}) is not None
    assert matching(rows, "user=eve", {"user": "eve"}) is None
    assert pipeline_active(db, other.id, now) == []
    assert suppressions.active_suppressions(db, now + timedelta(hours=2)) == []  # expired
    suppressions.lift_suppression(db, "U_CAROL", suppressions.find_active(db, row.id), now)
    db.commit()
    assert row.lifted_by == "U_CAROL" and suppressions.active_suppressions(db, now) == []
    with pytest.raises(NotFound):
        suppressions.find_active(db, row.id)


def test_a_suppression_lasts_between_a_minute_and_ninety_days(db: Session) -> None:
    search = _search(db, ["user"])
    now = utcnow()
    for span in (timedelta(seconds=30), timedelta(days=91), timedelta(minutes=-5)):
        with pytest.raises(InvalidInput, match="between 1 minute and 90 days"):
            suppressions.create_suppression(db, "U_B", search, "user=x", now + span, "", now=now)
    assert suppressions.active_suppressions(db, now) == []
