"""The digest chart: alerts per day by priority (stacked bars) with the open backlog as a line.

The data comes from two aggregate statements (alerts created per day and priority,
alerts resolved per day and priority) plus the count of open alerts now; the backlog
at the end of each day is ``open now + resolved since - created since``, summed from
the newest day backwards. Days are local days in the subscriber's time zone, so the
day boundaries are computed here (DST-aware: a day may last 23 or 25 hours) and
handed to SQL as ranges.

The PNG is 1200x700 pixels (12 x 7 inches at 100 dpi): wide enough for 14 labelled
bars, and with 18-22 pt text it stays legible when Slack scales it to a phone's width.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.digest.sql import RangeKey, Scope, open_by_priority, range_aggregates
from bot.models import Alert, Priority

CHART_DAYS = 14
WIDTH_PX, HEIGHT_PX, DPI = 1200, 700, 100
PRIORITY_COLOURS = {
    Priority.LOW: "#9fb4c7",
    Priority.MEDIUM: "#f2c14e",
    Priority.HIGH: "#f78154",
    Priority.CRITICAL: "#b5172b",
}
BACKLOG_COLOUR = "#1d3557"


@dataclass(frozen=True)
class DaySeries:
    """Per local day: alerts created by priority, and alerts open at the day's end."""

    days: list[date]
    created: dict[Priority, list[int]]
    backlog: list[int]

    @property
    def total_created(self) -> int:
        return sum(sum(v) for v in self.created.values())


def day_boundaries(now: datetime, tz: ZoneInfo, days: int = CHART_DAYS) -> list[datetime]:
    """Local midnights starting ``days - 1`` days before today, then ``now`` as the last edge."""
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    # In UTC: arithmetic between aware datetimes of one ZoneInfo ignores DST changes.
    edges = [
        datetime.combine(first + timedelta(days=i), time(0), tzinfo=tz).astimezone(UTC)
        for i in range(days)
    ]
    return [*edges, now]


def day_series(
    session: Session, now: datetime, tz: ZoneInfo, days: int = CHART_DAYS, scope: Scope = None
) -> DaySeries:
    edges = day_boundaries(now, tz, days)
    ranges = list(pairwise(edges))
    created = range_aggregates(session, Alert.created_at, ranges, scope=scope)
    resolved = range_aggregates(session, Alert.resolved_at, ranges, scope=scope)
    open_now = sum(open_by_priority(session, scope).values())

    def on(day: int, counts: dict[RangeKey, tuple[int, float]]) -> int:
        return sum(counts.get((day, p), (0, 0.0))[0] for p in Priority)

    backlog: list[int] = []
    level = open_now
    for day in reversed(range(days)):  # open at the end of `day` = open at the start of day+1
        backlog.append(level)
        level += on(day, resolved) - on(day, created)
    backlog.reverse()
    return DaySeries(
        days=[e.astimezone(tz).date() for e in edges[:-1]],
        created={p: [created.get((d, p), (0, 0.0))[0] for d in range(days)] for p in Priority},
        backlog=backlog,
    )


def render_chart(series: DaySeries, title: str = "Alerts per day") -> bytes:
    """The PNG bytes of the chart (Agg backend: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # A Figure with its own Agg canvas, not pyplot: no global state, safe in worker threads.
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(series.days)))
    bottom = [0] * len(positions)
    for priority in Priority:
        values = series.created[priority]
        axes.bar(
            positions,
            values,
            bottom=bottom,
            color=PRIORITY_COLOURS[priority],
            label=priority.value,
            width=0.75,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("new alerts", fontsize=18)
    axes.set_xticks(positions, [_day_label(d) for d in series.days], fontsize=15, rotation=45)
    axes.tick_params(axis="y", labelsize=16)
    axes.set_title(title, fontsize=22, loc="left", pad=14)
    axes.spines[["top"]].set_visible(False)
    axes.set_ylim(0, max(1, *bottom) * 1.3)  # headroom: the legend sits above the bars
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))

    backlog_axes = axes.twinx()
    backlog_axes.plot(
        positions, series.backlog, color=BACKLOG_COLOUR, linewidth=4, marker="o", label="open"
    )
    backlog_axes.set_ylabel("open at day end", fontsize=18, color=BACKLOG_COLOUR)
    backlog_axes.tick_params(axis="y", labelsize=16, colors=BACKLOG_COLOUR)
    backlog_axes.set_ylim(0, max(1, *series.backlog) * 1.3)
    backlog_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    backlog_axes.spines[["top"]].set_visible(False)

    handles, labels = axes.get_legend_handles_labels()
    line_handles, line_labels = backlog_axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1] + line_handles,
        labels[::-1] + line_labels,
        fontsize=15,
        loc="upper left",
        ncols=5,
        frameon=False,
        bbox_to_anchor=(0, 1.0),
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    # No bbox_inches="tight": it would change the pixel size the tests and Slack expect.
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day}"
