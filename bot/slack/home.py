"""App Home: my open alerts, open alerts by priority, failing searches, create a search;
for admins, the Slack posts that were given up on, with a button that sends them again.

Published on ``app_home_opened`` and on the Refresh button; at most 100 blocks, so
each section shows a few rows and counts the rest.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.visibility import Viewer
from bot.deliveries.outcomes import AMBIGUOUS
from bot.errors import PermissionDenied
from bot.messages import limits
from bot.messages.blocks import PRIORITY_BADGE, Block, button, mrkdwn, plain_text, state_line, when
from bot.messages.ids import ActionId, alert_block_id
from bot.models import Alert, AlertState, Delivery, DeliveryStatus, Priority, Search
from bot.ops.status import GIVEN_UP_SHOWN, resend
from bot.slack.feedback import guarded
from bot.slack.services import Services
from bot.text.escape import code, escape_mrkdwn, mention_channel, truncate
from bot.text.refs import Ref

ROWS = 8


def _alert_row(alert: Alert, search_name: str, part: str) -> list[Block]:
    from bot.models import utcnow

    text = (
        f"*{Ref.ALERT(alert.id)}* {PRIORITY_BADGE[alert.priority]} · {escape_mrkdwn(search_name)} · "
        f"{code(alert.title or alert.dedupe_key, 200)}\n{state_line(alert, utcnow())}"
    )
    section: Block = {
        "type": "section",
        "block_id": alert_block_id(alert.id, part),
        "text": mrkdwn(text, verbatim=False),
    }
    section["accessory"] = button("Resolve", ActionId.RESOLVE, str(alert.id))
    return [section]


def home_view(session: Session, viewer: Viewer) -> Block:
    """What ``viewer`` may see (bot/alerts/visibility.py): their alerts, the open alerts
    of searches they may see, and those searches' failures."""
    user_id = viewer.user_id
    visible = viewer.search_ids(session)
    found = session.execute(
        select(Alert, Search)
        .join(Search, Search.id == Alert.search_id)
        .where(Alert.state != AlertState.RESOLVED, Alert.search_id.in_(visible))
    ).all()
    rows = [(alert, search.name) for alert, search in viewer.alerts(found)]
    mine = [(a, n) for a, n in rows if a.assignee == user_id]
    blocks: list[Block] = [
        {"type": "header", "text": plain_text("411", 150)},
        {
            "type": "actions",
            "elements": [
                button("Create a search", ActionId.HOME_CREATE, style="primary"),
                button("Refresh", ActionId.HOME_REFRESH),
            ],
        },
        {"type": "header", "text": plain_text(f"My open alerts ({len(mine)})", 150)},
    ]
    for alert, name in sorted(mine, key=lambda p: (-p[0].priority.rank, -p[0].id))[:ROWS]:
        blocks.extend(_alert_row(alert, name, "mine"))
    if not mine:
        blocks.append({"type": "context", "elements": [mrkdwn("Nothing assigned to you. :tada:")]})
    counts = Counter(a.priority for a, _ in rows)
    blocks.append({"type": "header", "text": plain_text(f"Open alerts ({len(rows)})", 150)})
    summary = " · ".join(f"{PRIORITY_BADGE[p]}: *{counts[p]}*" for p in reversed(list(Priority)))
    blocks.append({"type": "section", "text": mrkdwn(summary, verbatim=False)})
    for priority in reversed(list(Priority)):
        top = sorted((p for p in rows if p[0].priority == priority), key=lambda p: -p[0].id)[
            : ROWS // 2
        ]
        for alert, name in top:
            blocks.extend(_alert_row(alert, name, "open"))
    blocks.extend(_failing(session, visible))
    if viewer.is_admin:
        blocks.extend(_given_up(session))
    view = {"type": "home", "blocks": blocks[: limits.MAX_VIEW_BLOCKS]}
    return view


def _failing(session: Session, visible: list[int]) -> list[Block]:
    failing = session.scalars(
        select(Search)
        .where(
            Search.deleted_at.is_(None),
            Search.consecutive_failures > 0,
            Search.id.in_(visible),
        )
        .order_by(Search.consecutive_failures.desc())
    ).all()
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(f"Failing searches ({len(failing)})", 150)}
    ]
    if not failing:
        return [
            *blocks,
            {"type": "context", "elements": [mrkdwn("Every search ran fine last time.")]},
        ]
    lines = [
        f"`{Ref.SEARCH(s.id)}` *{escape_mrkdwn(s.name)}* · {s.consecutive_failures} failed runs in a row · "
        f"alerts to {mention_channel(s.channel)} · next run {when(s.next_run_at)}"
        for s in failing[:20]
    ]
    return [
        *blocks,
        {"type": "section", "text": mrkdwn(truncate("\n".join(lines), 3000), verbatim=False)},
    ]


def _given_up(session: Session) -> list[Block]:
    """Admins: deliveries given up on (Slack down longer than the retry horizon, say)."""
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.FAILED)
        .order_by(Delivery.id.desc())
        .limit(GIVEN_UP_SHOWN + 1)
    ).all()
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(f"Posts given up on ({len(rows)})", 150)}
    ]
    if not rows:
        return [*blocks, {"type": "context", "elements": [mrkdwn("Every post reached Slack.")]}]
    lines = [
        f"`#{row.id}` {row.kind.value} to {mention_channel(row.channel)}"
        + (f" · alert {Ref.ALERT(row.alert_id)}" if row.alert_id else "")
        + f" · {row.attempts} attempts · {code((row.last_error or '').removeprefix(AMBIGUOUS), 120)}"
        for row in rows[:ROWS]
    ]
    return [
        *blocks,
        {"type": "section", "text": mrkdwn(truncate("\n".join(lines), 3000), verbatim=False)},
        {
            "type": "actions",
            "elements": [button("Send them again", ActionId.HOME_RESEND, style="primary")],
        },
    ]


def publish(client: WebClient, session: Session, viewer: Viewer) -> None:
    view = home_view(session, viewer)
    limits.ensure_view(view)
    client.views_publish(user_id=viewer.user_id, view=view)


def _viewer(context: dict[str, Any], user_id: str) -> Viewer:
    services: Services = context["services"]
    return Viewer(services.runtime.settings, services.directory, user_id)


def register(app: App) -> None:
    @app.event("app_home_opened")
    @guarded
    def on_home_opened(event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        with context["db"] as session:
            publish(client, session, _viewer(context, event["user"]))

    @app.action(ActionId.HOME_REFRESH)
    @guarded
    def on_refresh(
        ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        with context["db"] as session:
            publish(client, session, _viewer(context, body["user"]["id"]))

    @app.action(ActionId.HOME_RESEND)
    @guarded
    def on_resend(
        ack: Ack, body: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        viewer = _viewer(context, body["user"]["id"])
        if not viewer.is_admin:
            raise PermissionDenied("Only admins can send given-up posts again.")
        services: Services = context["services"]
        resend(services.runtime)
        with context["db"] as session:
            publish(client, session, viewer)
