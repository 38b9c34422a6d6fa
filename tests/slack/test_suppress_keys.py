"""`/411 suppress`: the key typed in Slack is the key the pipeline writes, or it is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.models import Alert, Suppression
from bot.runs.runner import run_search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, wait_for

SUPPRESSED_IP = "192.0.2.144"


def _said(standin: SlackStandIn, user: str, count: int) -> str:
    found = wait_for(
        lambda: len(standin.ephemerals(user, "C_ALERTS")) >= count,
        what=f"reply #{count}",
    )
    assert found
    return str(standin.ephemerals(user, "C_ALERTS")[count - 1].text)


def _log(tmp_path: Path) -> Path:
    """Three failed logins from two addresses, as nested JSON (``source.ip``)."""
    path = tmp_path / "auth.log"
    now = datetime.now(UTC)
    ips = [SUPPRESSED_IP, SUPPRESSED_IP, "198.51.100.7"]
    with path.open("w") as out:
        for i, ip in enumerate(ips):
            stamp = (now - timedelta(minutes=2, seconds=i)).isoformat()
            event = {"@timestamp": stamp, "outcome": "failure", "source": {"ip": ip}}
            out.write(json.dumps(event) + "\n")
    return path


def _suppressions(runtime: Runtime) -> list[Suppression]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Suppression).order_by(Suppression.id)))


def _run_and_count(runtime: Runtime, search_id: int) -> tuple[list[str], int]:
    run_search(runtime, search_id)
    with runtime.sessions() as session:
        keys = list(session.scalars(select(Alert.dedupe_key).where(Alert.search_id == search_id)))
        suppressed = session.scalar(select(func.sum(Suppression.suppressed_count))) or 0
    return keys, int(suppressed)


def test_it_normalises_a_bare_value_to_the_key_and_the_next_run_is_suppressed(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    search_id = add_search(
        runtime,
        source_config={"path": str(_log(tmp_path)), "query": "outcome:failure"},
        key_fields=["source.ip"],
    )
    standin.send_command("U_BOB", "C_ALERTS", f"suppress {search_id} {SUPPRESSED_IP} for 10m")
    assert f"key `source.ip={SUPPRESSED_IP}`" in _said(standin, "U_BOB", 1)
    [row] = _suppressions(runtime)
    assert row.dedupe_key == f"source.ip={SUPPRESSED_IP}" and row.suppressed_count == 0

    keys, suppressed = _run_and_count(runtime, search_id)
    assert keys == ["source.ip=198.51.100.7"]  # the other address still alerts
    assert suppressed >= 1
    with runtime.sessions() as session:
        occurrences = session.scalar(select(func.sum(Alert.occurrences))) or 0
    assert occurrences == 1  # no occurrence of the suppressed key was counted anywhere


def test_it_accepts_the_key_as_an_unquoted_field_option(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    search_id = add_search(
        runtime,
        source_config={"path": str(_log(tmp_path)), "query": "outcome:failure"},
        key_fields=["source.ip"],
    )
    standin.send_command(
        "U_BOB", "C_ALERTS", f"suppress {search_id} source.ip={SUPPRESSED_IP} for 10m pentest"
    )
    assert "is silent for 10m" in _said(standin, "U_BOB", 1)
    [row] = _suppressions(runtime)
    assert row.dedupe_key == f"source.ip={SUPPRESSED_IP}" and row.reason == "pentest"
    keys, suppressed = _run_and_count(runtime, search_id)
    assert f"source.ip={SUPPRESSED_IP}" not in keys and suppressed >= 1


def test_it_refuses_keys_that_cannot_match_and_shows_the_expected_form(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime, key_fields=["user", "host"])
    refused = [
        (f"suppress {search_id} bob for 10m", "2 key fields"),
        (f"suppress {search_id} user=bob for 10m", "Missing `host`"),
        (f"suppress {search_id} ip=10.0.0.7 for 10m", "`ip` is not a key field"),
        (f"suppress {search_id} #999999 for 10m", "has no alert `#999999`"),
    ]
    for count, (command, needle) in enumerate(refused, start=1):
        standin.send_command("U_BOB", "C_ALERTS", command)
        text = _said(standin, "U_BOB", count)
        assert needle in text, text
        if "key field" in needle or "Missing" in needle:
            assert "`user=…|host=…`" in text  # the form that would work
    assert _suppressions(runtime) == []  # nothing was saved half-way

    standin.send_command("U_BOB", "C_ALERTS", f"suppress {search_id} host=web1 user=bob for 1h")
    assert "is silent for 1h" in _said(standin, "U_BOB", len(refused) + 1)
    assert [r.dedupe_key for r in _suppressions(runtime)] == ["user=bob|host=web1"]


def test_it_takes_an_alerts_key_from_its_id_and_shows_keys_in_the_alert_list(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime, key_fields=["user"])
    alert_id = add_alert(runtime, search_id, post=False, channel="C_ALERTS", dedupe_key="user=bob")
    standin.send_command("U_BOB", "C_ALERTS", "alerts")
    listing = _said(standin, "U_BOB", 1)
    blocks = json.dumps(standin.ephemerals("U_BOB", "C_ALERTS")[0].blocks)
    assert "key `user=bob`" in listing + blocks
    standin.send_command("U_BOB", "C_ALERTS", f"suppress {search_id} #{alert_id} for 10m")
    assert "key `user=bob`" in _said(standin, "U_BOB", 2)
    standin.send_command("U_BOB", "C_ALERTS", f"suppress {search_id} alert={alert_id} for 10m")
    assert "key `user=bob`" in _said(standin, "U_BOB", 3)
    assert [r.dedupe_key for r in _suppressions(runtime)] == ["user=bob", "user=bob"]
