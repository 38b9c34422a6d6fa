"""App Home: published on app_home_opened, refreshable, with the create-search shortcut."""

from __future__ import annotations

import json

from sqlalchemy import update

from bot.messages import limits
from bot.messages.ids import ActionId
from bot.models import Alert, Priority, Search
from bot.runtime import Runtime
from bot.text.refs import Ref
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, wait_for


def test_it_publishes_my_alerts_open_alerts_by_priority_and_failing_searches(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime)
    mine = add_alert(runtime, search_id, post=False, assignee="U_BOB", title="mine <!here>")
    other = add_alert(
        runtime, search_id, post=False, priority=Priority.CRITICAL, title="critical one"
    )
    with runtime.sessions.begin() as session:
        session.execute(update(Search).values(consecutive_failures=4))
    assert standin.open_home("U_BOB").ok
    view = wait_for(lambda: standin.home_view("U_BOB"), what="the home view")
    assert limits.check_view(view.definition) == []
    text = json.dumps(view.definition)
    assert "My open alerts (1)" in text and f"A-{mine}" in text and f"A-{other}" in text
    assert "Open alerts (2)" in text and "Failing searches (1)" in text and "4 failed runs" in text
    assert "<!here>" not in text
    with runtime.sessions.begin() as session:
        session.execute(update(Alert).where(Alert.id == mine).values(assignee=None))
    standin.click_in_view("U_BOB", view.id, ActionId.HOME_REFRESH)

    def refreshed() -> bool:
        home = standin.home_view("U_BOB")
        return home is not None and "My open alerts (0)" in json.dumps(home.definition)

    wait_for(refreshed, what="the refresh")


def test_its_create_button_opens_the_search_modal(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    standin.open_home("U_CAROL")
    view = wait_for(lambda: standin.home_view("U_CAROL"), what="the home view")
    standin.click_in_view("U_CAROL", view.id, ActionId.HOME_CREATE)
    modal = wait_for(lambda: standin.modal_stack("U_CAROL"), what="the modal")[-1]
    assert modal.definition["callback_id"] == "search_create_modal"


def test_admins_see_given_up_posts_and_send_them_again_with_one_click(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    from sqlalchemy import select

    from bot.models import Delivery, DeliveryStatus

    alert_id = add_alert(runtime, add_search(runtime))  # its post is pending
    with runtime.sessions.begin() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.alert_id == alert_id)
            .values(status=DeliveryStatus.FAILED, attempts=30, last_error="gave up after 30")
        )
    standin.open_home("U_BOB")  # not an admin
    bob = wait_for(lambda: standin.home_view("U_BOB"), what="Bob's home view")
    assert "Posts given up on" not in json.dumps(bob.definition)
    standin.open_home("U_ALICE")  # an admin (tests/slack/conftest.py)
    view = wait_for(lambda: standin.home_view("U_ALICE"), what="the admin's home view")
    text = json.dumps(view.definition)
    assert "Posts given up on (1)" in text and f"alert {Ref.ALERT(alert_id)}" in text
    assert limits.check_view(view.definition) == []
    standin.click_in_view("U_ALICE", view.id, ActionId.HOME_RESEND)

    def pending_again() -> bool:
        with runtime.sessions() as session:
            status = session.scalar(select(Delivery.status).where(Delivery.alert_id == alert_id))
        return status == DeliveryStatus.PENDING

    wait_for(pending_again, what="the re-send")
