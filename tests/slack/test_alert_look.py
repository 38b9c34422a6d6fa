"""An alert's message built from its state: what each state says first, and the body's fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.messages.alert_fields import alert_fields, label, value_text
from bot.messages.blocks import alert_message, more_menu
from bot.messages.limits import check_message
from bot.models import Alert, AlertState, Priority, Resolution, Search

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
HIT = {
    "@timestamp": "2026-12-05T09:58:01.250Z",
    "user": {"name": "lucy.m", "role": "marketing"},
    "host": {"name": "prod-web-01", "os": {"family": "linux"}},
    "source": {"ip": "10.20.2.10"},
    "message": "Accepted publickey for lucy.m",
}


def search(**fields: object) -> Search:
    values: dict[str, object] = {
        "id": 3,
        "name": "ssh into production",
        "source": "file",
        "source_config": {"path": "/var/log/x/events.jsonl", "query": "event.type:ssh"},
        "key_fields": ["user.name", "host.name"],
        "body_template": "",
    }
    return Search(**{**values, **fields})


def alert(**fields: object) -> Alert:
    values: dict[str, object] = {
        "id": 17,
        "search_id": 3,
        "dedupe_key": "user.name=lucy.m|host.name=prod-web-01",
        "state": AlertState.NEW,
        "priority": Priority.HIGH,
        "title": "lucy.m opened an ssh session on prod-web-01",
        "body": "",
        "content": HIT,
        "occurrences": 1,
        "first_seen": NOW,
        "last_seen": NOW,
        "escalated": False,
        "delivery_failed": False,
    }
    return Alert(**{**values, **fields})


def first_line(a: Alert, s: Search | None = None) -> str:
    block = alert_message(a, s or search(), NOW).blocks[0]
    return str(block["text"]["text"])


def test_each_state_says_itself_first() -> None:
    assert first_line(alert()) == "🟠 High · ssh into production"
    taken = alert(assignee="U_CAROL", state=AlertState.IN_PROGRESS)
    assert first_line(taken).startswith("👀 *<@U_CAROL>*")
    snoozed = alert(snoozed_until=NOW + timedelta(hours=4))
    assert first_line(snoozed).startswith("💤 *until <!date^")
    resolved = alert(
        state=AlertState.RESOLVED, resolution=Resolution.NOT_AN_ISSUE, resolved_by="U_CAROL"
    )
    assert first_line(resolved).startswith("✅ *Resolved by <@U_CAROL>* · not an issue")
    cleared = alert(state=AlertState.RESOLVED, resolution=Resolution.CLEARED, resolved_at=NOW)
    assert first_line(cleared).startswith("✅ *Cleared*")


def test_a_resolved_alert_is_one_block_with_its_keys_and_reopen() -> None:
    resolved = alert(
        state=AlertState.RESOLVED, resolution=Resolution.ACTION_TAKEN, resolved_by="U_CAROL"
    )
    message = alert_message(resolved, search(), NOW)
    [block] = message.blocks
    assert "`lucy.m` · `prod-web-01` · A-17" in block["text"]["text"]
    assert block["accessory"]["action_id"] == "alert_reopen"
    assert message.text.startswith("[RESOLVED]")


def test_the_body_shows_leaves_with_labels_key_fields_first_and_no_parent_json() -> None:
    fields, hidden = alert_fields(HIT, ["user.name", "host.name"], [], limit=10)
    assert [(f.name, f.key) for f in fields][:2] == [("user.name", True), ("host.name", True)]
    assert "user.role" in [f.name for f in fields] and "host.os.family" in [f.name for f in fields]
    assert all(not isinstance(f.value, dict) for f in fields) and hidden == 0
    chosen, _ = alert_fields(HIT, ["user.name"], ["source", "message"], limit=10)
    assert [f.name for f in chosen] == ["user.name", "source.ip", "message"]
    text = str(alert_message(alert(), search(), NOW).as_kwargs())
    assert '{"name"' not in text and "*User name* 🔑" in text and "*Source IP*" in text
    assert "📄 File `events.jsonl`" in text and "/var/log" not in text
    assert not check_message(alert_message(alert(), search(), NOW).as_kwargs())


def test_labels_and_values_read_as_people_write_them() -> None:
    assert [label(n) for n in ("user.name", "source.ip", "@timestamp", "http.response_code")] == [
        "User name",
        "Source IP",
        "Time",
        "HTTP response code",
    ]
    when = value_text("2026-12-05T09:58:01.250Z", 100)
    assert when.startswith("<!date^1796464681^") and when.endswith("|2026-12-05 09:58:01 UTC>")
    assert value_text("lucy.m", 100) == "lucy.m"
    assert value_text("*bold* <!channel>", 100) == "`*bold* &lt;!channel&gt;`"  # stays literal
    assert value_text("a < b", 100) == "a &lt; b"


def test_escalate_is_offered_until_an_alert_is_critical_and_escalated() -> None:
    def offered(a: Alert) -> bool:
        return any(o["value"].startswith("escalate:") for o in more_menu(a)["options"])

    assert offered(alert())
    assert offered(alert(priority=Priority.CRITICAL))
    assert not offered(alert(priority=Priority.CRITICAL, escalated=True))


def test_a_file_alert_points_at_the_file_and_line_it_came_from() -> None:
    text = str(alert_message(alert(link="events.jsonl:1234"), search(), NOW).as_kwargs())
    assert "📄 File `events.jsonl:1234` · query `event.type:ssh`" in text
    assert "Raw data" not in text  # not a URL: no button
