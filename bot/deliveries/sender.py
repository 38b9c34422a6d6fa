"""Turn one claimed delivery into Slack Web API calls, rendered from the state at send time.

``prepare`` reads the database and returns a :class:`Plan` (what to call) or raises
:class:`Defer` (not yet: the parent is not posted) or :class:`Permanent` (never).
``execute`` makes the calls. Posts carry the delivery's idempotency key in message
``metadata``; ``scan_posted`` looks for it, so a post whose outcome is unknown (a
crash or a timeout after Slack accepted it) is recorded instead of posted twice.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.alerts import bursts
from bot.deliveries.outbox import has_pending_post
from bot.messages import limits
from bot.messages.blocks import (
    BUDGETS,
    Message,
    alert_message,
    detail_blocks,
    field_blocks,
    minimal_alert_message,
    mrkdwn,
)
from bot.messages.burst import burst_listing, burst_summary
from bot.models import Alert, Delivery, DeliveryKind, DeliveryStatus, Search

MARKER_EVENT = "four11_delivery"
PARENT_WAIT = timedelta(minutes=30)  # a reply waits this long for its parent to be posted


class Defer(Exception):
    """Not now, and not a failure: try again in ``seconds``."""

    def __init__(self, reason: str, seconds: float = 1.0) -> None:
        super().__init__(reason)
        self.seconds = seconds


class Permanent(Exception):
    """This delivery can never succeed (and retrying would not change that)."""


@dataclass
class Call:
    method: str  # "chat.postMessage", "chat.update", "files_upload_v2"
    kwargs: dict[str, Any]
    fallback: dict[str, Any] | None = None  # smaller blocks if Slack refuses the first ones


@dataclass
class Plan:
    lane: str  # what Slack rate-limits it by: "post:<channel>", "chat.update", "files"
    channel: str
    calls: list[Call]
    thread_ts: str | None = None  # for finding an earlier post of this reply
    side: dict[str, Any] = field(default_factory=dict)  # what recording needs to know


def marker(key: str) -> dict[str, Any]:
    return {"event_type": MARKER_EVENT, "event_payload": {"key": key}}


def _post(
    channel: str, key: str, message: Message, *, fallback: Message | None = None, **extra: Any
) -> Call:
    kwargs = {"channel": channel, **message.as_kwargs(), "metadata": marker(key), **extra}
    limits.ensure_message(kwargs)
    alt = None
    if fallback is not None:
        alt = {"channel": channel, **fallback.as_kwargs(), "metadata": marker(key), **extra}
    return Call("chat.postMessage", kwargs, alt)


def _update(channel: str, ts: str, message: Message, fallback: Message | None = None) -> Call:
    kwargs = {"channel": channel, "ts": ts, **message.as_kwargs()}
    limits.ensure_message(kwargs)
    alt = {"channel": channel, "ts": ts, **fallback.as_kwargs()} if fallback else None
    return Call("chat.update", kwargs, alt)


# Built once (bound per send): the alert and its search, in one SELECT.
_ALERT_AND_SEARCH = (
    select(Alert, Search)
    .outerjoin(Search, Search.id == Alert.search_id)
    .where(Alert.id == bindparam("alert_id"))
)


def _alert_and_search(session: Session, alert_id: int | None) -> tuple[Alert, Search | None]:
    found = (
        session.execute(_ALERT_AND_SEARCH, {"alert_id": alert_id}).one_or_none()
        if alert_id is not None
        else None
    )
    if found is None:
        raise Permanent("the alert no longer exists")
    alert, search = found
    return alert, search


def _alerts(session: Session, ids: list[int]) -> list[Alert]:
    found = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def prepare(session: Session, delivery: Delivery, now: datetime) -> Plan:
    kind = delivery.kind
    if kind == DeliveryKind.POST:
        if bursts.is_summary(delivery):
            return _plan_burst_post(session, delivery)
        return _plan_alert_post(session, delivery)
    if kind == DeliveryKind.UPDATE:
        return _plan_update(session, delivery, now)
    if kind == DeliveryKind.THREAD_REPLY:
        return _plan_reply(session, delivery, now)
    if kind == DeliveryKind.MESSAGE:
        return _plan_message(session, delivery, now)
    if kind == DeliveryKind.UPLOAD:
        return _plan_upload(session, delivery, now)
    raise Permanent(f"unknown delivery kind {kind}")


def _plan_alert_post(session: Session, delivery: Delivery) -> Plan:
    alert, search = _alert_and_search(session, delivery.alert_id)
    channel = delivery.channel or alert.channel or (search.channel if search else None)
    if not channel:
        raise Permanent("neither the delivery nor the search names a channel")
    call = _post(
        channel,
        delivery.idempotency_key,
        alert_message(alert, search),
        fallback=minimal_alert_message(alert, search),
    )
    return Plan(lane=f"post:{channel}", channel=channel, calls=[call])


def _plan_burst_post(session: Session, delivery: Delivery) -> Plan:
    burst = bursts.get(session, delivery.id)
    search = session.get(Search, burst.search_id) if burst.search_id is not None else None
    channel = delivery.channel or (search.channel if search else None)
    if not channel:
        raise Permanent("the burst names no channel")
    message = burst_summary(burst.id, search, _alerts(session, burst.alert_ids))
    call = _post(channel, delivery.idempotency_key, message)
    return Plan(lane=f"post:{channel}", channel=channel, calls=[call])


def _burst_updates(
    session: Session, channel: str, burst_ts: str, alert_ids: set[int] | None
) -> list[Call]:
    """The burst's summary, and the thread chunks listing the changed alerts."""
    burst = bursts.by_message(session, channel, burst_ts)
    if burst is None:
        raise Permanent("the burst summary this alert was listed under is unknown")
    search = session.get(Search, burst.search_id) if burst.search_id is not None else None
    summary = burst_summary(burst.id, search, _alerts(session, burst.alert_ids))
    calls = [_update(channel, burst_ts, summary)]
    for ts, chunk in bursts.messages_to_refresh(session, burst, alert_ids):
        calls.append(_update(channel, ts, burst_listing(_alerts(session, chunk))))
    return calls


