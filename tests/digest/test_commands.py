"""``/411 digest ...`` as B2's router calls it: subscribe, unsubscribe, show, preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.permissions import SlackDirectory
from bot.alerts.visibility import Viewer
from bot.errors import InvalidInput, PermissionDenied
from bot.messages.limits import check_message
from bot.models import Delivery, DigestSubscription, Search
from bot.runtime import Runtime
from bot.slack.commands import digest_actions as commands
from bot.slack.commands.digest_actions import Caller, digest_command
from standin import SlackStandIn
from standin.model import BOT_USER_ID
from tests.digest.conftest import NOW, build_world
from tests.digest.test_chart import png_size
from tests.slack.conftest import TOKEN
from tests.slack.conftest import standin as standin  # the Slack tests' stand-in fixture

CHANNEL = "C_DIGEST"


def subscriptions(session: Session) -> list[tuple[str, str, str, bool, str | None]]:
    session.expire_all()
    rows = session.scalars(select(DigestSubscription).order_by(DigestSubscription.id))
    return [(s.channel, s.time_of_day, s.timezone, s.weekly, s.created_by) for s in rows]


@pytest.fixture
def slack(standin: SlackStandIn) -> WebClient:
    """The Web API of a Slack stand-in: the digest joins channels and opens DMs through it."""
    return WebClient(token=TOKEN, base_url=standin.api_url)


@pytest.fixture(autouse=True)
def bob_owns_a_search_of_the_channel(session: Session) -> None:
    """Only admins and owners of a search posting to a channel subscribe it: Bob is one."""
    session.add(Search(name="bob's", source="memory", schedule="every 5m", owner="U_BOB",
                       channel=CHANNEL))  # fmt: skip
    session.commit()


def caller(
    runtime: Runtime, slack: WebClient, user: str = "U_BOB", channel: str = CHANNEL
) -> Caller:
    directory = SlackDirectory(slack)
    return Caller(Viewer(runtime.settings, directory, user), channel, slack)


def run(
    runtime: Runtime, slack: WebClient, *args: str, user: str = "U_BOB", channel: str = CHANNEL
) -> str:
    return digest_command(runtime, caller(runtime, slack, user, channel), list(args)).text


def test_it_subscribes_at_nine_in_the_configured_time_zone_by_default(
    runtime: Runtime, session: Session, slack: WebClient
) -> None:
    reply = run(runtime, slack, "subscribe")
    assert "daily digest at 09:00 `Europe/Paris`" in reply
    assert subscriptions(session) == [(CHANNEL, "09:00", "Europe/Paris", False, "U_BOB")]


def test_it_takes_a_time_a_zone_and_weekly_in_any_order(
    runtime: Runtime, session: Session, slack: WebClient
) -> None:
    reply = run(runtime, slack, "subscribe", "weekly", "America/New_York", "7:30")
    assert "07:30 `America/New_York` plus a weekly summary on Mondays" in reply
    assert subscriptions(session) == [(CHANNEL, "07:30", "America/New_York", True, "U_BOB")]


def test_subscribing_again_changes_the_one_subscription(
    runtime: Runtime, session: Session, slack: WebClient
) -> None:
    run(runtime, slack, "subscribe", "08:00", "weekly")
    run(runtime, slack, "subscribe", "17:45", "UTC")
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
    runtime: Runtime, session: Session, slack: WebClient, args: list[str], field: str, message: str
) -> None:
    run(runtime, slack, "subscribe", "08:00")
    with pytest.raises(InvalidInput, match=message) as caught:
        run(runtime, slack, "subscribe", *args)
    assert caught.value.field == field
    assert subscriptions(session) == [(CHANNEL, "08:00", "Europe/Paris", False, "U_BOB")]


def test_it_refuses_to_subscribe_something_that_is_not_a_channel(
    runtime: Runtime, slack: WebClient
) -> None:
    with pytest.raises(InvalidInput, match="Run this in the channel"):
        run(runtime, slack, "subscribe", channel="<!channel>")


def test_it_shows_and_ends_the_channels_subscription(
    runtime: Runtime, session: Session, slack: WebClient
) -> None:
    assert "This channel gets no digest" in run(runtime, slack)
    run(runtime, slack, "subscribe", "06:15", "UTC")
    assert run(runtime, slack) == "This channel gets a daily digest at 06:15 `UTC`."
    assert "Unsubscribed" in run(runtime, slack, "unsubscribe")
    assert subscriptions(session) == []
    assert "nothing changed" in run(runtime, slack, "unsubscribe")


def test_it_rejects_unknown_subcommands_with_the_usage(runtime: Runtime, slack: WebClient) -> None:
    with pytest.raises(InvalidInput, match="Usage") as caught:
        run(runtime, slack, "sbuscribe")
    assert "`sbuscribe`" in caught.value.message
    with pytest.raises(InvalidInput, match="takes no arguments"):
        run(runtime, slack, "unsubscribe", "now")


def test_preview_shows_the_digest_to_the_caller_with_its_chart_inline(
    runtime: Runtime,
    session: Session,
    slack: WebClient,
    standin: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_world(session)
    monkeypatch.setattr(commands, "utcnow", lambda: NOW + timedelta(minutes=1))
    reply = digest_command(runtime, caller(runtime, slack), ["preview", "weekly"])
    assert reply.blocks[0]["text"]["text"].startswith("411 weekly digest")
    assert check_message({"text": reply.text, "blocks": reply.blocks}) == []
    assert any("Noisiest searches" in b.get("text", {}).get("text", "") for b in reply.blocks)
    # The chart sits in the answer, as in the channel post: an unshared upload, no DM.
    image = reply.blocks[3]
    assert image["type"] == "image"
    data = standin.file_bytes(image["slack_file"]["id"])
    assert data is not None and png_size(data) == (1200, 700)
    assert session.scalars(select(Delivery)).first() is None


def test_preview_of_a_quiet_day_says_so_and_sends_no_chart(
    runtime: Runtime, session: Session, slack: WebClient
) -> None:
    reply = digest_command(runtime, caller(runtime, slack), ["preview"])
    assert "Quiet day" in str(reply.blocks)
    assert session.scalars(select(Delivery)).first() is None


def test_only_admins_and_owners_of_the_channels_searches_subscribe_it(
    runtime: Runtime, session: Session, slack: WebClient, standin: SlackStandIn
) -> None:
    # Dave is in #general but owns nothing posting there; Carol owns a search of
    # #digest but is not in #general: neither may put alert figures in #general.
    session.add(Search(name="carol's", source="memory", schedule="every 5m", owner="U_CAROL",
                       channel="C_GENERAL"))  # fmt: skip
    session.commit()
    standin.add_user("U_EVE", "eve", channels=("C_GENERAL",))
    for user in ("U_DAVE", "U_EVE"):
        with pytest.raises(PermissionDenied, match="Only admins, or the owner of a search"):
            run(runtime, slack, "subscribe", user=user, channel="C_GENERAL")
    standin.workspace.channels["C_GENERAL"].members.discard("U_CAROL")
    with pytest.raises(PermissionDenied, match="Only admins, or the owner of a search"):
        run(runtime, slack, "subscribe", user="U_CAROL", channel="C_GENERAL")
    with pytest.raises(PermissionDenied):
        run(runtime, slack, "unsubscribe", user="U_DAVE")
    assert subscriptions(session) == []


def test_subscribing_a_public_channel_the_bot_is_not_in_joins_it_a_private_one_asks(
    runtime: Runtime, session: Session, slack: WebClient, standin: SlackStandIn
) -> None:
    standin.add_channel("C_OPEN", "open", members=("U_BOB",))
    standin.add_channel("G_HUSH", "hush", members=("U_BOB",), is_private=True)
    for channel in ("C_OPEN", "G_HUSH"):
        standin.workspace.channels[channel].members.discard(BOT_USER_ID)
        session.add(Search(name=channel, source="memory", schedule="every 5m", owner="U_BOB",
                           channel=channel))  # fmt: skip
    session.commit()
    said = run(runtime, slack, "subscribe", channel="C_OPEN")
    assert said.endswith("I joined this channel to post the digest and its chart.")
    assert BOT_USER_ID in standin.workspace.channels["C_OPEN"].members
    assert [c.args.get("channel") for c in standin.calls("conversations.join")] == ["C_OPEN"]
    with pytest.raises(InvalidInput, match="invite me first"):
        run(runtime, slack, "subscribe", channel="G_HUSH")
    assert [s[0] for s in subscriptions(session)] == ["C_OPEN"]  # nothing for the private one
