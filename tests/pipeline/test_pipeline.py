"""Every pipeline rule, through real runs on SQLite and Postgres with a controlled clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.definitions.search import definition_from_search
from bot.definitions.store import find_search
from bot.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryKind,
    Resolution,
    RunStatus,
    Suppression,
)
from bot.pipeline import SearchSpec, apply_plan, decide
from bot.pipeline.condition import Candidate
from bot.pipeline.keys import alert_key
from bot.runs.runner import run_search
from bot.runtime import Runtime
from searches.base import Bucket, Hit, TimeWindow
from tests.memory_source import T0


def hit(doc_id: str, minutes_ago: float, **fields: Any) -> Hit:
    return Hit(id=doc_id, timestamp=T0 - timedelta(minutes=minutes_ago), fields=fields)


def alerts_of(runtime: Runtime, search_id: int) -> list[Alert]:
    with runtime.sessions() as session:
        query = select(Alert).where(Alert.search_id == search_id).order_by(Alert.id)
        return list(session.scalars(query))


def deliveries(runtime: Runtime, kind: DeliveryKind | None = None) -> list[Delivery]:
    with runtime.sessions() as session:
        query = select(Delivery).order_by(Delivery.id)
        if kind:
            query = query.where(Delivery.kind == kind)
        return list(session.scalars(query))


def events(runtime: Runtime, action: AlertAction) -> list[AlertEvent]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AlertEvent).where(AlertEvent.action == action)))


def test_it_turns_each_hit_into_an_alert_with_a_post_in_the_same_run(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("a", 5, user="bob", host="web1"), hit("b", 3, user="eve", host="web2")]
    search_id = make_search(name, title="{{ user }} logged in to {{ host }}")
    run = run_search(runtime, search_id, now=T0)
    assert (run.status, run.hits, run.alerts_new, run.alerts_updated) == (
        RunStatus.SUCCEEDED,
        2,
        2,
        0,
    )
    alerts = alerts_of(runtime, search_id)
    assert [a.title for a in alerts] == ["bob logged in to web1", "eve logged in to web2"]
    assert [a.dedupe_key for a in alerts] == ["id:a", "id:b"]
    posts = deliveries(runtime, DeliveryKind.POST)
    assert [(p.alert_id, p.channel) for p in posts] == [
        (alerts[0].id, "C_ALERTS"),
        (alerts[1].id, "C_ALERTS"),
    ]
    assert len(events(runtime, AlertAction.CREATED)) == 2


def test_it_keeps_one_open_alert_per_key_and_adds_occurrences(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="bob"), hit("2", 4, user="bob"), hit("3", 3, user="eve")]
    search_id = make_search(name, key_fields=["user"])
    first = run_search(runtime, search_id, now=T0)
    assert (first.alerts_new, first.alerts_updated) == (2, 0)
    data.hits.append(hit("4", -0.5, user="bob"))  # indexed after the first run's window
    second = run_search(runtime, search_id, now=T0 + timedelta(minutes=1))
    assert (second.hits, second.alerts_new, second.alerts_updated) == (1, 0, 1)
    by_key = {a.dedupe_key: a for a in alerts_of(runtime, search_id)}
    assert set(by_key) == {"user=bob", "user=eve"}
    assert by_key["user=bob"].occurrences == 3
    assert by_key["user=bob"].last_seen == T0 + timedelta(minutes=1)
    assert len(deliveries(runtime, DeliveryKind.POST)) == 2  # never a second post


def test_it_keys_by_chosen_fields_else_document_id_else_content_hash():
    with_id = Candidate(fields={"user": "bob", "n": 1}, doc_id="doc-1")
    without_id = Candidate(fields={"user": "bob", "n": 1})
    nested = Candidate(fields={"user": {"name": "bob"}}, doc_id="x")
    assert alert_key(with_id, ["user"]) == "user=bob"
    assert alert_key(nested, ["user.name"]) == "user.name=bob"
    assert alert_key(with_id, []) == "id:doc-1"
    assert alert_key(without_id, []).startswith("hash:")
    assert alert_key(without_id, []) == alert_key(Candidate(fields={"n": 1, "user": "bob"}), [])
    assert alert_key(without_id, []) != alert_key(Candidate(fields={"user": "eve", "n": 1}), [])


def test_it_hashes_a_long_key_to_fit_the_column_and_still_dedupes(runtime, dataset, make_search):
    name, data = dataset
    long_value = "x" * 400
    data.hits = [hit("1", 5, path=long_value), hit("2", 4, path=long_value)]
    search_id = make_search(name, key_fields=["path"])
    run = run_search(runtime, search_id, now=T0)
    [alert] = alerts_of(runtime, search_id)
    assert run.alerts_new == 1 and alert.occurrences == 2
    assert alert.dedupe_key.startswith("sha256:") and len(alert.dedupe_key) <= 255


def test_it_skips_suppressed_hits_but_counts_them(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="scanner"), hit("2", 4, user="scanner"), hit("3", 3, user="eve")]
    search_id = make_search(name, key_fields=["user"])
    with runtime.sessions.begin() as session:
        session.add(Suppression(search_id=search_id, match={"user": "scanner"}, reason="known"))
        session.add(
            Suppression(
                search_id=search_id, dedupe_key="user=eve", expires_at=T0 - timedelta(hours=1)
            )
        )
    run = run_search(runtime, search_id, now=T0)
    assert (run.alerts_new, run.suppressed) == (1, 2)
    assert [a.dedupe_key for a in alerts_of(runtime, search_id)] == [
        "user=eve"
    ]  # expired one ignored
    with runtime.sessions() as session:
        counts = sorted(session.scalars(select(Suppression.suppressed_count)))
    assert counts == [0, 2]


def test_it_renotifies_a_firing_alert_after_the_repeat_interval(runtime, dataset, make_search):
    name, data = dataset
    data.count = 3
    search_id = make_search(name, kind="count", condition="count > 0", renotify="1h")
    run_search(runtime, search_id, now=T0)
    run_search(runtime, search_id, now=T0 + timedelta(minutes=30))
    assert deliveries(runtime, DeliveryKind.THREAD_REPLY) == []
    run_search(runtime, search_id, now=T0 + timedelta(minutes=61))
    [reply] = deliveries(runtime, DeliveryKind.THREAD_REPLY)
    [alert] = alerts_of(runtime, search_id)
    assert reply.payload["broadcast"] is True and "repeat interval" in reply.payload["text"]
    assert reply.idempotency_key.startswith(f"alert:{alert.id}:renotify:")
    assert alert.occurrences == 3 and alert.last_notified_at == T0 + timedelta(minutes=61)
    run_search(runtime, search_id, now=T0 + timedelta(minutes=62))
    assert len(deliveries(runtime, DeliveryKind.THREAD_REPLY)) == 1


def test_a_snoozed_alert_stays_silent_and_renotifies_when_the_snooze_ends(
    runtime, dataset, make_search
):
    name, data = dataset
    data.count = 1
    search_id = make_search(name, kind="count", renotify="10m")
    run_search(runtime, search_id, now=T0)
    with runtime.sessions.begin() as session:
        alert = session.scalar(select(Alert).where(Alert.search_id == search_id))
        alert.snoozed_until = T0 + timedelta(hours=2)
    run_search(runtime, search_id, now=T0 + timedelta(minutes=30))  # interval passed, but snoozed
    assert deliveries(runtime, DeliveryKind.THREAD_REPLY) == []
    run_search(runtime, search_id, now=T0 + timedelta(hours=2, minutes=1))
    [reply] = deliveries(runtime, DeliveryKind.THREAD_REPLY)
    assert "snooze ended" in reply.payload["text"]
    [alert] = alerts_of(runtime, search_id)
    assert alert.snoozed_until is None


def test_it_autocloses_alerts_not_seen_for_the_autoclose_time(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="bob")]
    search_id = make_search(name, key_fields=["user"], autoclose="1h")
    run_search(runtime, search_id, now=T0)
    run_search(runtime, search_id, now=T0 + timedelta(minutes=59))
    assert alerts_of(runtime, search_id)[0].state == AlertState.NEW
    run_search(runtime, search_id, now=T0 + timedelta(minutes=61))
    [alert] = alerts_of(runtime, search_id)
    assert (alert.state, alert.resolution, alert.resolved_by) == (
        AlertState.RESOLVED,
        Resolution.TOO_OLD,
        "system",
    )
    assert len(events(runtime, AlertAction.AUTOCLOSED)) == 1


def test_it_auto_resolves_when_the_condition_clears(runtime, dataset, make_search):
    name, data = dataset
    data.count = 0
    search_id = make_search(name, kind="count", condition="count < 1", auto_resolve=True)
    run_search(runtime, search_id, now=T0)
    [alert] = alerts_of(runtime, search_id)
    assert alert.state == AlertState.NEW and alert.content == {"count": 0}
    data.count = 12
    run = run_search(runtime, search_id, now=T0 + timedelta(minutes=1))
    [alert] = alerts_of(runtime, search_id)
    assert run.alerts_new == 0
    assert (alert.state, alert.resolution) == (AlertState.RESOLVED, Resolution.CLEARED)
    assert len(events(runtime, AlertAction.AUTO_RESOLVED)) == 1


def test_a_dead_man_search_alerts_only_when_the_count_is_zero(runtime, dataset, make_search):
    name, data = dataset
    data.count = 40
    search_id = make_search(name, kind="count", condition="count < 1")
    assert run_search(runtime, search_id, now=T0).alerts_new == 0
    data.count = 0
    assert run_search(runtime, search_id, now=T0 + timedelta(minutes=1)).alerts_new == 1


def test_it_compares_each_bucket_count_with_the_threshold(runtime, dataset, make_search):
    name, data = dataset
    data.buckets = [
        Bucket({"ip": "10.0.0.1"}, 25),
        Bucket({"ip": "10.0.0.2"}, 20),
        Bucket({"ip": "10.0.0.3"}, 3),
    ]
    search_id = make_search(
        name, kind="buckets", condition="count >= 20", title="{{ ip }}: {{ count }} requests"
    )
    run_search(runtime, search_id, now=T0)
    alerts = alerts_of(runtime, search_id)
    assert [(a.dedupe_key, a.title) for a in alerts] == [
        ("ip=10.0.0.1", "10.0.0.1: 25 requests"),
        ("ip=10.0.0.2", "10.0.0.2: 20 requests"),
    ]


def test_hits_with_a_comparison_fire_once_per_group_over_the_threshold(
    runtime, dataset, make_search
):
    name, data = dataset
    data.hits = [hit(str(i), 5, ip="10.0.0.9") for i in range(4)] + [hit("x", 5, ip="10.0.0.1")]
    search_id = make_search(name, condition="count > 3", key_fields=["ip"])
    run = run_search(runtime, search_id, now=T0)
    [alert] = alerts_of(runtime, search_id)
    assert (run.hits, run.alerts_new, alert.dedupe_key, alert.content["count"]) == (
        5,
        1,
        "ip=10.0.0.9",
        4,
    )


def test_a_burst_becomes_one_summary_post(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit(str(i), 5, user=f"u{i}") for i in range(8)]  # threshold is 5
    search_id = make_search(name)
    run = run_search(runtime, search_id, now=T0)
    [post] = deliveries(runtime, DeliveryKind.POST)
    assert post.idempotency_key == f"run:{run.id}:burst" and post.alert_id is None
    assert post.payload == {
        "burst_alert_ids": [a.id for a in alerts_of(runtime, search_id)],
        "search_id": search_id,
    }


def test_a_template_error_keeps_the_alert_with_a_default_title(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="bob", n="x")]
    search_id = make_search(
        name, key_fields=["user"], title="{{ n + 1 }}", body="{{ user }} did it"
    )
    run_search(runtime, search_id, now=T0)
    [alert] = alerts_of(runtime, search_id)
    assert alert.title == "bob"  # the default title: the key's values
    assert alert.body == "bob did it"
    [created] = events(runtime, AlertAction.CREATED)
    assert "title template error" in created.detail["template_error"]


def test_a_key_a_concurrent_writer_opened_is_folded_not_duplicated(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="bob")]
    search_id = make_search(name, key_fields=["user"])
    with runtime.sessions() as session:
        search = find_search(session, str(search_id))
        spec = SearchSpec(search_id, definition_from_search(search))
        from bot.runs.runner import open_source

        window = TimeWindow(T0 - timedelta(minutes=15), T0)
        result = open_source(runtime, spec.defn, search_id).run(window)
        plan = decide(session, spec, result, window, T0, burst_threshold=5)
        assert len(plan.new) == 1
        with runtime.sessions.begin() as other:  # another writer wins the key meanwhile
            other.add(Alert(search_id=search_id, dedupe_key="user=bob", title="theirs"))
        applied = apply_plan(session, search, 0, plan, T0)
        session.commit()
        assert (applied.new_ids, applied.updated) == ([], 1)
    [alert] = alerts_of(runtime, search_id)
    assert (alert.title, alert.occurrences) == ("theirs", 2)


def test_it_tells_the_owner_once_after_n_failures_and_again_on_recovery(
    runtime, dataset, make_search
):
    name, data = dataset
    data.fail = "index not found"
    search_id = make_search(name, failure_threshold=2)
    for minute in range(4):
        run = run_search(runtime, search_id, now=T0 + timedelta(minutes=minute))
        assert (run.status, run.error) == (RunStatus.FAILED, "index not found")
    [notice] = deliveries(runtime, DeliveryKind.MESSAGE)
    assert notice.channel == "U_ALICE" and "failed 2 times" in notice.payload["text"]
    data.fail = None
    run_search(runtime, search_id, now=T0 + timedelta(minutes=5))
    run_search(runtime, search_id, now=T0 + timedelta(minutes=6))
    notices = deliveries(runtime, DeliveryKind.MESSAGE)
    assert len(notices) == 2 and "running again" in notices[1].payload["text"]


def test_a_run_past_its_timeout_is_recorded_and_does_not_advance_the_window(
    runtime, dataset, make_search
):
    name, data = dataset
    data.sleep = 3
    search_id = make_search(name, timeout="1s")
    run = run_search(runtime, search_id, now=T0)
    assert run.status == RunStatus.TIMED_OUT and "within 1s" in (run.error or "")
    assert run.duration_ms is not None and run.duration_ms < 2500
    with runtime.sessions() as session:
        assert find_search(session, str(search_id)).last_window_end is None
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_log_content_with_nul_characters_still_becomes_an_alert(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit("1", 5, user="bob\x00", line="GET /\x00 HTTP/1.1")]
    search_id = make_search(name, key_fields=["user"], title="{{ line }}")
    run = run_search(runtime, search_id, now=T0)
    assert (run.status, run.alerts_new) == (RunStatus.SUCCEEDED, 1)
    [alert] = alerts_of(runtime, search_id)
    assert alert.title.startswith("GET /") and alert.content["line"].startswith("GET /")
