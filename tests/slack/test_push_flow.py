"""A push search end to end: a token from `/411`, events POSTed over HTTP, an alert in Slack."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from bot.models import Alert, PushEvent, Search
from bot.runs import runner
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, DeliveryLoop, add_search, drain, wait_for


def _token_from_slack(standin: SlackStandIn, user: str, search_id: int) -> str:
    standin.send_command(user, "C_ALERTS", f"search push-token {search_id}")
    said = wait_for(
        lambda: [e for e in standin.ephemerals(user, "C_ALERTS") if "push token" in e.text],
        what="the push token reply",
    )
    match = re.search(r"`([A-Za-z0-9_\-]{20,})`", said[0].text)
    assert match, said[0].text
    return match.group(1)


def test_a_pushed_event_becomes_an_alert_in_the_channel(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    search_id = add_search(
        runtime, name="ci pushes", source="push", source_config={}, key_fields=["job"]
    )
    token = _token_from_slack(standin, "U_CAROL", search_id)  # carol owns the search
    push_url = bot.url.replace("/slack/events", f"/push/{search_id}")

    refused = httpx.post(push_url, json={"job": "deploy"}, headers={"Authorization": "Bearer x"})
    assert refused.status_code in (401, 403)
    accepted = httpx.post(
        push_url,
        json=[{"job": "deploy", "message": "<!channel> deploy failed"}],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert accepted.status_code in (200, 201, 202), accepted.text

    finished = runner.run_search(runtime, search_id)
    assert finished.alerts_new == 1
    drain(loop)
    posted = [m for m in standin.messages("C_ALERTS") if "deploy" in str(m.get("blocks"))]
    assert len(posted) == 1
    assert "<!channel>" not in str(posted[0]["blocks"]), "pushed text stays data"
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        assert session.scalar(select(func.count()).select_from(PushEvent)) == 1


def test_only_the_owner_or_an_admin_may_issue_a_token(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime, name="ci pushes", source="push", source_config={})
    standin.send_command("U_BOB", "C_ALERTS", f"search push-token {search_id}")
    wait_for(lambda: standin.ephemerals("U_BOB", "C_ALERTS"), what="a refusal")
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None and search.push_token_hash is None


def test_a_token_is_refused_for_a_search_that_is_not_a_push_search(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime, name="file search")
    standin.send_command("U_CAROL", "C_ALERTS", f"search push-token {search_id}")
    said = wait_for(lambda: standin.ephemerals("U_CAROL", "C_ALERTS"), what="a refusal")
    assert "only push searches" in said[0].text
