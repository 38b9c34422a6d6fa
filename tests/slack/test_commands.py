"""`/411` typed in the stand-in: signed request -> bot -> Web API / response_url -> what the user sees."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models import Search, SearchRevision, Suppression
from bot.runtime import Runtime
from bot.slack.commands.parse import Args
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, wait_for


def _said(standin: SlackStandIn, user: str, count: int = 1, channel: str = "C_ALERTS") -> str:
    found = wait_for(
        lambda: (
            len(standin.ephemerals(user, channel)) >= count and standin.ephemerals(user, channel)
        ),
        what="an ephemeral reply",
    )
    return str(found[count - 1].text)


def _said_with(standin: SlackStandIn, user: str, needle: str, channel: str = "C_ALERTS") -> str:
    """The ephemeral containing ``needle`` (an ack and its answer may arrive in either order)."""
    found = wait_for(
        lambda: [e for e in standin.ephemerals(user, channel) if needle in e.text], what=needle
    )
    return str(found[0].text)


def _log_file(tmp_path: Path, lines: int = 3) -> Path:
    path = tmp_path / "auth.log"
    now = datetime.now(UTC)
    with path.open("w") as out:
        for i in range(lines):
            stamp = (now - timedelta(minutes=2, seconds=i)).isoformat()
            out.write(
                json.dumps(
                    {
                        "@timestamp": stamp,
                        "event": "login",
                        "outcome": "failure",
                        "user": f"user{i}",
                    }
                )
                + "\n"
            )
    return path


def test_it_answers_help_ephemerally_within_three_seconds(
    standin: SlackStandIn, bot: BotServer
) -> None:
    reply = standin.send_command("U_BOB", "C_ALERTS", "help")
    assert reply.ok and reply.elapsed < 3
    text = _said(standin, "U_BOB")
    assert "/411 search create" in text and "/411 suppress" in text
    assert standin.messages("C_ALERTS") == []  # ephemeral: nothing in the channel


def test_it_shows_the_help_for_a_bare_slash_command(standin: SlackStandIn, bot: BotServer) -> None:
    reply = standin.send_command("U_BOB", "C_ALERTS", "")
    assert reply.ok and reply.elapsed < 3
    text = _said(standin, "U_BOB")
    assert "Unknown command" not in text and "/411 search create" in text


def test_it_shows_one_answer_and_a_working_notice_only_before_slow_work(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    # A fast failure: the error alone, no notice saying work is pending.
    reply = standin.send_command("U_ALICE", "C_ALERTS", "search test 99999")
    assert reply.ok and reply.elapsed < 3
    error = _said(standin, "U_ALICE")
    assert "99999" in error and "Working on" not in error
    # A fast answer is the ack itself: one message.
    reply = standin.send_command("U_ALICE", "C_ALERTS", "search list")
    assert reply.ok and "No searches" in reply.body
    assert "No searches" in _said(standin, "U_ALICE", 2)
    # Slow work: the notice first, then the answer, which is the last thing shown.
    search_id = add_search(runtime, source_config={"path": str(_log_file(tmp_path))})
    reply = standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id}")
    assert reply.ok and reply.elapsed < 3 and "Working on" in reply.body
    _said_with(standin, "U_ALICE", "hits")
    shown = [e.text for e in standin.ephemerals("U_ALICE", "C_ALERTS")]
    assert len(shown) == 4 and "Working on" in shown[2] and "hits" in shown[3]
    assert not [t for t in shown[:2] if "Working on" in t]


def test_it_acks_a_slow_handler_in_time_and_answers_after(
    standin: SlackStandIn, bot: BotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.slack.commands import router

    def slow_list(ctx: router.CommandContext, args: Args) -> router.Reply:
        time.sleep(0.6)
        return router.Reply("the late answer")

    command, _ = router.REGISTRY.find(Args(["search", "list"]))
    monkeypatch.setattr(command, "handler", slow_list)
    monkeypatch.setattr(router, "ACK_DEADLINE", 0.2)
    reply = standin.send_command("U_BOB", "C_ALERTS", "search list")
    assert reply.ok and reply.elapsed < 0.5 and not reply.body.strip()
    assert _said(standin, "U_BOB") == "the late answer"


def test_it_suggests_the_nearest_command_for_an_unknown_word(
    standin: SlackStandIn, bot: BotServer
) -> None:
    standin.send_command("U_BOB", "C_ALERTS", "serch lsit")
    text = _said(standin, "U_BOB")
    assert "Unknown command" in text and "Did you mean `search list`" in text and "Usage" in text


def test_it_reports_an_unbalanced_quote_clearly(standin: SlackStandIn, bot: BotServer) -> None:
    standin.send_command("U_BOB", "C_ALERTS", 'search create name="oops')
    assert "check your quotes" in _said(standin, "U_BOB")


def test_it_creates_a_search_inline_and_lists_shows_disables_and_deletes_it(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    log = _log_file(tmp_path)  # the file source reads the bot host: an admin creates it
    standin.send_command(
        "U_ALICE",
        "C_ALERTS",
        f'search create name="failed logins" source=file path={log} query="outcome:failure" schedule="every 5m" key_fields=user priority=high owner=@bob',
    )
    assert "Created search *failed logins*" in _said(standin, "U_ALICE")
    with runtime.sessions() as session:
        search = session.scalar(select(Search).where(Search.name == "failed logins"))
        assert search is not None
        assert search.owner == "U_BOB" and search.channel == "C_ALERTS"
        assert search.source_config == {"path": str(log), "query": "outcome:failure"}
        search_id = search.id
    standin.send_command("U_BOB", "C_ALERTS", "search list fail")
    assert "failed logins" in _said(standin, "U_BOB", 1)
    standin.send_command("U_BOB", "C_ALERTS", f"search show {search_id}")
    shown = wait_for(
        lambda: (
            len(standin.ephemerals("U_BOB", "C_ALERTS")) >= 2
            and standin.ephemerals("U_BOB", "C_ALERTS")[1]
        )
    )
    blocks_text = json.dumps(shown.blocks)
    assert (
        "outcome:failure" in blocks_text and "Last runs" in blocks_text and "History" in blocks_text
    )
    # Dave is in none of its channels: for him the search does not exist.
    standin.send_command("U_DAVE", "C_GENERAL", f"search disable {search_id}")
    assert "No search with id or name `1`" in _said(standin, "U_DAVE", channel="C_GENERAL")
    standin.send_command("U_CAROL", "C_ALERTS", f"search disable {search_id}")
    assert "Only the owner" in _said(standin, "U_CAROL")
    standin.send_command("U_BOB", "C_ALERTS", f"search disable {search_id}")
    assert "disabled now" in _said(standin, "U_BOB", 3)
    standin.send_command("U_ALICE", "C_ALERTS", f"search edit {search_id} priority=critical")
    assert "updated" in _said(standin, "U_ALICE", 2)
    standin.send_command("U_ALICE", "C_ALERTS", f"search delete {search_id}")  # an admin
    # It asks first: a button whose confirm dialog names the search; nothing is deleted yet.
    question = wait_for(
        lambda: [e for e in standin.ephemerals("U_ALICE", "C_ALERTS") if "Delete search" in e.text],
        what="the question",
    )[-1]
    [button] = [
        el for b in question.blocks or [] for el in b.get("elements", []) if "confirm" in el
    ]
    assert "failed logins" in button["confirm"]["text"]["text"]
    with runtime.sessions() as session:
        live = session.get(Search, search_id)
        assert live is not None and live.deleted_at is None
    standin.click("U_ALICE", "C_ALERTS", question.ts, "search_delete", value=str(search_id))
    _said_with(standin, "U_ALICE", "is deleted")
    with runtime.sessions() as session:
        row = session.get(Search, search_id)
        assert row is not None and row.deleted_at is not None and not row.enabled
        reasons = [
            r.reason
            for r in session.scalars(
                select(SearchRevision).where(SearchRevision.search_id == search_id)
            )
        ]
    assert len(reasons) == 4  # created, disabled, edited, deleted


def test_it_lists_every_field_error_of_an_inline_definition(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    standin.send_command(
        "U_BOB",
        "C_ALERTS",
        'search create name=x source=file schedule="every never" priority=urgent',
    )
    text = _said(standin, "U_BOB")
    assert "`schedule`" in text and "`priority`" in text and "path" in text
    with runtime.sessions() as session:
        assert session.scalar(select(Search.id)) is None


def test_it_tests_a_search_after_acking_at_once(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    log = _log_file(tmp_path, lines=4)
    search_id = add_search(
        runtime, source_config={"path": str(log), "query": "outcome:failure"}, key_fields=["user"]
    )
    reply = standin.send_command("U_ALICE", "C_ALERTS", f"search test {search_id}")
    assert reply.ok and reply.elapsed < 3
    assert "Working on" in reply.body
    text = _said_with(standin, "U_ALICE", "hits")
    assert "*4* hits" in text and "*4* new alerts" in text
    standin.send_command(
        "U_ALICE", "C_ALERTS", f'search test source=file path={log} query="user:user1"'
    )
    _said_with(standin, "U_ALICE", "*1* hits")


def test_it_opens_the_create_modal_and_shows_per_field_errors(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    standin.send_command("U_ALICE", "C_ALERTS", "search create")
    modal = wait_for(lambda: standin.modal_stack("U_ALICE"), what="the modal")[-1]
    blocks = {b["block_id"] for b in modal.definition["blocks"]}
    assert {
        "name",
        "source",
        "source_config",
        "schedule",
        "condition",
        "priority",
        "channel",
        "owner",
        "oncall_group",
        "restricted_to",
    } <= blocks

    def text(value: str) -> dict[str, object]:
        return {"type": "plain_text_input", "value": value}

    # Choosing the file source swaps in its own settings (path, query, mode...).
    standin.click_in_view("U_ALICE", modal.id, "source", selected_option={"value": "file"})

    def file_settings() -> bool:
        view = standin.modal_stack("U_ALICE")[-1]
        return "sc.path" in {b["block_id"] for b in view.definition["blocks"]}

    wait_for(file_settings, what="the file source's settings")
    log = _log_file(tmp_path)
    values = {
        "name": {"name": text("ssh brute force")},
        "source": {"source": {"type": "static_select", "selected_option": {"value": "file"}}},
        "sc.path": {"sc.path": text(str(log))},  # required: Slack does not submit without it
        "sc.query": {"sc.query": text("outcome:(failure")},
        "schedule": {"schedule": text("every banana")},
    }
    reply = standin.submit_view("U_ALICE", modal.id, values)
    errors = reply.json()["errors"]
    assert set(errors) >= {"schedule", "sc.query"}  # each on its own input
    assert standin.modal_stack("U_ALICE")  # still open, showing the errors
    values["sc.query"] = {"sc.query": text("outcome:failure")}
    values["schedule"] = {"schedule": text("*/5 * * * *")}
    reply = standin.submit_view("U_ALICE", modal.id, values)
    assert reply.ok and not reply.body.strip()
    with runtime.sessions() as session:
        search = session.scalar(select(Search).where(Search.name == "ssh brute force"))
        assert search is not None and search.owner == "U_ALICE" and search.channel == "C_ALERTS"


def test_it_lists_open_alerts_with_buttons_that_work_from_the_ephemeral(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime)
    alert_ids = [add_alert(runtime, search_id, post=False, channel="C_ALERTS") for _ in range(3)]
    standin.send_command("U_BOB", "C_ALERTS", "alerts")
    listing = wait_for(lambda: standin.ephemerals("U_BOB", "C_ALERTS"))[0]
    assert all(
        f"A-{i}" in listing.text or f"A-{i}" in json.dumps(listing.blocks) for i in alert_ids
    )
    standin.click(
        "U_BOB",
        "C_ALERTS",
        listing.ts,
        "alert_take",
        value=str(alert_ids[0]),
        block_id=f"alert:{alert_ids[0]}:list",
    )
    assert "Done" in _said(standin, "U_BOB", 2)
    standin.send_command("U_BOB", "C_ALERTS", "alerts mine")
    mine = wait_for(
        lambda: (
            len(standin.ephemerals("U_BOB", "C_ALERTS")) >= 3
            and standin.ephemerals("U_BOB", "C_ALERTS")[2]
        )
    )
    assert f"A-{alert_ids[0]}" in json.dumps(mine.blocks) and f"A-{alert_ids[1]}" not in json.dumps(
        mine.blocks
    )


def test_it_suppresses_lists_and_lifts_a_key(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    search_id = add_search(runtime)
    standin.send_command(
        "U_BOB", "C_ALERTS", f'suppress {search_id} "user=bob" for 2h planned pentest'
    )
    assert "is silent for 2h" in _said(standin, "U_BOB")
    with runtime.sessions() as session:
        row = session.scalar(select(Suppression))
        assert row is not None and row.dedupe_key == "user=bob" and row.reason == "planned pentest"
        assert row.expires_at is not None and row.created_by == "U_BOB"
        suppression_id = row.id
    standin.send_command("U_BOB", "C_ALERTS", "suppressions")
    assert "`user=bob`" in _said(standin, "U_BOB", 2)
    standin.send_command("U_DAVE", "C_GENERAL", f"unsuppress {suppression_id}")
    assert "Only people in" in _said(standin, "U_DAVE", channel="C_GENERAL")
    standin.send_command("U_BOB", "C_ALERTS", f"unsuppress {suppression_id}")
    assert "is lifted" in _said(standin, "U_BOB", 3)
    with runtime.sessions() as session:
        lifted = session.get(Suppression, suppression_id)
        assert lifted is not None and lifted.lifted_by == "U_BOB"


def test_it_edits_a_search_in_its_modal_and_refuses_people_who_do_not_own_it(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, tmp_path: Path
) -> None:
    log = _log_file(tmp_path)
    search_id = add_search(runtime, source_config={"path": str(log)}, owner="U_BOB")
    standin.send_command("U_CAROL", "C_ALERTS", f"search edit {search_id}")
    assert "Only the owner" in _said(standin, "U_CAROL")
    assert not standin.modal_stack("U_CAROL")
    # Bob owns it, but its source reads the bot host's files: only an admin may change it.
    standin.send_command("U_BOB", "C_ALERTS", f"search edit {search_id}")
    modal = wait_for(lambda: standin.modal_stack("U_BOB"), what="the edit modal")[-1]
    reply = standin.submit_view("U_BOB", modal.id, dict(modal.state_values))
    assert "Only admins" in reply.json()["errors"]["source"]
    standin.send_command("U_ALICE", "C_ALERTS", f"search edit {search_id}")
    modal = wait_for(lambda: standin.modal_stack("U_ALICE"), what="the edit modal")[-1]
    blocks = {b["block_id"]: b["element"] for b in modal.definition["blocks"]}
    assert blocks["name"]["initial_value"] == "failed logins"
    assert blocks["priority"]["initial_option"]["value"] == "high"
    values = dict(modal.state_values)
    values["priority"] = {
        "priority": {"type": "static_select", "selected_option": {"value": "critical"}}
    }
    values["description"] = {
        "description": {"type": "plain_text_input", "value": "now with a description"}
    }
    reply = standin.submit_view("U_ALICE", modal.id, values)
    assert reply.ok and not reply.body.strip(), reply.body
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        assert search is not None and search.priority.value == "critical"
        assert search.description == "now with a description" and search.version == 2


def test_it_hands_digest_commands_to_the_digest(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    from bot.models import DigestSubscription

    standin.send_command("U_ALICE", "C_DIGEST", "digest subscribe 08:30 Europe/Paris")
    wait_for(lambda: standin.ephemerals("U_ALICE", "C_DIGEST"), what="the digest's answer")
    with runtime.sessions() as session:
        sub = session.scalar(select(DigestSubscription))
        assert sub is not None and sub.channel == "C_DIGEST" and sub.time_of_day == "08:30"
        assert sub.timezone == "Europe/Paris"
    standin.send_command("U_ALICE", "C_DIGEST", "digest")
    wait_for(lambda: len(standin.ephemerals("U_ALICE", "C_DIGEST")) >= 2, what="the subscription")
    # The answer is the only thing shown: no "working on it" notice before or after it.
    assert not [e for e in standin.ephemerals("U_ALICE", "C_DIGEST") if "Working on" in e.text]
