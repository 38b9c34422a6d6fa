"""``/411 maintenance``: schedule, list, cancel; bad input and refusals change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import MaintenanceWindow
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_search, wait_for


def said(standin: SlackStandIn, user: str, needle: str) -> str:
    found = wait_for(
        lambda: [e.text for e in standin.ephemerals(user, "C_ALERTS") if needle in e.text],
        what=f"a reply with {needle!r}",
    )
    return str(found[-1])


def windows(runtime: Runtime) -> list[MaintenanceWindow]:
    with runtime.sessions() as session:
        return list(session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.id)))


def test_it_schedules_lists_and_cancels_a_window_over_a_search(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    add_search(runtime, name="Scraper at work", owner="U_BOB")
    standin.send_command(
        "U_BOB", "C_ALERTS", 'maintenance add start=+10m for=2h search="Scraper at work" CDN move'
    )
    text = said(standin, "U_BOB", "Scheduled")
    [window] = windows(runtime)
    assert f"*M-{window.id}*" in text and "`Scraper at work`" in text and "CDN move" in text
    assert (window.ends_at - window.starts_at).total_seconds() == 7200
    assert window.reason == "CDN move" and not window.everything
    standin.send_command("U_BOB", "C_ALERTS", "maintenance list")
    assert f"M-{window.id}" in said(standin, "U_BOB", "scheduled ·")
    standin.send_command("U_BOB", "C_ALERTS", f"maintenance cancel M-{window.id}")
    said(standin, "U_BOB", "is cancelled")
    assert windows(runtime)[0].cancelled_by == "U_BOB"


def test_it_refuses_bad_input_and_non_admins_silencing_everything(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    add_search(runtime, name="Scraper at work")
    standin.send_command("U_BOB", "C_ALERTS", "maintenance add for=1h all")
    assert "Only admins" in said(standin, "U_BOB", "admins")
    standin.send_command("U_ALICE", "C_ALERTS", 'maintenance add search="Scraper at work"')
    assert "for=2h" in said(standin, "U_ALICE", "Give the length")
    standin.send_command("U_ALICE", "C_ALERTS", "maintenance add for=90d all")
    assert "30 days" in said(standin, "U_ALICE", "30 days")
    standin.send_command("U_ALICE", "C_ALERTS", "maintenance add for=1h search=nope")
    said(standin, "U_ALICE", "nope")
    assert windows(runtime) == []
    standin.send_command("U_ALICE", "C_ALERTS", "maintenance add for=1h all rack swap")
    said(standin, "U_ALICE", "Scheduled")
    [window] = windows(runtime)
    assert window.everything and window.reason == "rack swap"


def test_the_list_names_only_searches_the_reader_may_see(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    add_search(runtime, name="Payroll exports", owner="U_BOB")  # posts to #alerts
    standin.send_command(
        "U_BOB", "C_ALERTS", 'maintenance add for=2h search="Payroll exports" payroll migration'
    )
    said(standin, "U_BOB", "Scheduled")
    standin.send_command("U_ALICE", "C_ALERTS", "maintenance add for=1h all rack swap")
    said(standin, "U_ALICE", "Scheduled")
    before = len(standin.ephemerals("U_DAVE", "C_GENERAL"))
    standin.send_command("U_DAVE", "C_GENERAL", "maintenance list")  # Dave is not in #alerts
    found = wait_for(lambda: standin.ephemerals("U_DAVE", "C_GENERAL")[before:], what="Dave's list")
    text = found[-1].text
    assert "rack swap" in text and "every search" in text  # a window over everything: shown
    assert "Payroll" not in text and "payroll migration" not in text
