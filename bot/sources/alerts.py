"""Alerts: a search over 411's own alerts (meta-alerting).

For example "more than 20 alerts from one search within an hour": ``mode: terms``,
``group_by: [search]``, ``min_doc_count: 21`` over a one-hour look-back. Alerts are
counted by when they were created, in [start, end). Filters: ``searches`` (names or
ids), ``states``, ``priorities``. The search's own alerts are left out unless
``include_self`` is set, so a meta-search cannot feed on itself. The queries end by the
run's deadline (a Postgres ``statement_timeout``, an SQLite progress handler).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from bot.models import Alert, Search
from bot.models.enums import AlertState, Priority
from searches.base import (
    Bucket,
    Hit,
    ResultKind,
    Source,
    SourceError,
    SourceResult,
    TimeWindow,
)
from searches.common import ConfigReader, Mode
from searches.db_deadline import statement_deadline

MAX_HITS = 10_000
E = TypeVar("E", bound=enum.Enum)
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


class GroupField(enum.StrEnum):
    SEARCH = "search"
    STATE = "state"
    PRIORITY = "priority"
    ASSIGNEE = "assignee"


_GROUP_COLUMNS: dict[GroupField, Any] = {
    GroupField.SEARCH: Search.name,
    GroupField.STATE: Alert.state,
    GroupField.PRIORITY: Alert.priority,
    GroupField.ASSIGNEE: Alert.assignee,
}


@dataclass(frozen=True)
class AlertsConfig:
    mode: Mode = Mode.COUNT
    searches: tuple[str, ...] = ()  # names or ids; all searches when empty
    states: tuple[AlertState, ...] = ()
    priorities: tuple[Priority, ...] = ()
    group_by: tuple[GroupField, ...] = ()
    min_doc_count: int = 1
    max_hits: int = 500
    include_self: bool = False


def parse_alerts_config(raw: Mapping[str, Any]) -> AlertsConfig:
    reader = ConfigReader(raw)
    mode = reader.choice("mode", Mode, Mode.COUNT)
    group_by = _enum_list(reader, "group_by", GroupField)
    if mode is Mode.TERMS and not group_by:
        reader.error("group_by", "is required in terms mode: search, state, priority, assignee")
    config = AlertsConfig(
        mode=mode,
        searches=reader.names("searches"),
        states=_enum_list(reader, "states", AlertState),
        priorities=_enum_list(reader, "priorities", Priority),
        group_by=group_by,
        min_doc_count=reader.integer("min_doc_count", 1, low=1, high=2**31 - 1),
        max_hits=reader.integer("max_hits", 500, low=1, high=MAX_HITS),
        include_self=reader.flag("include_self", False),
    )
    reader.finish()
    return config


def _enum_list(reader: ConfigReader, name: str, kind: type[E]) -> tuple[E, ...]:
    values: list[E] = []
    for value in reader.names(name):
        try:
            values.append(kind(value))
        except ValueError:
            choices = ", ".join(str(m.value) for m in kind)
            reader.error(name, f"{value!r} is not one of {choices}")
    return tuple(values)


class AlertsSource(Source):
    name = "alerts"
    description = "411's own alerts, e.g. too many alerts from one search"
    config: AlertsConfig

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> AlertsConfig:
        return parse_alerts_config(raw)

    def result_kind(self) -> ResultKind:
        return self.config.mode.result_kind

    def run(self, window: TimeWindow) -> SourceResult:
        if self.context.engine is None:
            raise SourceError("the alerts source needs 411's database", permanent=True)
        with (
            Session(self.context.engine) as session,
            statement_deadline(session.connection(), self.deadline),
        ):
            if self.config.mode is Mode.COUNT:
                query = self._filtered(select(func.count(Alert.id)), window)
                return SourceResult(ResultKind.COUNT, count=int(session.scalar(query) or 0))
            if self.config.mode is Mode.TERMS:
                return self._terms(session, window)
            return self._hits(session, window)

    def _filtered(self, query: AnySelect, window: TimeWindow) -> AnySelect:
        conditions: list[ColumnElement[bool]] = [
            Alert.created_at >= window.start,
            Alert.created_at < window.end,
        ]
        if self.config.searches:
            ids = [int(ref) for ref in self.config.searches if ref.isdigit()]
            conditions.append(or_(Search.name.in_(self.config.searches), Search.id.in_(ids)))
        if self.config.states:
            conditions.append(Alert.state.in_(self.config.states))
        if self.config.priorities:
            conditions.append(Alert.priority.in_(self.config.priorities))
        if not self.config.include_self and self.context.search_id is not None:
            conditions.append(Alert.search_id != self.context.search_id)
        return (
            query.select_from(Alert).join(Search, Search.id == Alert.search_id).where(*conditions)
        )

    def _terms(self, session: Session, window: TimeWindow) -> SourceResult:
        columns = [_GROUP_COLUMNS[g] for g in self.config.group_by]
        count = func.count(Alert.id)
        query = (
            self._filtered(select(*columns, count), window)
            .group_by(*columns)
            .having(count >= self.config.min_doc_count)
            .order_by(count.desc(), *columns)
        )
        buckets = [
            Bucket(
                {g.value: _plain(v) for g, v in zip(self.config.group_by, row[:-1], strict=True)},
                int(row[-1]),
            )
            for row in session.execute(query)
        ]
        return SourceResult(ResultKind.BUCKETS, buckets=buckets)

    def _hits(self, session: Session, window: TimeWindow) -> SourceResult:
        query = (
            self._filtered(select(Alert, Search.name), window)
            .order_by(Alert.created_at, Alert.id)
            .limit(self.config.max_hits + 1)
        )
        rows = list(session.execute(query))
        hits = [_hit(alert, name) for alert, name in rows[: self.config.max_hits]]
        return SourceResult(ResultKind.HITS, hits=hits, truncated=len(rows) > len(hits))


def _hit(alert: Alert, search_name: str) -> Hit:
    fields = {
        "alert_id": alert.id,
        "search": search_name,
        "search_id": alert.search_id,
        "title": alert.title,
        "state": str(alert.state),
        "priority": str(alert.priority),
        "assignee": alert.assignee,
        "dedupe_key": alert.dedupe_key,
        "occurrences": alert.occurrences,
    }
    return Hit(f"alert-{alert.id}", alert.created_at, fields)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
