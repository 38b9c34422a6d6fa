"""Alerts without a title template still get titles that tell them apart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.messages.blocks import fallback_text
from bot.models import Alert, Search
from bot.runs.runner import run_search
from bot.runtime import Runtime
from searches.base import Bucket, Hit
from tests.memory_source import T0


def titles(runtime: Runtime, search_id: int) -> list[str]:
    with runtime.sessions() as session:
        query = select(Alert.title).where(Alert.search_id == search_id).order_by(Alert.id)
        return list(session.scalars(query))


def hit(minutes_ago: int, **fields: object) -> Hit:
    return Hit(None, T0 - timedelta(minutes=minutes_ago), dict(fields))  # no id: a content hash


def test_hash_keyed_hits_are_titled_by_their_message_not_the_search_name(
    runtime, dataset, make_search
):
    name, data = dataset
    data.hits = [
        hit(3, message="Accepted publickey for bob", host="web1"),
        hit(2, message="Accepted password for eve", host="web1"),
    ]
    search_id = make_search(name, name="qa ssh", priority="low")
    run_search(runtime, search_id, now=T0)
    assert titles(runtime, search_id) == [
        "Accepted publickey for bob",
        "Accepted password for eve",
    ]
    with runtime.sessions() as session:
        alert = session.scalars(select(Alert).order_by(Alert.id)).first()
        text = fallback_text(alert, session.get(Search, search_id))
    assert text == "[LOW] qa ssh: Accepted publickey for bob"


def test_hits_without_a_message_show_a_few_short_fields(runtime, dataset, make_search):
    name, data = dataset
    long = "x" * 200
    data.hits = [
        hit(3, **{"@timestamp": "t", "user": {"name": "bob"}, "blob": long, "host": "web1"}),
        hit(2, user={"name": "eve"}, host="web2", port=22, event="ssh", extra="more"),
    ]
    search_id = make_search(name)
    run_search(runtime, search_id, now=T0)
    assert titles(runtime, search_id) == [
        "user.name=bob · host=web1",
        "user.name=eve · host=web2 · port=22",
    ]


def test_keyed_alerts_are_titled_by_their_key_values(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit(3, user="bob", host="web1"), hit(2, user="eve", host="web2")]
    search_id = make_search(name, key_fields=["user", "host"])
    run_search(runtime, search_id, now=T0)
    assert titles(runtime, search_id) == ["bob · web1", "eve · web2"]


def test_a_grouped_count_shows_its_group_and_the_condition(runtime, dataset, make_search):
    name, data = dataset
    data.hits = [hit(3, user="bob"), hit(2, user="bob"), hit(1, user="eve")]
    search_id = make_search(name, key_fields=["user"], condition="count >= 2")
    run_search(runtime, search_id, now=T0)
    assert titles(runtime, search_id) == ["bob: count 2 >= 2"]


def test_count_and_bucket_searches_are_titled_by_count_condition_and_window(
    runtime, dataset, make_search
):
    name, data = dataset
    data.count = 0
    dead_man = make_search(name, kind="count", condition="count < 1", lookback="5m")
    run_search(runtime, dead_man, now=T0)
    assert titles(runtime, dead_man) == ["count 0 < 1 over 5m"]
    data.buckets = [Bucket({"source.ip": "10.0.0.9"}, 40), Bucket({"source.ip": "10.0.0.7"}, 3)]
    per_ip = make_search(name, kind="buckets", condition="count > 20", lookback="2m")
    run_search(runtime, per_ip, now=T0)
    assert titles(runtime, per_ip) == ["10.0.0.9: count 40 > 20 over 2m"]