def _plan_update(session: Session, delivery: Delivery, now: datetime) -> Plan:
    if delivery.alert_id is None:  # a burst update (bulk actions): payload names the burst
        channel, ts = delivery.channel, delivery.thread_ts
        if not channel or not ts:
            raise Permanent("a burst update needs the summary's channel and ts")
        ids = delivery.payload.get("alert_ids")
        calls = _burst_updates(session, channel, ts, set(ids) if ids is not None else None)
        return Plan(lane="chat.update", channel=channel, calls=calls)
    alert, search = _alert_and_search(session, delivery.alert_id)
    if alert.channel and alert.message_ts:
        call = _update(
            alert.channel,
            alert.message_ts,
            alert_message(alert, search, now),
            minimal_alert_message(alert, search),
        )
        return Plan(lane="chat.update", channel=alert.channel, calls=[call])
    if alert.channel and alert.burst_ts:
        changed = {alert.id, *(int(i) for i in delivery.payload.get("alert_ids", []))}
        calls = _burst_updates(session, alert.channel, alert.burst_ts, changed)
        return Plan(lane="chat.update", channel=alert.channel, calls=calls)
    pending = has_pending_post(session, alert)
    if pending or (not alert.delivery_failed and now - delivery.created_at < PARENT_WAIT):
        raise Defer("the alert's message is not posted yet", 2.0)
    raise Permanent("the alert has no message to update")


def _reply_parent(session: Session, delivery: Delivery, now: datetime) -> tuple[str, str]:
    alert = session.get(Alert, delivery.alert_id) if delivery.alert_id else None
    channel = delivery.channel or (alert.channel if alert else None) or ""
    ts = delivery.thread_ts
    if not ts and delivery.parent_delivery_id:
        parent = session.get(Delivery, delivery.parent_delivery_id)
        if parent is None or parent.status in (DeliveryStatus.FAILED, DeliveryStatus.SUPERSEDED):
            raise Permanent("the parent message was never posted")
        ts = parent.message_ts
        channel = channel or parent.channel
    if not ts and alert is not None:
        ts = alert.message_ts or alert.burst_ts
        channel = alert.channel or channel
    if ts and channel:
        return channel, ts
    if alert is not None and alert.delivery_failed:
        raise Permanent("the alert's message could not be posted")
    if _parent_pending(session, delivery, alert) or now - delivery.created_at < PARENT_WAIT:
        raise Defer("waiting for the parent message to be posted", 2.0)
    raise Permanent("the parent message was never posted")


