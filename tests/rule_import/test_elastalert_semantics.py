"""Each ElastAlert2 rule type, converted, alerts exactly when ElastAlert2's semantics say.

Against the real Elasticsearch and OpenSearch (``search_server``) and through the
runner (``run_search``), on SQLite and Postgres: documents that should trigger the
rule and documents that should not are indexed around a fixed ``NOW``, the
converted search runs at ``NOW``, and the alerts it wrote are compared with what
ElastAlert2 would match (its documentation and ``ruletypes.py``). The shipped example rules are used where
ElastAlert2 has one for the type; blacklist, whitelist and flatline have none,
so their rules are written here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.models import RunStatus
from bot.runtime import Runtime
from tests.search_servers import SearchServer

from .elastalert_runs import NOW, convert, corpus_rule, index_docs, run


@pytest.fixture
def runtime(engine: Any, search_server: SearchServer) -> Runtime:
    clusters = {"default": search_server.cluster()}
    return Runtime(
        settings=Settings(database_url=str(engine.url), clusters=clusters), engine=engine
    )


def _ok(fired: Any) -> dict[str, Any]:
    assert fired.status == RunStatus.SUCCEEDED, fired.error
    return fired.alerts


def test_any_alerts_on_every_matching_document(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_iris_alert_any.yaml")  # query_string "session_status: opened"
    index_docs(search_server, search_index, [
        {"minutes_ago": 3, "session_status": "opened", "user": "a"},
        {"minutes_ago": 5, "session_status": "opened", "user": "b"},
        {"minutes_ago": 4, "session_status": "closed", "user": "c"},
    ])  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert sorted(a.content["user"] for a in alerts.values()) == ["a", "b"]


def test_frequency_fires_at_num_events_within_the_timeframe(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_frequency.yaml")  # 50 events of some_field:some_value in 4h
    matching = {"some_field": "some_value"}
    docs = [{"minutes_ago": 5 + i, **matching} for i in range(49)]
    docs += [{"minutes_ago": 5 * 60, **matching}]  # outside the 4 hours
    docs += [{"minutes_ago": 10, "some_field": "other"} for _ in range(5)]
    index_docs(search_server, search_index, docs, keywords=("some_field",))
    defn = convert(rule, search_index)
    assert _ok(run(runtime, defn)) == {}  # 49 in the timeframe: fewer than num_events
    index_docs(search_server, search_index, [{"minutes_ago": 1, **matching}])
    alerts = _ok(run(runtime, defn))
    assert [(a.dedupe_key, a.content["count"]) for a in alerts.values()] == [("count", 50)]


def test_frequency_per_query_key_with_the_rules_subject(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("ssh.yaml")  # 20 authentication failures per source.ip in 60 minutes

    def fail(ip: str, minutes: float) -> dict[str, Any]:
        return {
            "minutes_ago": minutes,
            "event": {"type": "authentication_failure"},
            "source": {"ip": ip},
            "host": {"hostname": "bastion"},
            "user": {"name": "root"},
        }

    docs = [fail("10.0.0.1", 1 + i) for i in range(20)]  # 20 in the last hour: fires
    docs += [fail("10.0.0.2", 1 + i) for i in range(19)] + [fail("10.0.0.2", 90)]  # 19 in it
    index_docs(search_server, search_index, docs, keywords=("source.ip",))
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert list(alerts) == ["source.ip=10.0.0.1"]
    alert = alerts["source.ip=10.0.0.1"]
    assert alert.title == "SSH abuse on <bastion>"  # from the group's latest document
    assert "User: root" in alert.body and "IP: 10.0.0.1" in alert.body


def _flatline(**extra: Any) -> dict[str, Any]:
    return {"name": "Heartbeats stopped", "type": "flatline", "index": "x", "threshold": 3,
            "timeframe": {"hours": 1}, "filter": [{"term": {"event": "heartbeat"}}], **extra}  # fmt: skip


def test_flatline_per_query_key_fires_for_keys_below_the_threshold(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    beat = {"event": "heartbeat"}
    docs = [{"minutes_ago": 10 * i + 1, "host": "steady", **beat} for i in range(3)]
    docs += [{"minutes_ago": 20, "host": "weak", **beat}]  # 1 < 3 in the last hour
    docs += [{"minutes_ago": 120 + i, "host": "silent", **beat} for i in range(5)]  # 0 now
    docs += [{"minutes_ago": 5, "host": "other", "event": "login"}]  # not a heartbeat
    index_docs(search_server, search_index, docs, keywords=("host", "event"))
    defn = convert(_flatline(query_key="host"), search_index)
    alerts = _ok(run(runtime, defn))
    assert sorted((k, a.content["count"]) for k, a in alerts.items()) == [
        ("host=silent", 0), ("host=weak", 1)
    ]  # fmt: skip
    index_docs(
        search_server, search_index, [{"minutes_ago": 1, "host": "weak", **beat} for _ in range(2)]
    )
    later = _ok(run(runtime, defn))  # weak is back at 3: its alert resolves itself
    assert later["host=weak"].resolution is not None and later["host=silent"].resolution is None


def test_flatline_without_query_key_is_the_dead_man(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    index_docs(search_server, search_index, [{"minutes_ago": 30, "event": "heartbeat"} for _ in range(2)],
               keywords=("event",))  # fmt: skip
    defn = convert(_flatline(), search_index)
    assert [a.content["count"] for a in _ok(run(runtime, defn)).values()] == [2]
    index_docs(search_server, search_index, [{"minutes_ago": 1, "event": "heartbeat"}])
    [alert] = _ok(run(runtime, defn)).values()
    assert alert.resolution is not None  # 3 heartbeats in the hour: not below 3 any more


def test_blacklist_alerts_only_on_listed_values(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = {"name": "Forbidden users", "type": "blacklist", "index": "x",
            "compare_key": "user", "blacklist": ["root", "admin"], "query_key": "user"}  # fmt: skip
    users = ["root", "admin", "bob", "rooty", "root"]
    index_docs(search_server, search_index, [{"minutes_ago": 2 + i, "user": u} for i, u in enumerate(users)],
               keywords=("user",))  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert sorted((k, a.occurrences) for k, a in alerts.items()) == [
        ("user=admin", 1), ("user=root", 2)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ignore_null", "expected"), [(True, ["mallory"]), (False, ["-", "mallory"])]
)
def test_whitelist_alerts_on_values_not_listed(
    search_server: SearchServer,
    search_index: str,
    runtime: Runtime,
    ignore_null: bool,
    expected: list[str],
):
    rule = {"name": "Unknown users", "type": "whitelist", "index": "x", "compare_key": "user",
            "whitelist": ["alice", "bob"], "ignore_null": ignore_null}  # fmt: skip
    docs = [{"minutes_ago": 2, "user": u} for u in ("alice", "bob", "mallory")]
    docs += [{"minutes_ago": 3, "event": "no user at all"}]
    index_docs(search_server, search_index, docs, keywords=("user",))
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert sorted(a.content.get("user", "-") for a in alerts.values()) == expected


def test_change_alerts_when_a_keys_value_differs_from_its_previous_one(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_change.yaml")  # country_name per username, within 1 day
    login = {"document_type": "login"}
    index_docs(search_server, search_index, [
        {"minutes_ago": 120, "username": "bob", "country_name": "US", **login},
        {"minutes_ago": 10, "username": "bob", "country_name": "FR", **login},  # US -> FR
        {"minutes_ago": 5, "username": "bob", "country_name": "US", **login},  # FR -> US
        {"minutes_ago": 180, "username": "alice", "country_name": "US", **login},
        {"minutes_ago": 8, "username": "alice", "country_name": "US", **login},  # unchanged
        {"minutes_ago": 3 * 24 * 60, "username": "carol", "country_name": "DE", **login},
        {"minutes_ago": 7, "username": "carol", "country_name": "FR", **login},  # over a day
        {"minutes_ago": 60, "username": "dave", "country_name": "US", **login},
        {"minutes_ago": 6, "username": "dave", **login},  # no country: ignored (ignore_null)
        {"minutes_ago": 4, "username": "erin", "country_name": "NL", "document_type": "x"},
    ])  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert list(alerts) == ["username=bob"]
    bob = alerts["username=bob"]
    assert (bob.occurrences, bob.content["old_value"], bob.content["new_value"]) == (2, "US", "FR")
    assert bob.title == "bob country_name: US -> FR"


def test_cardinality_below_min_cardinality_fires(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_cardinality.yaml")  # fewer than 15 active Hostnames in 4h
    docs = [{"minutes_ago": 10 + i, "Hostname": f"h{i}", "status": "active"} for i in range(14)]
    docs += [{"minutes_ago": 5, "Hostname": f"idle{i}", "status": "inactive"} for i in range(3)]
    docs += [{"minutes_ago": 300, "Hostname": "old", "status": "active"}]  # before the 4 hours
    index_docs(search_server, search_index, docs, keywords=("status",))
    defn = convert(rule, search_index)
    [alert] = _ok(run(runtime, defn)).values()
    assert alert.content["value"] == 14 and alert.title == "14 unique Hostname (min 15)"
    index_docs(
        search_server, search_index, [{"minutes_ago": 1, "Hostname": "h99", "status": "active"}]
    )
    other_defn = convert({**rule, "name": "Example cardinality rule, later"}, search_index)
    assert _ok(run(runtime, other_defn)) == {}  # 15 unique: not below 15


def test_new_term_alerts_on_values_unseen_in_the_terms_window(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_new_term.yaml")  # ip_address of username admin, 90 days back
    admin = {"username": "admin"}
    day = 24 * 60
    index_docs(search_server, search_index, [
        {"minutes_ago": 10 * day, "ip_address": "10.0.0.1", **admin},
        {"minutes_ago": 5, "ip_address": "10.0.0.1", **admin},  # seen 10 days ago
        {"minutes_ago": 6, "ip_address": "10.0.0.2", **admin},  # new (first of two)
        {"minutes_ago": 4, "ip_address": "10.0.0.2", **admin},
        {"minutes_ago": 100 * day, "ip_address": "10.0.0.3", **admin},
        {"minutes_ago": 3, "ip_address": "10.0.0.3", **admin},  # last seen 100 days ago: new
        {"minutes_ago": 20 * day, "ip_address": "10.0.0.4", "username": "bob"},
        {"minutes_ago": 2, "ip_address": "10.0.0.4", **admin},  # only bob used it: new for admin
        {"minutes_ago": 2, "ip_address": "10.0.0.5", "username": "bob"},  # not admin
    ])  # fmt: skip
    defn = convert(rule, search_index)
    alerts = _ok(run(runtime, defn))
    new = sorted((a.content["ip_address"], a.content["@timestamp"]) for a in alerts.values())
    assert [ip for ip, _ in new] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert new[0][1].startswith("2026-03-02T11:54")  # the first document with the new value
    assert sorted(a.title for a in alerts.values())[0] == "new ip_address: 10.0.0.2"
    index_docs(
        search_server, search_index, [{"minutes_ago": -1, "ip_address": "10.0.0.2", **admin}]
    )
    from datetime import timedelta

    later = _ok(run(runtime, defn, NOW + timedelta(minutes=2)))
    assert len(later) == 3  # 10.0.0.2 was seen in the previous window: not new again


@pytest.mark.parametrize(
    ("current", "reference", "fires"),
    [(9, 3, True), (9, 4, False), (4, 1, False), (6, 0, True)],
    ids=["3x-up", "below-height", "under-threshold_cur", "from-nothing"],
)
def test_spike_compares_the_timeframe_with_the_one_before(
    search_server: SearchServer,
    search_index: str,
    runtime: Runtime,
    current: int,
    reference: int,
    fires: bool,
):
    rule = corpus_rule("example_spike.yaml")  # 3x up over 2 hours, threshold_cur 5
    docs = [{"minutes_ago": 5 + i, "field": "value"} for i in range(current)]
    docs += [{"minutes_ago": 125 + i, "field": "value"} for i in range(reference)]
    docs += [{"minutes_ago": 300, "field": "value"} for _ in range(20)]  # before both windows
    docs += [{"minutes_ago": 5, "field": "other"} for _ in range(20)]
    index_docs(search_server, search_index, docs, keywords=("field",))
    alerts = _ok(run(runtime, convert(rule, search_index)))
    assert [(a.content["current"], a.content["reference"]) for a in alerts.values()] == (
        [(current, reference)] if fires else []
    )


def test_spike_aggregation_compares_a_statistic_per_query_key(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_spike_single_metric_agg.yaml")  # avg cpu 2x up, >= 0.9

    def cpu(host: str, minutes: float, pct: float) -> dict[str, Any]:
        return {
            "minutes_ago": minutes,
            "beat": {"hostname": host},
            "metricset": {"name": "cpu"},
            "system": {"cpu": {"user": {"pct": pct}}},
        }

    docs = []
    for host, before, now, n in (("a", 0.4, 0.95, 3), ("b", 0.5, 0.95, 3), ("c", 0.2, 0.95, 2)):
        docs += [cpu(host, 300 + i, before) for i in range(n)]  # the reference 4 hours
        docs += [cpu(host, 10 + i, now) for i in range(n)]  # the current 4 hours
    index_docs(search_server, search_index, docs, keywords=("beat.hostname", "metricset.name"),
               floats=("system.cpu.user.pct",))  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    # a: 0.95 >= 2 x 0.4; b: 0.95 < 2 x 0.5; c: 4 documents, under min_doc_count 5
    assert list(alerts) == ["beat.hostname=a"]
    assert alerts["beat.hostname=a"].content["current"] == pytest.approx(0.95)


def test_metric_aggregation_fires_outside_the_thresholds(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_single_metric_agg.yaml")  # avg cpu per host, 0.1 .. 0.8

    def cpu(host: str, pct: float, minutes: float = 2) -> dict[str, Any]:
        return {
            "minutes_ago": minutes,
            "beat": {"hostname": host},
            "metricset": {"name": "cpu"},
            "system": {"cpu": {"user": {"pct": pct}}},
        }

    docs = [cpu("hot", 0.85), cpu("hot", 0.95), cpu("fine", 0.5), cpu("idle", 0.05)]
    docs += [cpu("fine", 0.99, minutes=30)]  # before the 5 minutes (bucket_interval)
    docs += [{**cpu("hot", 0.01), "metricset": {"name": "memory"}}]  # not cpu
    index_docs(search_server, search_index, docs, keywords=("beat.hostname", "metricset.name"),
               floats=("system.cpu.user.pct",))  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    values = {k: round(a.content["value"], 3) for k, a in alerts.items()}
    assert values == {"beat.hostname=hot": 0.9, "beat.hostname=idle": 0.05}


def test_percentage_match_fires_below_min_percentage(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_percentage_match.yaml")  # >= 95% status 200 per Hostname

    def request(host: str, status: int) -> dict[str, Any]:
        return {"minutes_ago": 2, "Hostname": host, "ResponseStatus": status}

    docs = [request("web1", 200) for _ in range(19)] + [request("web1", 500)]  # 95%: fine
    docs += [request("web2", 200) for _ in range(18)] + [request("web2", 500) for _ in range(2)]
    index_docs(search_server, search_index, docs)  # Hostname: text with a .keyword sub-field
    alerts = _ok(run(runtime, convert(rule, search_index)))
    [(key, alert)] = alerts.items()
    assert key == "Hostname.keyword=web2"
    assert (alert.content["percentage"], alert.content["total"]) == (90.0, 20)
    assert alert.title == "web2 90.0% of 20 match (min 95)"


def test_new_term_on_fields_taken_together(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = {"name": "New user on a host", "type": "new_term", "index": "x",
            "fields": [["user", "host"]], "terms_window_size": {"days": 7}}  # fmt: skip
    index_docs(search_server, search_index, [
        {"minutes_ago": 2 * 24 * 60, "user": "bob", "host": "web1"},
        {"minutes_ago": 5, "user": "bob", "host": "web1"},  # the pair was seen 2 days ago
        {"minutes_ago": 4, "user": "bob", "host": "web2"},  # bob is not new, the pair is
        {"minutes_ago": 3, "user": "carol"},  # no host: no pair to judge
    ])  # fmt: skip
    alerts = _ok(run(runtime, convert(rule, search_index)))
    [alert] = alerts.values()
    assert (alert.content["new_field"], alert.title) == (
        ["user", "host"],
        "new user, host: bob web2",
    )


def test_aggregation_sends_one_alert_per_period_and_aggregation_key(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = {"name": "Failed logins, batched", "type": "any", "index": "x",
            "filter": [{"term": {"event": "failed"}}], "aggregation": {"minutes": 10},
            "aggregation_key": "user"}  # fmt: skip
    docs = [{"minutes_ago": 2 + i, "event": "failed", "user": "bob"} for i in range(3)]
    docs += [{"minutes_ago": 4, "event": "failed", "user": "alice"}]
    docs += [{"minutes_ago": 4, "event": "ok", "user": "carol"}]
    index_docs(search_server, search_index, docs, keywords=("event", "user"))
    defn = convert(rule, search_index)
    assert defn.schedule == "every 10m"
    alerts = _ok(run(runtime, defn))
    assert sorted((k, a.content["count"]) for k, a in alerts.items()) == [
        ("user=alice", 1), ("user=bob", 3)
    ]  # fmt: skip


def test_timestamp_field_and_run_every_are_carried(
    search_server: SearchServer, search_index: str, runtime: Runtime
):
    rule = corpus_rule("example_tencent_sms.yaml")  # 50 "message: err" in 4h on the field date
    docs = [{"minutes_ago": 10, "message": "err"} for _ in range(50)]
    docs += [{"minutes_ago": 5 * 60, "message": "err"}]  # before the 4 hours
    index_docs(search_server, search_index, docs, time_field="date")  # no @timestamp at all
    defn = convert({**rule, "run_every": {"minutes": 2}}, search_index)
    assert defn.source_config["time_field"] == "date" and defn.schedule == "every 2m"
    [alert] = _ok(run(runtime, defn)).values()
    assert alert.content["count"] == 50
