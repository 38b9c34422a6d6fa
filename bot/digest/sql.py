"""SQL building blocks of the digest: seconds between timestamps, and range aggregates.

``seconds_between`` is the one dialect difference the digest needs.

SQLite stores our datetimes as ISO text and has no interval type, so the difference is
taken through ``julianday`` (days as a float); Postgres subtracts ``timestamptz`` values
into an interval and ``date_part('epoch', ...)`` turns it into seconds. Anything else
falls back to the standard ``EXTRACT(EPOCH FROM ...)``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, func, literal_column, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.models import Alert, Priority


class seconds_between(FunctionElement[float]):  # lower case: reads like the SQL function it is
    """``seconds_between(later, earlier)``: ``later - earlier`` in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)


def _operands(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    later, earlier = list(element.clauses)
    return compiler.process(later, **kw), compiler.process(earlier, **kw)


@compiles(seconds_between)
def _standard(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _operands(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between, "postgresql")
def _postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part gives a double directly; EXTRACT returns numeric since Postgres 14,
    # measured ~30% slower when summed over a week of alerts.
    later, earlier = _operands(element, compiler, **kw)
    return f"date_part('epoch', {later} - {earlier})"


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _operands(element, compiler, **kw)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


RangeKey = tuple[int, Priority]
Scope = Collection[int] | None  # the searches a digest may count (visibility); None: all


def in_scope(column: Any, scope: Scope) -> ColumnElement[bool]:
    """``column IN scope``: a search id column limited to what the digest's readers may see."""
    return true() if scope is None else column.in_(sorted(scope))


def range_aggregates(
    session: Session,
    column: InstrumentedAttribute[Any],
    ranges: Sequence[tuple[datetime, datetime]],
    *,
    with_seconds: bool = False,
    scope: Scope = None,
) -> dict[RangeKey, tuple[int, float]]:
    """Alerts whose ``column`` falls in each ``[lo, hi)`` range, per priority.

    Returns ``(range index, priority) -> (count, summed seconds from created_at to column)``.

    One statement, a UNION ALL of one small aggregate per (range, priority): each branch
    is a range scan of the ``(priority, column, created_at)`` index (migration 0002),
    which both databases answer from the index alone. A single GROUP BY over the
    whole span was measured 3-4x slower on SQLite, which has to sort every row of
    the span in a temporary B-tree to group it.
    """
    branches: list[Any] = []
    for i, (lo, hi) in enumerate(ranges):
        for j, priority in enumerate(Priority):
            seconds = (
                func.coalesce(func.sum(seconds_between(column, Alert.created_at)), 0.0)
                if with_seconds
                else literal_column("0.0")
            )
            branches.append(
                select(
                    literal_column(str(i)).label("r"),
                    literal_column(str(j)).label("p"),
                    func.count().label("n"),
                    seconds.label("s"),
                ).where(
                    Alert.priority == priority,
                    column >= lo,
                    column < hi,
                    in_scope(Alert.search_id, scope),
                )
            )
    priorities = list(Priority)
    result: dict[RangeKey, tuple[int, float]] = {}
    for r, p, n, s in session.execute(union_all(*branches)).all():
        if n:
            result[(int(r), priorities[int(p)])] = (int(n), float(s or 0.0))
    return result


def open_by_priority(session: Session, scope: Scope = None) -> dict[Priority, int]:
    """Alerts open now (not resolved), per priority.

    ``resolved_at IS NULL`` rather than the state: resolving sets it and reopening clears
    it, and it lets each branch count a range of the ``(priority, resolved_at)`` index
    instead of visiting every row to read its state.
    """
    branches: list[Any] = [
        select(literal_column(str(j)).label("p"), func.count().label("n")).where(
            Alert.priority == priority,
            Alert.resolved_at.is_(None),
            in_scope(Alert.search_id, scope),
        )
        for j, priority in enumerate(Priority)
    ]
    priorities = list(Priority)
    return {priorities[int(p)]: int(n) for p, n in session.execute(union_all(*branches)).all()}