def _parent_pending(session: Session, delivery: Delivery, alert: Alert | None) -> bool:
    """Whether the parent's post is still in the outbox: a reply waits for it however long
    Slack is down (the post itself gives up at its horizon, and then so does the reply)."""
    if delivery.parent_delivery_id:
        parent = session.get(Delivery, delivery.parent_delivery_id)
        return parent is not None and parent.status in (
            DeliveryStatus.PENDING,
            DeliveryStatus.SENDING,
        )
    return alert is not None and has_pending_post(session, alert)


def _plan_reply(session: Session, delivery: Delivery, now: datetime) -> Plan:
    channel, thread_ts = _reply_parent(session, delivery, now)
    payload = delivery.payload
    key = delivery.idempotency_key
    listed = bursts.listing_members(delivery)
    if listed is not None:
        message = burst_listing(_alerts(session, listed))
    else:
        text = str(payload.get("text") or " ")
        message = Message(text=limits_text(text), blocks=list(payload.get("blocks") or []))
        if payload.get("details") and delivery.alert_id is not None:
            compact = bool(payload.get("broadcast"))
            message = _with_details(session, delivery.alert_id, message, now, compact=compact)
    extra: dict[str, Any] = {"thread_ts": thread_ts}
    if payload.get("broadcast"):
        extra["reply_broadcast"] = True
    call = _post(channel, key, message, **extra)
    return Plan(lane=f"post:{channel}", channel=channel, calls=[call], thread_ts=thread_ts)


def _with_details(
    session: Session, alert_id: int, reply: Message, now: datetime, *, compact: bool = False
) -> Message:
    """A reply followed by the alert's details: its resolved message no longer shows them.

    ``compact`` (a reply broadcast to the channel): its fields only, the line names it.
    """
    alert, search = _alert_and_search(session, alert_id)
    blocks = [{"type": "section", "text": mrkdwn(reply.text, verbatim=False)}]
    blocks += (
        field_blocks(alert, search, BUDGETS[0]) if compact else detail_blocks(alert, search, now)
    )
    message = Message(text=reply.text, blocks=blocks)
    return reply if limits.check_message(message.as_kwargs()) else message


def limits_text(text: str) -> str:
    from bot.text.escape import truncate

    return truncate(text, 3900)


def _plan_message(session: Session, delivery: Delivery, now: datetime) -> Plan:
    if not delivery.channel:
        raise Permanent("the message names no channel")
    payload = delivery.payload
    blocks = list(payload.get("blocks") or [])
    if payload.get("image"):
        blocks = _with_uploaded_image(session, delivery, blocks, now)
    message = Message(text=limits_text(str(payload.get("text") or " ")), blocks=blocks)
    extra: dict[str, Any] = {"thread_ts": delivery.thread_ts} if delivery.thread_ts else {}
    try:
        call = _post(delivery.channel, delivery.idempotency_key, message, **extra)
    except limits.PayloadTooLarge:
        call = _post(
            delivery.channel, delivery.idempotency_key, Message(text=message.text), **extra
        )
    return Plan(
        lane=f"post:{delivery.channel}",
        channel=delivery.channel,
        calls=[call],
        thread_ts=delivery.thread_ts,
    )


def _with_uploaded_image(
    session: Session, delivery: Delivery, blocks: list[Any], now: datetime
) -> list[Any]:
    """The blocks with an image block of the file its parent delivery uploaded (the chart).

    The message waits for the upload; if the upload failed for good it goes without.
    """
    spec = delivery.payload["image"]
    parent = session.get(Delivery, delivery.parent_delivery_id or 0)
    file_id = (parent.payload.get("file_id") if parent else None) or None
    if parent is None or parent.status in (DeliveryStatus.FAILED, DeliveryStatus.SUPERSEDED):
        return blocks
    if not file_id:
        if now - delivery.created_at < PARENT_WAIT:
            raise Defer("waiting for the image to be uploaded", 2.0)
        return blocks
    image = {
        "type": "image",
        "slack_file": {"id": str(file_id)},
        "alt_text": str(spec.get("alt_text") or "chart")[:2000],
    }
    if spec.get("title"):
        image["title"] = {"type": "plain_text", "text": str(spec["title"])[:2000]}
    at = int(spec.get("at", len(blocks)))
    return [*blocks[:at], image, *blocks[at:]]


