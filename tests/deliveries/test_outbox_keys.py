"""One owner of delivery rows and their keys: the outbox's key formats, in Python and in SQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.deliveries.outbox import KeyFormat, Keys

FORMATS = {name: value for name, value in vars(Keys).items() if isinstance(value, KeyFormat)}
SAMPLES: dict[str, object] = {
    "alert_id": 42,
    "reason": "new",
    "count": 7,
    "stamp": "2026-12-05T10:00:00+00:00",
    "run_id": 9001,
    "n": 3,
    "event_id": 77,
    "action": "auto_resolved",
    "epoch": 1764928800,
    "burst_id": 12,
    "chunk": 0,
    "user": "U_BOB",
    "search_id": 5,
    "digest": "digest:daily:C1:2026-12-05",
    "part": "post",
    "period": "daily",
    "minute": "20261205T1000",
    "key": "alert:1:post:new",
    "version": "v3",
    "skipped": 2,
}


def test_each_key_builds_from_its_fields_only() -> None:
    assert Keys.ALERT_POST.build(alert_id=42, reason="new") == "alert:42:post:new"
    assert Keys.BURST_POST.build(run_id=9) == "run:9:burst"
    with pytest.raises(TypeError):
        Keys.ALERT_POST.build(alert_id=42)  # a missing field is an error, not "None"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_postgres_builds_the_same_key_as_python(pg_engine: Engine, name: str) -> None:
    key_format = FORMATS[name]
    values = {field: SAMPLES[field] for field in key_format.fields}
    expression = key_format.sql(**{field: f":{field}" for field in key_format.fields})
    params = {field: str(value) for field, value in values.items()}
    with pg_engine.connect() as connection:
        built = connection.execute(text(f"SELECT {expression}"), params).scalar_one()
    assert built == key_format.build(**values)


def test_postgres_fast_path_and_portable_path_share_the_key_format() -> None:
    from bot.pipeline.insert_pg import NEW_ALERT_CTES
    from bot.pipeline.seen_pg import SEEN_AGAIN_CTES

    assert Keys.ALERT_POST.sql(alert_id="a.id", reason="'new'") in NEW_ALERT_CTES
    update_key = Keys.ALERT_UPDATE_BY_RUN.sql(alert_id="b.id", run_id="CAST(:run_id AS integer)")
    assert update_key in SEEN_AGAIN_CTES


def test_no_module_but_the_outbox_writes_delivery_rows_or_builds_keys() -> None:
    root = Path(__file__).resolve().parents[2] / "bot"
    writers = re.compile(
        r"(?<![A-Za-z])Delivery\(|Delivery\.__table__|insert\(_DELIVERIES|key=f\"|'alert:' \|\|"
    )
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "outbox.py"
        and path.parent.name != "models"
        and writers.search(path.read_text())
    ]
    assert offenders == []
