"""Push searches: token handling, receiving events over the web app's seam, and the source."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.models import PushEvent, Search
from bot.sources.push import (
    MAX_BODY_BYTES,
    PushSource,
    hash_push_token,
    new_push_token,
    receive_push,
    token_matches,
)
from searches.base import SourceContext, SourceError
from tests.searches.conftest import END, MS, START, WINDOW


def make_search(
    engine: Engine, name: str, source: str = "push", **extra: object
) -> tuple[int, str]:
    token, token_hash = new_push_token()
    with Session(engine) as session:
        search = Search(
            name=name, source=source, schedule="every 1m", push_token_hash=token_hash, **extra
        )
        session.add(search)
        session.commit()
        return search.id, token


def stored(engine: Engine) -> list[dict[str, object]]:
    with Session(engine) as session:
        return [e.payload for e in session.scalars(select(PushEvent).order_by(PushEvent.id))]


def test_a_token_is_random_and_only_its_hash_is_kept() -> None:
    token, token_hash = new_push_token()
    other, _ = new_push_token()
    assert token != other and len(token) > 40
    assert token not in token_hash and token_hash == hash_push_token(token)
    assert token_matches(token, token_hash)
    assert not token_matches(other, token_hash)
    assert not token_matches("", token_hash) and not token_matches(token, None)


def test_it_stores_an_object_or_a_list_of_objects(engine: Engine) -> None:
    search_id, token = make_search(engine, "deploys")
    one = receive_push(engine, "deploys", token, b'{"service": "api", "by": "alice"}')
    many = receive_push(engine, str(search_id), token, json.dumps([{"n": 1}, {"n": 2}]).encode())
    assert (one.status, one.body["accepted"]) == (202, 1)
    assert (many.status, many.body["accepted"]) == (202, 2)
    assert stored(engine) == [{"service": "api", "by": "alice"}, {"n": 1}, {"n": 2}]


@pytest.mark.parametrize(
    ("ref", "token", "body", "status", "message"),
    [
        ("deploys", "wrong", b"{}", 401, "wrong push token"),
        ("deploys", "", b"{}", 401, "missing or wrong push token"),
        ("nope", "TOKEN", b"{}", 404, "no push search 'nope'"),
        ("es-search", "TOKEN", b"{}", 404, "no push search"),
        ("deploys", "TOKEN", b"{not json", 400, "not JSON"),
        ("deploys", "TOKEN", b'[{"a": 1}, 2]', 400, "a JSON object or a list of objects"),
        ("deploys", "TOKEN", b"[]", 400, "empty list"),
        ("deploys", "TOKEN", b" " * (MAX_BODY_BYTES + 1), 413, "larger than"),
        ("paused", "TOKEN", b"{}", 409, "disabled"),
    ],
)
def test_it_refuses_bad_pushes_and_stores_nothing(
    engine: Engine, ref: str, token: str, body: bytes, status: int, message: str
) -> None:
    _, real = make_search(engine, "deploys")
    _, paused = make_search(engine, "paused", enabled=False)
    make_search(engine, "es-search", source="elasticsearch")
    token = {"deploys": real, "paused": paused}.get(ref, real) if token == "TOKEN" else token
    response = receive_push(engine, ref, token, body)
    assert response.status == status
    assert message in response.body["error"] and response.body["ok"] is False
    assert stored(engine) == []


def test_the_source_returns_the_events_received_in_the_window(engine: Engine) -> None:
    search_id, _ = make_search(engine, "deploys")
    other_id, _ = make_search(engine, "other")
    times = {"before": START - MS, "start": START, "last": END - MS, "end": END}
    with Session(engine) as session:
        for name, at in times.items():
            session.add(PushEvent(search_id=search_id, received_at=at, payload={"name": name}))
        session.add(PushEvent(search_id=other_id, received_at=START, payload={"name": "x"}))
        session.commit()
    context = SourceContext(search_id=search_id, engine=engine)
    result = PushSource(PushSource.parse_config({}), context).run(WINDOW)
    assert [h.fields["name"] for h in result.hits] == ["start", "last"]
    assert [h.timestamp for h in result.hits] == [START, END - MS]
    assert len({h.id for h in result.hits}) == 2


def test_the_source_caps_hits_and_can_use_the_events_own_time(engine: Engine) -> None:
    search_id, _ = make_search(engine, "deploys")
    own = (START - timedelta(days=1)).isoformat()
    with Session(engine) as session:
        for n in range(3):
            payload = {"n": n, "at": own}
            session.add(PushEvent(search_id=search_id, received_at=START + n * MS, payload=payload))
        session.commit()
    config = PushSource.parse_config({"max_hits": 2, "time_field": "at"})
    result = PushSource(config, SourceContext(search_id=search_id, engine=engine)).run(WINDOW)
    assert [h.fields["n"] for h in result.hits] == [0, 1] and result.truncated
    assert result.hits[0].timestamp == START - timedelta(days=1)
    with Session(engine) as session:
        assert session.scalar(select(func.count(PushEvent.id))) == 3


def test_the_source_needs_a_saved_search() -> None:
    with pytest.raises(SourceError) as raised:
        PushSource(PushSource.parse_config({}), SourceContext()).run(WINDOW)
    assert raised.value.permanent