def _plan_upload(session: Session, delivery: Delivery, now: datetime) -> Plan:
    payload = delivery.payload
    channel, thread_ts = delivery.channel, delivery.thread_ts
    if delivery.parent_delivery_id and not thread_ts:
        # Into the thread of a message posted by another delivery (the digest's chart).
        channel, thread_ts = _reply_parent(session, delivery, now)
    try:
        content = base64.b64decode(payload["content_b64"], validate=True)
    except (KeyError, ValueError) as exc:
        raise Permanent(f"the upload has no valid content: {exc}") from None
    kwargs: dict[str, Any] = {
        # Not shared ("share": false): a message shows it in an image block instead.
        **({"channel": channel} if payload.get("share", True) else {}),
        "content": content,
        "filename": str(payload.get("filename") or "file"),
        "title": str(payload.get("title") or payload.get("filename") or "file"),
    }
    if payload.get("initial_comment"):
        kwargs["initial_comment"] = limits_text(str(payload["initial_comment"]))
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    return Plan(
        lane=f"post:{channel}",
        channel=channel,
        calls=[Call("files_upload_v2", kwargs)],
        thread_ts=thread_ts,
    )


def execute(client: WebClient, call: Call) -> dict[str, Any]:
    """Make one call; SlackApiError and network errors propagate to the loop."""
    if call.method == "files_upload_v2":
        response = client.files_upload_v2(**call.kwargs)
    else:
        response = client.api_call(call.method, json=call.kwargs)
    return dict(response.data) if isinstance(response.data, dict) else {}


def posted_ts(response: dict[str, Any]) -> str | None:
    if "ts" in response:
        return str(response["ts"])
    files = response.get("files") or ([response["file"]] if "file" in response else [])
    for item in files:
        shares = (
            (item.get("shares") or {}).get("public")
            or (item.get("shares") or {}).get("private")
            or {}
        )
        for entries in shares.values():
            if entries:
                return str(entries[0].get("ts"))
    return None


def uploaded_file_id(response: dict[str, Any]) -> str | None:
    files = response.get("files") or ([response["file"]] if "file" in response else [])
    return str(files[0]["id"]) if files and files[0].get("id") else None


@dataclass
class Posted:
    """What one look at a channel (or thread) found: the bot's posts by delivery key, and
    uploads by title, since ``oldest``."""

    oldest: float
    by_key: dict[str, str] = field(default_factory=dict)
    by_title: dict[str, str] = field(default_factory=dict)

    def find(self, plan: Plan, delivery: Delivery) -> str | None:
        found = self.by_key.get(delivery.idempotency_key)
        title = (
            plan.calls[0].kwargs.get("title") if plan.calls[0].method == "files_upload_v2" else None
        )
        return found or (self.by_title.get(str(title)) if title else None)


def lookup_oldest(delivery: Delivery) -> float:
    """How far back to look for an earlier post of ``delivery``."""
    return (delivery.created_at - timedelta(minutes=5)).timestamp()


def scan_posted(client: WebClient, plan: Plan, oldest: float) -> Posted:
    """The bot's messages in the plan's channel (or thread) since ``oldest``."""
    posted = Posted(oldest)
    cursor: str | None = None
    for _ in range(10):  # 10 pages x 200 messages
        kwargs: dict[str, Any] = {
            "channel": plan.channel,
            "oldest": f"{oldest:.6f}",
            "limit": 200,
            "include_all_metadata": True,
            "cursor": cursor,
        }
        if plan.thread_ts:
            page = client.conversations_replies(ts=plan.thread_ts, **kwargs)
        else:
            page = client.conversations_history(**kwargs)
        for message in page.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == MARKER_EVENT:
                key = (meta.get("event_payload") or {}).get("key")
                if key:
                    posted.by_key.setdefault(str(key), str(message["ts"]))
            for item in message.get("files") or []:
                if item.get("title"):
                    posted.by_title.setdefault(str(item["title"]), str(message["ts"]))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return posted
