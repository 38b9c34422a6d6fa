"""One visibility rule (bot/alerts/visibility.py), through signed requests to the bot.

Dave is in the workspace but in none of the alert channels: from 411 he learns nothing
of the alerts of #alerts (names, addresses, titles), nor of a restricted search's.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.alerts.suppressions import create_suppression
from bot.deliveries.loop import DeliveryLoop
from bot.messages.ids import ActionId
from bot.models import Delivery, DeliveryKind, Search, utcnow
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for

SECRET_IP = "198.51.100.77"
SECRET_TITLE = f"Scraper at work: 350 requests from {SECRET_IP}"


def _world(runtime: Runtime) -> tuple[int, int, int]:
    """A search of #alerts with an alert, and a restricted search (only Alice) with one."""
    scraper = add_search(runtime, name="scraper")
    alert = add_alert(runtime, scraper, post=False, title=SECRET_TITLE,
                      content={"ip": SECRET_IP})  # fmt: skip
    restricted = add_search(runtime, name="insider", restricted_to=["U_ALICE"])
    add_alert(runtime, restricted, post=False, title="insider: carol ran `sudo`")
    with runtime.sessions.begin() as session:  # what is silenced tells what alerts say
        until = utcnow() + timedelta(hours=1)
        search = session.get(Search, scraper)
        create_suppression(session, "U_CAROL", search, f"ip={SECRET_IP}", until, "scraper")
    return scraper, alert, restricted


def _answer(standin: SlackStandIn, user: str, channel: str, text: str) -> str:
    before = len(standin.ephemerals(user, channel))
    assert standin.send_command(user, channel, text).ok
    found = wait_for(
        lambda: (
            len(standin.ephemerals(user, channel)) > before and standin.ephemerals(user, channel)
        ),
        what=f"the answer to {text}",
    )
    return json.dumps(found[-1].to_api())


