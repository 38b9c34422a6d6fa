"""``/411 digest ...``: subscribe a channel, unsubscribe it, show it, preview the digest.

    /411 digest                         this channel's subscription
    /411 digest subscribe [HH:MM] [Area/City] [weekly]
    /411 digest unsubscribe
    /411 digest preview [weekly]        the digest up to now, only for you

The preview is an ephemeral reply (the slash command's response), and its chart goes to
the caller's direct messages with the app: an ephemeral message cannot carry a file,
and an image block needs a URL Slack's servers can fetch, which a bot behind a firewall
or in Socket Mode does not have. An UPLOAD delivery through files upload v2 works in
every mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.alerts.visibility import Viewer
from bot.deliveries.sender import uploaded_file_id
from bot.digest.compose import CHART_ALT, Digest, build_digest
from bot.digest.periods import parse_time_of_day, parse_timezone
from bot.errors import InvalidInput
from bot.messages.limits import check_message
from bot.models import DigestPeriod, DigestSubscription, utcnow
from bot.runtime import Runtime
from bot.slack.commands.digest_access import check_may_subscribe, ensure_bot_in
from bot.text.escape import code, is_slack_id
from bot.text.links import permalink_base

USAGE = (
    "Usage: `/411 digest` (this channel's subscription), "
    "`/411 digest subscribe [HH:MM] [time zone] [weekly]`, `/411 digest unsubscribe`, "
    "`/411 digest preview [weekly]`."
)


@dataclass(frozen=True)
class DigestReply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Caller:
    """Who typed ``/411 digest``, in which channel, and the Web API to reach Slack with."""

    viewer: Viewer
    channel_id: str
    client: WebClient

    @property
    def user_id(self) -> str:
        return self.viewer.user_id


@dataclass(frozen=True)
class SubscribeRequest:
    time_of_day: str
    timezone: str
    weekly: bool


def digest_command(runtime: Runtime, caller: Caller, args: list[str]) -> DigestReply:
    words = [w for w in args if w.strip()]
    action = words[0].lower() if words else "show"
    rest = words[1:]
    if action == "show":
        return show(runtime, caller.channel_id)
    if action == "subscribe":
        request = parse_subscribe(rest, runtime.settings.timezone)
        return subscribe(runtime, caller, request)
    if action == "unsubscribe":
        _no_more(rest, "unsubscribe")
        return unsubscribe(runtime, caller)
    if action == "preview":
        weekly = _weekly_flag(rest)
        return preview(runtime, caller, weekly=weekly)
    if action == "help":
        return DigestReply(USAGE)
    raise InvalidInput(f"Unknown digest command {code(action, 40)}. {USAGE}", field="command")


def parse_subscribe(words: list[str], default_timezone: str) -> SubscribeRequest:
    """``[HH:MM] [time zone] [weekly]`` in any order; each at most once."""
    time_of_day, timezone, weekly = None, None, False
    for word in words:
        if word.lower() == "weekly":
            weekly = True
        elif ":" in word and word[:1].isdigit():
            if time_of_day is not None:
                raise InvalidInput("Give one time of day, e.g. 09:00.", field="time_of_day")
            at = parse_time_of_day(word)
            time_of_day = f"{at.hour:02d}:{at.minute:02d}"
        else:
            if timezone is not None:
                raise InvalidInput(
                    f"Unexpected {code(word, 60)}: give one time zone, e.g. Europe/Paris.",
                    field="timezone",
                )
            parse_timezone(word)
            timezone = word
    return SubscribeRequest(time_of_day or "09:00", timezone or default_timezone, weekly)


def show(runtime: Runtime, channel_id: str) -> DigestReply:
    with runtime.sessions() as session:
        sub = _subscription(session, channel_id)
        if sub is None:
            return DigestReply(f"This channel gets no digest. {USAGE}")
        return DigestReply(f"This channel gets {_describe(sub)}.")


def subscribe(runtime: Runtime, caller: Caller, request: SubscribeRequest) -> DigestReply:
    channel_id, user_id = caller.channel_id, caller.user_id
    _check_channel(channel_id)
    with runtime.sessions() as session:
        check_may_subscribe(session, caller.viewer, channel_id)
    joined = ensure_bot_in(caller.client, channel_id)  # before anything is written
    for _attempt in range(2):  # a concurrent first subscribe wins the insert; then update it
        with runtime.sessions() as session:
            sub = _subscription(session, channel_id)
            if sub is None:
                sub = DigestSubscription(channel=channel_id, created_by=user_id)
                session.add(sub)
            sub.time_of_day = request.time_of_day
            sub.timezone = request.timezone
            sub.weekly = request.weekly
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            return DigestReply(f"Subscribed: this channel gets {_describe(sub)}.{joined}")
    raise InvalidInput("The subscription changed at the same moment; please try again.")


def unsubscribe(runtime: Runtime, caller: Caller) -> DigestReply:
    with runtime.sessions() as session:
        check_may_subscribe(session, caller.viewer, caller.channel_id)
        sub = _subscription(session, caller.channel_id)
        if sub is None:
            return DigestReply("This channel had no digest subscription; nothing changed.")
        session.delete(sub)
        session.commit()
    return DigestReply("Unsubscribed: this channel gets no more digests.")


def preview(runtime: Runtime, caller: Caller, *, weekly: bool = False) -> DigestReply:
    """The digest of the period ending now, for the caller only, its chart inline.

    It counts only the searches the caller may see (``bot/alerts/visibility.py``).

    Days are cut in the channel's digest time zone when it has one, else the default.
    """
    now = utcnow()
    period = DigestPeriod.WEEKLY if weekly else DigestPeriod.DAILY
    start = now - timedelta(days=7 if weekly else 1)
    link_base = permalink_base(runtime.settings.slack_api_url)
    user_id = caller.user_id
    with runtime.sessions() as session:
        sub = _subscription(session, caller.channel_id) if caller.channel_id else None
        tz = parse_timezone(sub.timezone if sub else runtime.settings.timezone)
        digest = build_digest(
            session,
            period=period,
            start=start,
            end=now,
            tz=tz,
            now=now,
            link_base=link_base,
            scope=caller.viewer.search_ids(session),
        )
    text = digest.rendered.top.text
    blocks = list(digest.rendered.top.blocks)
    if digest.rendered.details is not None:
        combined = [*blocks, {"type": "divider"}, *digest.rendered.details.blocks]
        # Top and details each fit a message; together they may not (one reply here).
        if not check_message({"text": text, "blocks": combined}):
            blocks = combined
        else:
            blocks.append(
                _context("The details are too long to show here; the channel digest has them.")
            )
    if digest.chart_png is not None and is_slack_id(user_id):
        blocks = _with_chart(caller.client, digest, blocks)
    return DigestReply(text, blocks)


def _with_chart(client: WebClient, digest: Digest, blocks: list[Any]) -> list[Any]:
    """The chart inside the preview, as in the channel post: an unshared upload shown by an
    image block. A failed upload leaves a line saying so; the figures still answer."""
    assert digest.chart_png is not None
    try:
        uploaded = client.files_upload_v2(
            content=digest.chart_png,
            filename=f"411-{digest.period.value}-digest-preview.png",
            title=digest.rendered.chart_title,
        )
    except SlackApiError as exc:
        error = (exc.response or {}).get("error", "error")
        return [*blocks, _context(f"The chart could not be uploaded ({code(error, 60)}).")]
    file_id = uploaded_file_id(dict(uploaded.data) if isinstance(uploaded.data, dict) else {})
    if file_id is None:
        return blocks
    image = {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": f"{digest.rendered.chart_title}. {CHART_ALT}",
    }
    at = digest.rendered.chart_at
    with_image = [*blocks[:at], image, *blocks[at:]]
    return blocks if check_message({"text": "digest", "blocks": with_image}) else with_image


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _describe(sub: DigestSubscription) -> str:
    weekly = " plus a weekly summary on Mondays" if sub.weekly else ""
    return f"a daily digest at {sub.time_of_day} {code(sub.timezone, 70)}{weekly}"


def _subscription(session: Any, channel_id: str) -> DigestSubscription | None:
    sub: DigestSubscription | None = session.scalar(
        select(DigestSubscription).where(DigestSubscription.channel == channel_id)
    )
    return sub


def _check_channel(channel_id: str) -> None:
    if not is_slack_id(channel_id) or channel_id[0] not in "CGD":
        raise InvalidInput("Run this in the channel that should get the digest.", field="channel")


def _weekly_flag(words: list[str]) -> bool:
    if not words:
        return False
    if [w.lower() for w in words] == ["weekly"]:
        return True
    raise InvalidInput(f"`preview` takes only `weekly`. {USAGE}", field="args")


def _no_more(words: list[str], action: str) -> None:
    if words:
        raise InvalidInput(f"`{action}` takes no arguments. {USAGE}", field="args")
