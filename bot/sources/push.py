"""Push: other systems POST events to a search (411's push searches).

``POST /push/<search id or name>`` with the search's token (``Authorization: Bearer
<token>`` or ``X-411-Token``) and a JSON object or list of objects as the body; the web
app hands it to :func:`receive_push`, which stores one ``PushEvent`` row per object.
The search's next run returns the events received in its window as hits.

Tokens: :func:`new_push_token` makes a random token, shown to the user once, and
the SHA-256 hash that is stored (``Search.push_token_hash``); checks compare hashes in
constant time, so neither the database nor timing gives the token away.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.models import PushEvent, Search
from searches.base import (
    Hit,
    ResultKind,
    Source,
    SourceError,
    SourceResult,
    TimeWindow,
)
from searches.common import ConfigReader, field_values, parse_time
from searches.db_deadline import statement_deadline

TOKEN_PREFIX = "411p_"
HASH_PREFIX = "sha256:"
MAX_BODY_BYTES = 256 * 1024
MAX_EVENTS_PER_PUSH = 1_000
MAX_HITS = 10_000


@dataclass(frozen=True)
class PushResponse:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def new_push_token() -> tuple[str, str]:
    """A new token and the hash to store for it; the token itself is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_push_token(token)


def hash_push_token(token: str) -> str:
    return HASH_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    if not token or not stored_hash:
        return False
    return hmac.compare_digest(hash_push_token(token), stored_hash)


def receive_push(engine: Engine, search_ref: str, token: str, body: bytes) -> PushResponse:
    """Authenticate, validate and store pushed events; the response is ready to send."""
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    with Session(engine) as session:
        search = _find_push_search(session, search_ref)
        if search is None:
            return _error(404, f"no push search {search_ref!r}")
        if not token_matches(token, search.push_token_hash):
            return _error(401, "missing or wrong push token")
        if not search.enabled:
            return _error(409, f"search {search.name!r} is disabled")
        events = parse_events(body)
        if isinstance(events, str):
            return _error(400, events)
        now = datetime.now(UTC)
        session.add_all(PushEvent(search_id=search.id, received_at=now, payload=e) for e in events)
        session.commit()
        return PushResponse(202, {"ok": True, "accepted": len(events), "search": search.name})


def parse_events(body: bytes) -> list[dict[str, Any]] | str:
    """The pushed objects, or a message saying what is wrong with the body."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"the body is not JSON: {exc}"
    events = document if isinstance(document, list) else [document]
    if not events:
        return "the body is an empty list; send an object or a list of objects"
    if len(events) > MAX_EVENTS_PER_PUSH:
        return f"at most {MAX_EVENTS_PER_PUSH} events per request"
    if not all(isinstance(e, dict) for e in events):
        return "send a JSON object or a list of objects"
    return events


def _find_push_search(session: Session, ref: str) -> Search | None:
    """By id when ``ref`` is a number (else by name), among live push searches."""
    live = select(Search).where(Search.deleted_at.is_(None), Search.source == "push")
    if ref.isdigit():
        found = session.scalars(live.where(Search.id == int(ref))).first()
        if found is not None:
            return found
    return session.scalars(live.where(Search.name == ref)).first()


def _error(status: int, message: str) -> PushResponse:
    return PushResponse(status, {"ok": False, "error": message})


@dataclass(frozen=True)
class PushConfig:
    time_field: str | None = None  # a field of the event giving its own time
    max_hits: int = 1_000


class PushSource(Source):
    name = "push"
    description = "events other systems POST to /push/<search>"
    config: PushConfig

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> PushConfig:
        reader = ConfigReader(raw)
        config = PushConfig(
            time_field=reader.text("time_field", None),
            max_hits=reader.integer("max_hits", 1_000, low=1, high=MAX_HITS),
        )
        reader.finish()
        return config

    def result_kind(self) -> ResultKind:
        return ResultKind.HITS

    def run(self, window: TimeWindow) -> SourceResult:
        """The events received in [start, end), oldest first."""
        engine, search_id = self.context.engine, self.context.search_id
        if engine is None or search_id is None:
            raise SourceError(
                "a push search needs a saved search and 411's database", permanent=True
            )
        query = (
            select(PushEvent)
            .where(
                PushEvent.search_id == search_id,
                PushEvent.received_at >= window.start,
                PushEvent.received_at < window.end,
            )
            .order_by(PushEvent.received_at, PushEvent.id)
            .limit(self.config.max_hits + 1)
        )
        with Session(engine) as session, statement_deadline(session.connection(), self.deadline):
            events = list(session.scalars(query))
        hits = [self._hit(event) for event in events[: self.config.max_hits]]
        return SourceResult(ResultKind.HITS, hits=hits, truncated=len(events) > len(hits))

    def _hit(self, event: PushEvent) -> Hit:
        timestamp = event.received_at
        if self.config.time_field:
            own = parse_time(next(field_values(event.payload, self.config.time_field), None))
            timestamp = own or timestamp
        return Hit(f"push-{event.id}", timestamp, dict(event.payload))
