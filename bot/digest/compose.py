"""Put a digest together (figures, chart, messages) and turn it into outbox rows.

Shared by the scheduler (posts into a channel) and ``/411 digest preview`` (shows it
to one person).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.digest.chart import CHART_DAYS, day_series, render_chart
from bot.digest.figures import compute_figures
from bot.digest.render import RenderedDigest, render_digest
from bot.digest.sql import Scope
from bot.models import Delivery, DeliveryKind, DigestPeriod


@dataclass(frozen=True)
class Digest:
    rendered: RenderedDigest
    chart_png: bytes | None  # None when the period was quiet: nothing worth a chart
    period: DigestPeriod
    start: datetime
    end: datetime


def build_digest(
    session: Session,
    *,
    period: DigestPeriod,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    now: datetime,
    link_base: str,
    scope: Scope,
) -> Digest:
    """Read-only: aggregate queries over the searches in ``scope``, then rendering in memory.

    ``scope`` is what the digest's readers may all see (``bot/alerts/visibility.py``)."""
    figures = compute_figures(session, start, end, now=now, scope=scope)
    rendered = render_digest(figures, period=period, tz=tz, link_base=link_base, now=now)
    png = None
    if rendered.details is not None:
        series = day_series(session, end, tz, CHART_DAYS, scope)
        png = render_chart(series, title=f"Alerts per day, last {CHART_DAYS} days")
    return Digest(rendered, png, period, start, end)


def enqueue_digest(session: Session, digest: Digest, channel: str, key: str) -> list[Delivery]:
    """The chart, the post showing it, and the post's thread reply, in the caller's transaction.

    The chart is uploaded first without being shared; the post names the upload as its
    ``parent_delivery_id`` and shows the file in an image block (it waits for the
    upload). The thread reply names the post: it is sent once the post has a ``ts``.
    """
    top = digest.rendered.top
    chart = None
    if digest.chart_png is not None:
        chart = enqueue_chart(
            session, digest, channel, Keys.DIGEST_PART.build(digest=key, part="chart")
        )
        session.flush()  # the post needs the chart's id
    payload: dict[str, object] = {"text": top.text, "blocks": top.blocks}
    if chart is not None:
        payload["image"] = {
            "at": digest.rendered.chart_at,
            "alt_text": f"{digest.rendered.chart_title}. {CHART_ALT}",
        }
    post = outbox.enqueue(
        session,
        key=Keys.DIGEST_PART.build(digest=key, part="post"),
        kind=DeliveryKind.MESSAGE,
        channel=channel,
        payload=payload,
        parent_delivery_id=chart.id if chart is not None else None,
    )
    session.flush()  # the reply needs the post's id
    rows = [*([chart] if chart is not None else []), post]
    details = digest.rendered.details
    if details is not None:
        rows.append(
            outbox.enqueue(
                session,
                key=Keys.DIGEST_PART.build(digest=key, part="details"),
                kind=DeliveryKind.THREAD_REPLY,
                channel=channel,
                payload={"text": details.text, "blocks": details.blocks},
                parent_delivery_id=post.id,
            )
        )
    return rows


CHART_ALT = "Alerts per day by priority; the line is the open backlog."


def enqueue_chart(session: Session, digest: Digest, channel: str, key: str) -> Delivery:
    """The chart's upload, not shared to any channel: the digest's post shows it in an
    image block (``payload["image"]``), so the upload has no message of its own."""
    assert digest.chart_png is not None
    day = digest.end.strftime("%Y-%m-%d")
    payload: dict[str, object] = {
        "filename": f"411-{digest.period.value}-digest-{day}.png",
        "title": digest.rendered.chart_title,
        "content_b64": base64.b64encode(digest.chart_png).decode("ascii"),
        "share": False,
    }
    return outbox.enqueue(
        session, key=key, kind=DeliveryKind.UPLOAD, channel=channel, payload=payload
    )
