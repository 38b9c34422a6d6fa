"""One escaping path: hostile text everywhere, and nothing of it acts in Slack.

Every piece of foreign text (search name and description, alert title, body, fields and
key, notes, reasons, source errors, what someone typed) carries Slack's control forms and
a right-to-left override. The scenario walks the message builders through the real bot
and the stand-in (alert posts and updates, thread replies, DMs, ephemerals, App Home,
modals, the digest) and then reads every text the bot sent: no ``<!``, ``<@``, ``<#``,
``<http``, ``<mailto`` form survives but those the bot wrote itself, and no bidi control.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.deliveries.loop import DeliveryLoop
from bot.digest.scheduler import DigestScheduler
from bot.messages.burst import burst_listing, burst_summary
from bot.messages.ids import ActionId, MoreChoice
from bot.models import Alert, DigestSubscription, Resolution, Search, utcnow
from bot.runs.runner import run_search
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for

HOSTILE = (
    "<!here> <!channel|EVIL> <!everyone> <@U_EVIL> <#C_EVIL> <!subteam^S_EVIL> "
    "<https://evil.example/login|411: re-authenticate here> <mailto:evil@example.com|EVIL> "
    "\u202eEVIL\u2066 *bold* `tick` &amp;"
)
_FORM = re.compile(r"<((?:[!@#]|https?:|mailto:)[^<>]*)>")  # Slack's control forms
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# What the bot itself writes: mentions of real IDs, channels, dates, its groups, its links.
_OURS = re.compile(
    r"^(@U_(ALICE|BOB|CAROL|DAVE)|#C_(ALERTS|DIGEST|GENERAL)|!date\^\d+\^[^|]*\|[^<>]*"
    r"|!subteam\^S_ONCALL|http://127\.0\.0\.1:\d+/archives/[^|]+\|[^<>]*)$"
)


def _mrkdwn_texts(value: Any, plain: bool = False) -> Iterator[tuple[str, bool]]:
    """Every displayed text in a payload, with whether Slack reads it as plain text."""
    if isinstance(value, dict):
        is_plain = value.get("type") == "plain_text"
        for key, item in value.items():
            if key in ("text", "initial_comment", "title", "alt_text") and isinstance(item, str):
                yield item, is_plain or plain or key in ("title", "alt_text")
            elif key not in ("private_metadata", "value", "url", "action_id", "block_id"):
                yield from _mrkdwn_texts(item, plain)
    elif isinstance(value, list):
        for item in value:
            yield from _mrkdwn_texts(item, plain)
    elif isinstance(value, str) and value.startswith(("{", "[")):
        try:  # Web API arguments arrive as JSON strings (blocks, view)
            yield from _mrkdwn_texts(json.loads(value), plain)
        except ValueError:
            return


def _everything_sent(standin: SlackStandIn) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    for call in standin.calls():
        found.extend(_mrkdwn_texts(call.args))
    for ephemeral in standin.workspace.ephemerals:
        if not ephemeral.from_slack:
            found.extend(_mrkdwn_texts(ephemeral.to_api()))
    return found


def _hostile_forms(texts: list[tuple[str, bool]]) -> list[str]:
    bad = []
    for text, plain in texts:
        if _BIDI.search(text):
            bad.append(f"bidi control in {text[:80]!r}")
        if plain:
            continue  # plain_text shows "<!here>" as it is: nothing to escape there
        bad.extend(
            f"{form.group(0)!r} in {text[:120]!r}"
            for form in _FORM.finditer(text)
            if not _OURS.match(form.group(1))
        )
    return bad


def _burst_texts(runtime: Runtime, search_id: int) -> list[tuple[str, bool]]:
    """A burst's summary and listing (the delivery loop renders them from these builders)."""
    with runtime.sessions() as session:
        search = session.get(Search, search_id)
        alerts = list(session.scalars(select(Alert).where(Alert.search_id == search_id)))
        summary = burst_summary(1, search, alerts)
        listing = burst_listing(alerts)
    return [*_mrkdwn_texts(summary.as_kwargs()), *_mrkdwn_texts(listing.as_kwargs())]


def _command(standin: SlackStandIn, user: str, channel: str, text: str) -> None:
    before = len(standin.ephemerals(user, channel))
    assert standin.send_command(user, channel, text).ok
    wait_for(lambda: len(standin.ephemerals(user, channel)) > before, what=text)