def test_an_outsider_learns_nothing_of_alerts_and_searches_they_may_not_see(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    scraper, alert_id, restricted = _world(runtime)
    for command in (
        "alerts open",
        "alerts search scraper",
        f"alerts search {scraper}",
        "search show scraper",
        f"search show {restricted}",
        "search list",
        "suppressions",
    ):
        said = _answer(standin, "U_DAVE", "C_GENERAL", command)
        assert SECRET_IP not in said and "Scraper at work" not in said, command
        assert "insider" not in said and "sudo" not in said, command
    said = _answer(standin, "U_DAVE", "C_GENERAL", "search show scraper")
    assert "No search with id or name `scraper`" in said  # as if it did not exist
    # Bob is in #alerts: he sees its alert, not the restricted search's.
    said = _answer(standin, "U_BOB", "C_ALERTS", "alerts open")
    assert SECRET_IP in said and f"A-{alert_id}" in said and "sudo" not in said
    assert SECRET_IP in _answer(standin, "U_BOB", "C_ALERTS", "suppressions")
    assert "No search" in _answer(standin, "U_BOB", "C_ALERTS", "search show insider")
    # Alice (admin, and named by the restricted search) sees both.
    said = _answer(standin, "U_ALICE", "C_ALERTS", "alerts open")
    assert SECRET_IP in said and "sudo" in said


def test_an_outsiders_app_home_shows_no_alert_nor_failing_search(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    _world(runtime)
    from sqlalchemy import update

    from bot.models import Search

    with runtime.sessions.begin() as session:
        session.execute(update(Search).values(consecutive_failures=3))
    standin.open_home("U_DAVE")
    dave = json.dumps(wait_for(lambda: standin.home_view("U_DAVE"), what="Dave's home").definition)
    assert "Open alerts (0)" in dave and "Failing searches (0)" in dave
    assert SECRET_IP not in dave and "scraper" not in dave and "insider" not in dave
    standin.open_home("U_BOB")
    bob = json.dumps(wait_for(lambda: standin.home_view("U_BOB"), what="Bob's home").definition)
    assert "Open alerts (1)" in bob and "Failing searches (1)" in bob and "insider" not in bob


def test_an_outsiders_digest_preview_counts_nothing_they_may_not_see(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    _world(runtime)
    dave = _answer(standin, "U_DAVE", "C_GENERAL", "digest preview")
    assert "Quiet day" in dave and SECRET_IP not in dave
    bob = _answer(standin, "U_BOB", "C_ALERTS", "digest preview")
    assert "1 new" in bob  # the #alerts alert; the restricted one is not Bob's
    alice = _answer(standin, "U_ALICE", "C_ALERTS", "digest preview")
    assert "2 new" in alice


def test_a_non_admin_cannot_subscribe_a_channel_to_the_digest(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    _world(runtime)  # Carol owns the searches of #alerts, none of #general
    said = _answer(standin, "U_DAVE", "C_GENERAL", "digest subscribe")
    assert "Only admins, or the owner of a search" in said
    said = _answer(standin, "U_CAROL", "C_GENERAL", "digest subscribe")
    assert "Only admins, or the owner of a search" in said
    said = _answer(standin, "U_CAROL", "C_ALERTS", "digest subscribe")
    assert "Subscribed" in said


def test_assign_refuses_a_non_member_and_dms_the_assignee_with_the_alerts_link(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    search_id = add_search(runtime)
    alert_id = add_alert(runtime, search_id)
    drain(loop)
    ts = get_alert(runtime, alert_id).message_ts
    assert ts
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.ASSIGN, selected_user="U_DAVE")
    notice = wait_for(lambda: standin.ephemerals("U_BOB", "C_ALERTS"), what="the refusal")
    assert "<@U_DAVE> may not act on A-" in notice[-1].text
    assert get_alert(runtime, alert_id).assignee is None
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.ASSIGN, selected_user="U_CAROL")
    wait_for(lambda: get_alert(runtime, alert_id).assignee == "U_CAROL", what="the assignment")
    drain(loop)
    with runtime.sessions() as session:
        dm = session.scalar(select(Delivery).where(Delivery.kind == DeliveryKind.MESSAGE))
        assert dm is not None and dm.channel == "U_CAROL"
    [sent] = standin.messages("D_CAROL")
    link = f"/archives/C_ALERTS/p{ts.replace('.', '')}|open the alert>"
    assert (
        sent["text"].startswith(f"<@U_BOB> assigned A-{alert_id} to you") and link in sent["text"]
    )


def test_the_assign_menu_offers_only_people_who_may_act_on_the_alert(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    standin.add_user("U_ERIN", "erin", real_name="Erin Elsewhere", channels=("C_GENERAL",))
    alert_id = add_alert(runtime, add_search(runtime))
    drain(loop)
    ts = get_alert(runtime, alert_id).message_ts
    assert ts
    offered = standin.suggest("U_BOB", "C_ALERTS", ts, ActionId.ASSIGN)
    # #alerts' members (Alice, Bob, Carol; Alice is also the admin); not Dave, Erin, the bot.
    assert [o["value"] for o in offered] == ["U_ALICE", "U_BOB", "U_CAROL"]
    assert offered[2]["text"]["text"] == "Carol Analyst (@carol)"
    typed = standin.suggest("U_BOB", "C_ALERTS", ts, ActionId.ASSIGN, "car")
    assert [o["value"] for o in typed] == ["U_CAROL"]
    assert standin.suggest("U_DAVE", "C_ALERTS", ts, ActionId.ASSIGN) == []  # an outsider
    restricted = add_search(runtime, name="insider", restricted_to=["S_SECURITY"])
    secret = add_alert(runtime, restricted)
    drain(loop)
    secret_ts = get_alert(runtime, secret).message_ts
    assert secret_ts
    offered = standin.suggest("U_CAROL", "C_ALERTS", secret_ts, ActionId.ASSIGN)
    assert [o["value"] for o in offered] == ["U_ALICE", "U_CAROL"]  # S_SECURITY (+ owner Carol)
