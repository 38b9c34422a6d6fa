"""``/411 digest ...`` as B2's router calls it: subscribe, unsubscribe, show, preview."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.models import Delivery, DeliveryKind, DigestSubscription
from bot.runtime import Runtime
from bot.slack.commands import digest_actions as commands
from bot.slack.commands.digest_actions import digest_command
from bot.slack.limits import check_message
from tests.digest.conftest import NOW, build_world
from tests.digest.test_chart import png_size

CHANNEL = "C_DIGEST"


def subscriptions(session: Session) -> list[tuple[str, str, str, bool, str | None]]:
    session.expire_all()
    rows = session.scalars(select(DigestSubscription).order_by(DigestSubscription.id))
    return [(s.channel, s.time_of_day, s.timezone, s.weekly, s.created_by) for s in rows]


def run(runtime: Runtime, *args: str, user: str = "U_BOB", channel: str = CHANNEL) -> str:
    return digest_command(runtime, user, channel, list(args)).text


def test_it_subscribes_at_nine_in_the_configured_time_zone_by_default(
    runtime: Runtime, session: Session
) -> None:
    reply = run(runtime, "subscribe")
    assert "daily digest at 09:00 `Europe/Paris`" in reply
    assert subscriptions(session) == [(CHANNEL, "09:00", "Europe/Paris", False, "U_BOB")]


def test_it_takes_a_time_a_zone_and_weekly_in_any_order(runtime: Runtime, session: Session) -> None:
    reply = run(runtime, "subscribe", "weekly", "America/New_York", "7:30")
    assert "07:30 `America/New_York` plus a weekly summary on Mondays" in reply
    assert subscriptions(session) == [(CHANNEL, "07:30", "America/New_York", True, "U_BOB")]


def test_subscribing_again_changes_the_one_subscription(runtime: Runtime, session: Session) -> None:
    run(runtime, "subscribe", "08:00", "weekly")
    run(runtime, "subscribe", "17:45", "UTC", user="U_CAROL")
    assert subscriptions(session) == [(CHANNEL, "17:45", "UTC", False, "U_BOB")]


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (["25:00"], "time_of_day", "24-hour clock"),
        (["9:5"], "time_of_day", "HH:MM"),
        (["Mars/Olympus_Mons"], "timezone", "IANA time zone"),
        (["../../etc/passwd"], "timezone", "IANA time zone"),
        (["09:00", "10:00"], "time_of_day", "one time of day"),
        (["UTC", "Europe/Paris"], "timezone", "one time zone"),
    ],
)
def test_it_refuses_bad_subscriptions_with_a_clear_error_and_changes_nothing(
    runtime: Runtime, session: Session, args: list[str], field: str, message: str
) -> None:
    run(runtime, "subscribe", "08:00")
    with pytest.raises(InvalidInput, match=message) as caught:
        run(runtime, "subscribe", *args)
    assert caught.value.field == field
    assert subscriptions(session) == [(CHANNEL, "08:00", "Europe/Paris", False, "U_BOB")]


def test_it_refuses_to_subscribe_something_that_is_not_a_channel(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="Run this in the channel"):
        run(runtime, "subscribe", channel="<!channel>")


def test_it_shows_and_ends_the_channels_subscription(runtime: Runtime, session: Session) -> None:
    assert "This channel gets no digest" in run(runtime)
    run(runtime, "subscribe", "06:15", "UTC")
    assert run(runtime) == "This channel gets a daily digest at 06:15 `UTC`."
    assert "Unsubscribed" in run(runtime, "unsubscribe")
    assert subscriptions(session) == []
    assert "nothing changed" in run(runtime, "unsubscribe")


def test_it_rejects_unknown_subcommands_with_the_usage(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="Usage") as caught:
        run(runtime, "sbuscribe")
    assert "`sbuscribe`" in caught.value.message
    with pytest.raises(InvalidInput, match="takes no arguments"):
        run(runtime, "unsubscribe", "now")


def test_preview_shows_the_digest_to_the_caller_and_sends_the_chart_to_their_dms(
    runtime: Runtime, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(session)
    monkeypatch.setattr(commands, "utcnow", lambda: NOW + timedelta(minutes=1))
    reply = digest_command(runtime, "U_BOB", CHANNEL, ["preview", "weekly"])
    assert reply.blocks[0]["text"]["text"].startswith("411 weekly digest")
    assert check_message({"text": reply.text, "blocks": reply.blocks}) == []
    assert any("Noisiest searches" in b.get("text", {}).get("text", "") for b in reply.blocks)
    assert "on its way to your DMs" in str(reply.blocks[-1])
    digest_command(runtime, "U_BOB", CHANNEL, ["preview", "weekly"])  # double submit
    session.expire_all()
    uploads = list(session.scalars(select(Delivery)))
    assert [(d.kind, d.channel) for d in uploads] == [(DeliveryKind.UPLOAD, "U_BOB")]
    assert png_size(base64.b64decode(uploads[0].payload["content_b64"])) == (1200, 700)


def test_preview_of_a_quiet_day_says_so_and_sends_no_chart(
    runtime: Runtime, session: Session
) -> None:
    reply = digest_command(runtime, "U_BOB", CHANNEL, ["preview"])
    assert "Quiet day" in str(reply.blocks)
    assert session.scalars(select(Delivery)).first() is None