def test_no_foreign_text_acts_in_slack_anywhere_the_bot_writes(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer, loop: DeliveryLoop
) -> None:
    search_id = add_search(
        runtime,
        name=f"scraper {HOSTILE}"[:200],
        description=HOSTILE,
        oncall_group="S_ONCALL",
        owner="U_BOB",
        source_config={"path": f"/nonexistent/{HOSTILE}.log"},
        failure_threshold=1,
        key_fields=["user"],
    )
    content = {"user": HOSTILE, HOSTILE[:40]: HOSTILE, "nested": {"ip": HOSTILE}}
    alert_id = add_alert(runtime, search_id, title=HOSTILE, body=HOSTILE, content=content,
                         dedupe_key=f"user={HOSTILE}")  # fmt: skip
    drain(loop)
    ts = get_alert(runtime, alert_id).message_ts
    assert ts
    # Buttons, menus and modals on the alert, with hostile notes and reasons.
    standin.click("U_CAROL", "C_ALERTS", ts, ActionId.TAKE, value=str(alert_id))
    standin.click("U_CAROL", "C_ALERTS", ts, ActionId.ASSIGN, selected_user="U_BOB")
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.MORE,
                  selected_option=f"{MoreChoice.NOTE.value}:{alert_id}")  # fmt: skip
    note = wait_for(lambda: standin.modal_stack("U_BOB"), what="the note modal")[-1]
    standin.submit_view("U_BOB", note.id, {"note": {"note": {"type": "plain_text_input",
                                                             "value": HOSTILE}}})  # fmt: skip
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.MORE,
                  selected_option=f"{MoreChoice.MUTE.value}:{alert_id}")  # fmt: skip
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.RESOLVE, value=str(alert_id))
    modal = wait_for(
        lambda: [
            v for v in standin.modal_stack("U_BOB") if "resolve" in v.definition["callback_id"]
        ],
        what="the resolve modal",
    )[-1]
    standin.submit_view("U_BOB", modal.id, {
        "resolution": {"resolution": {"type": "radio_buttons",
                                      "selected_option": {"value": Resolution.ACTION_TAKEN.value}}},
        "note": {"note": {"type": "plain_text_input", "value": HOSTILE}},
    })  # fmt: skip
    wait_for(lambda: not get_alert(runtime, alert_id).is_open, what="the resolve")
    drain(loop)
    standin.click("U_BOB", "C_ALERTS", ts, ActionId.REOPEN, value=str(alert_id))
    wait_for(lambda: get_alert(runtime, alert_id).is_open, what="the reopen")
    # Slash commands that echo what was typed or show foreign text.
    for command in (
        "alerts open",
        f"alerts search {HOSTILE}",
        f"search show {HOSTILE}",
        f"search show {search_id}",
        "search list",
        f"suppress {search_id} {HOSTILE} for 1h {HOSTILE}",
        f"suppress {search_id} #{alert_id} for 1h {HOSTILE}",
        "suppressions",
        f"unsuppress {HOSTILE}",
        HOSTILE,
        f"digest subscribe {HOSTILE}",
    ):
        _command(standin, "U_BOB", "C_ALERTS", command)
    # A failing run: the owner's DM quotes the source's error, which names the path.
    run_search(runtime, search_id)
    # App Home and the digest of #alerts.
    with runtime.sessions.begin() as session:
        session.execute(update(Search).values(consecutive_failures=2))
        session.add(DigestSubscription(channel="C_ALERTS", time_of_day="00:00", timezone="UTC",
                                       created_at=utcnow() - timedelta(days=2)))  # fmt: skip
    standin.open_home("U_BOB")
    wait_for(lambda: standin.home_view("U_BOB"), what="the home view")
    assert DigestScheduler(runtime).run_once(utcnow()) == 1
    drain(loop)
    wait_for(lambda: standin.messages("D_BOB"), what="the owner's DMs")

    sent = _everything_sent(standin) + _burst_texts(runtime, search_id)
    assert len(sent) > 50  # the scenario reached the builders
    assert any("EVIL" in text for text, _ in sent)  # hostile text was shown, escaped
    assert _hostile_forms(sent) == []
