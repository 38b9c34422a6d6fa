"""Search CRUD: every change bumps the version and writes a SearchRevision (who, when, why).

These functions change the caller's session and flush; the caller commits, so a
change and whatever else it implies land in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.definitions.search import (
    SearchDefinition,
    apply_definition,
    definition_from_search,
    definition_to_dict,
)
from bot.errors import InvalidInput, NotFound
from bot.models import Alert, AlertState, RunStatus, Search, SearchRevision, SearchRun, utcnow
from bot.text.refs import Ref


@dataclass(frozen=True)
class SearchSummary:
    id: int
    name: str
    source: str
    schedule: str
    enabled: bool
    owner: str | None
    channel: str | None
    last_run_status: RunStatus | None
    last_run_at: datetime | None
    last_error: str | None
    open_alerts: int
    priority: str = "medium"
    consecutive_failures: int = 0

    @property
    def health(self) -> str:
        """``ok``, ``warning`` (the last run succeeded with notes), ``failing (N)``, ``never ran``."""
        if self.last_run_status is None:
            return "never ran"
        if self.consecutive_failures or self.last_run_status in (
            RunStatus.FAILED,
            RunStatus.TIMED_OUT,
        ):
            return f"failing ({max(self.consecutive_failures, 1)})"
        return "warning" if self.last_error else "ok"


def find_search(session: Session, ref: str | int) -> Search:
    """The live (not deleted) search with id (``S-3``, ``3``) or name ``ref``; else NotFound."""
    text = str(ref).strip()
    number = Ref.SEARCH.parse(text)
    query = select(Search).where(Search.deleted_at.is_(None))
    if number is not None:
        search = session.scalar(query.where(Search.id == number))
        if search is not None:
            return search
    text = text.lstrip("#")
    search = session.scalar(query.where(Search.name == text))
    if search is None:
        search = session.scalar(query.where(func.lower(Search.name) == text.lower()))
    if search is None:
        raise NotFound(f"no search with id or name {str(ref)!r}")
    return search


def find_search_by_name(session: Session, name: str) -> Search | None:
    return session.scalar(select(Search).where(Search.name == name, Search.deleted_at.is_(None)))


def find_search_by_origin(session: Session, origin: str) -> Search | None:
    """The live search an earlier import made from ``origin`` (e.g. "sigma:<rule id>")."""
    query = select(Search).where(Search.origin == origin, Search.deleted_at.is_(None))
    return session.scalar(query.order_by(Search.id).limit(1))


def create_search(
    session: Session, defn: SearchDefinition, actor: str | None, reason: str = ""
) -> Search:
    if find_search_by_name(session, defn.name) is not None:
        raise InvalidInput(f"a search named {defn.name!r} exists already", field="name")
    search = Search(version=1, created_by=actor)
    apply_definition(search, defn)
    session.add(search)
    session.flush()
    _revise(session, search, actor, reason or "created", bump=False)
    return search


def update_search(
    session: Session, search: Search, defn: SearchDefinition, actor: str | None, reason: str = ""
) -> bool:
    """Apply ``defn``; False (and no revision) when nothing changed."""
    if definition_to_dict(definition_from_search(search)) == definition_to_dict(defn):
        return False
    if defn.name != search.name:
        other = find_search_by_name(session, defn.name)
        if other is not None and other.id != search.id:
            raise InvalidInput(f"a search named {defn.name!r} exists already", field="name")
    apply_definition(search, defn)
    _revise(session, search, actor, reason or "updated")
    return True


def set_enabled(session: Session, search: Search, enabled: bool, actor: str | None) -> bool:
    """Enable or disable; False when it already was."""
    if search.enabled == enabled:
        return False
    search.enabled = enabled
    if enabled:
        search.consecutive_failures = 0
        search.failure_notified = False
    _revise(session, search, actor, "enabled" if enabled else "disabled")
    return True


def delete_search(session: Session, search: Search, actor: str | None, reason: str = "") -> None:
    """Soft delete: the row and its alerts stay for history; the name is freed for reuse."""
    if search.deleted_at is not None:
        return
    search.enabled = False
    search.deleted_at = utcnow()
    suffix = f" (deleted {Ref.SEARCH(search.id)})"
    search.name = search.name[: 200 - len(suffix)] + suffix
    _revise(session, search, actor, reason or "deleted")


def issue_push_token(session: Session, search: Search, actor: str | None) -> str:
    """A new token for a push search (the old one stops working); only its hash is stored."""
    from bot.sources.push import new_push_token

    if search.source != "push":
        raise InvalidInput(
            f"search {search.name!r} reads from {search.source!r}: only push searches take "
            "pushed events",
            field="source",
        )
    token, token_hash = new_push_token()
    search.push_token_hash = token_hash
    _revise(session, search, actor, "push token issued")
    return token


def revisions(session: Session, search: Search) -> list[SearchRevision]:
    query = select(SearchRevision).where(SearchRevision.search_id == search.id)
    return list(session.scalars(query.order_by(SearchRevision.version)))


def _revise(
    session: Session, search: Search, actor: str | None, reason: str, *, bump: bool = True
) -> None:
    if bump:
        search.version = (search.version or 0) + 1
    search.updated_at = utcnow()  # the scheduler re-syncs its jobs by version/updated_at
    session.add(
        SearchRevision(
            search_id=search.id,
            version=search.version,
            snapshot=definition_to_dict(definition_from_search(search)),
            changed_by=actor,
            changed_at=utcnow(),
            reason=reason,
        )
    )
    session.flush()


def list_searches(
    session: Session, text_filter: str | None = None, *, include_deleted: bool = False
) -> list[SearchSummary]:
    """One summary per search, with its last run and open alerts, in three queries."""
    query = select(Search).order_by(Search.name)
    if not include_deleted:
        query = query.where(Search.deleted_at.is_(None))
    if text_filter:
        pattern = f"%{text_filter.lower()}%"
        query = query.where(
            func.lower(Search.name).like(pattern) | func.lower(Search.description).like(pattern)
        )
    searches = list(session.scalars(query))
    ids = [s.id for s in searches]
    last_runs = _last_runs(session, ids)
    open_counts = _open_alert_counts(session, ids)
    return [
        SearchSummary(
            id=s.id,
            name=s.name,
            source=s.source,
            schedule=s.schedule,
            enabled=s.enabled,
            owner=s.owner,
            channel=s.channel,
            last_run_status=last_runs[s.id].status if s.id in last_runs else None,
            last_run_at=last_runs[s.id].finished_at if s.id in last_runs else None,
            last_error=last_runs[s.id].error if s.id in last_runs else None,
            open_alerts=open_counts.get(s.id, 0),
            priority=str(getattr(s.priority, "value", s.priority)),
            consecutive_failures=s.consecutive_failures or 0,
        )
        for s in searches
    ]


def _last_runs(session: Session, ids: list[int]) -> dict[int, SearchRun]:
    if not ids:
        return {}
    latest = (
        select(func.max(SearchRun.id))
        .where(SearchRun.search_id.in_(ids), SearchRun.finished_at.is_not(None))
        .group_by(SearchRun.search_id)
    )
    runs = session.scalars(select(SearchRun).where(SearchRun.id.in_(latest)))
    return {run.search_id: run for run in runs}


def _open_alert_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(Alert.search_id, func.count())
        .where(Alert.search_id.in_(ids), Alert.state != AlertState.RESOLVED)
        .group_by(Alert.search_id)
    )
    return {search_id: count for search_id, count in rows}
