"""The chart's data (per-day counts and backlog, from SQL) and its PNG."""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy.orm import Session

from bot.digest.chart import (
    HEIGHT_PX,
    WIDTH_PX,
    DaySeries,
    day_boundaries,
    day_series,
    render_chart,
)
from bot.models import Priority
from tests.digest.conftest import NOW, World

UTC_ZONE = ZoneInfo("UTC")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk, read by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_it_counts_alerts_per_day_and_priority_over_fourteen_days(
    session: Session, world: World
) -> None:
    series = day_series(session, NOW, UTC_ZONE)
    assert series.days[0] == date(2026, 11, 17) and series.days[-1] == date(2026, 11, 30)
    totals = [sum(series.created[p][i] for p in Priority) for i in range(14)]
    assert totals == [0] * 9 + [2, 1, 1, 4, 3]  # Nov 26 .. Nov 30
    assert series.created[Priority.HIGH][-2] == 2  # a1, b3 on Nov 29
    assert series.created[Priority.CRITICAL][-1] == 1  # a3 on Nov 30
    assert series.total_created == 11


def test_it_draws_the_open_backlog_at_the_end_of_each_day(session: Session, world: World) -> None:
    series = day_series(session, NOW, UTC_ZONE)
    # Checked alert by alert in conftest.py's table.
    assert series.backlog == [0] * 9 + [2, 2, 3, 4, 4]


def test_it_cuts_days_at_local_midnight_across_a_dst_change() -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    edges = day_boundaries(now, paris, days=3)
    lengths = [(b - a) for a, b in pairwise(edges[:-1])]
    # Sunday 25 October 2026 has 25 hours in Paris (clocks go back).
    assert lengths == [timedelta(hours=24), timedelta(hours=25)]
    assert all(e.astimezone(paris).hour == 0 for e in edges[:-1])
    assert edges[-1] == now


def test_it_renders_a_png_of_the_promised_size(session: Session, world: World) -> None:
    data = render_chart(day_series(session, NOW, UTC_ZONE))
    assert png_size(data) == (WIDTH_PX, HEIGHT_PX) == (1200, 700)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # a complete, uncorrupted PNG
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size == (1200, 700)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 10  # bars, a line and text were drawn, not a blank canvas


def test_it_renders_an_empty_fortnight_without_failing() -> None:
    days = [date(2026, 11, 17) + timedelta(days=i) for i in range(14)]
    empty = DaySeries(days=days, created={p: [0] * 14 for p in Priority}, backlog=[0] * 14)
    assert png_size(render_chart(empty)) == (1200, 700)
