"""Untrusted log content never pings, links or formats, and never breaks Slack's limits."""

from __future__ import annotations

import json
import random
import string

import pytest
from sqlalchemy import select

from bot.deliveries.loop import DeliveryLoop
from bot.messages import limits
from bot.messages.blocks import alert_message
from bot.messages.burst import burst_listing, burst_summary
from bot.models import Alert, Priority, Search
from bot.runtime import Runtime
from bot.text.escape import code, escape_mrkdwn, truncate
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_alert, add_search, drain, get_alert, wait_for

HOSTILE = "<!channel> <!here> <!everyone> <@U123> <!subteam^S1> <#C1> <http://evil.example|click> *bold* _it_ ~s~ `tick` & done"
CONTROL = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<!subteam^S1>",
    "<#C1>",
    "<http://evil",
]


def test_it_escapes_exactly_the_three_characters_slack_names() -> None:
    assert escape_mrkdwn("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


def test_it_truncates_with_a_visible_marker_and_never_splits_an_entity() -> None:
    assert truncate("x" * 10, 10) == "x" * 10
    cut = truncate("x" * 100, 50)
    assert len(cut) == 50 and cut.endswith("[truncated]")
    cut = truncate("ab&amp;" * 20, 40)
    assert "&am…" not in cut and not cut.replace("… [truncated]", "").endswith(
        ("&", "&a", "&am", "&amp")
    )


def test_it_puts_raw_values_in_code_spans_that_cannot_be_broken_out_of() -> None:
    span = code("x` <!channel> *y*\nz")
    assert span.startswith("`") and span.endswith("`") and span.count("`") == 2
    assert "<!channel>" not in span and "\n" not in span
    assert code("") == "_(empty)_"


def _alert(**fields: object) -> tuple[Alert, Search]:
    search = Search(
        id=1,
        name=HOSTILE,
        source="file",
        schedule="every 5m",
        key_fields=["user"],
        runbook_url="javascript:alert(1)",
    )
    values: dict[str, object] = {
        "id": 7,
        "search_id": 1,
        "dedupe_key": HOSTILE,
        "title": HOSTILE,
        "body": HOSTILE,
        "content": {"user": HOSTILE, HOSTILE: HOSTILE},
        "priority": Priority.HIGH,
        "occurrences": 3,
        "link": "http://x.example/<!channel>",
    }
    values.update(fields)
    return Alert(**values), search


def _mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn text: the only place Slack turns ``<...>`` into mentions and links."""
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [str(node.get("text"))] if node.get("type") == "mrkdwn" else []
    return found + [
        t
        for key, value in node.items()
        if key != "text" or not isinstance(value, str)
        for t in _mrkdwn_texts(value)
    ]


def _assert_inert(payload: dict[str, object]) -> None:
    texts = [str(payload.get("text", "")), *_mrkdwn_texts(payload.get("blocks") or [])]
    assert len(texts) > 3
    for text in texts:
        for control in CONTROL:
            assert control not in text, (control, text)


def test_it_renders_hostile_content_inert_in_every_text_of_the_message() -> None:
    alert, search = _alert()
    message = alert_message(alert, search).as_kwargs()
    _assert_inert(message)
    assert not limits.check_message(message)
    blob = json.dumps(message)
    assert "javascript:" not in blob  # only http(s) links become buttons
    mrkdwn = [
        b["text"]
        for b in message["blocks"]
        if b.get("type") == "section" and b.get("text", {}).get("type") == "mrkdwn"
    ]
    mrkdwn += [f for b in message["blocks"] for f in b.get("fields", [])]
    assert mrkdwn and all(t["verbatim"] for t in mrkdwn)
    # *bold* from the data sits in plain_text or inside a code span, where Slack does not format.
    fields = [f["text"] for b in message["blocks"] for f in b.get("fields", [])]
    assert any("`&lt;!channel&gt;" in f and "*bold*" in f for f in fields)


@pytest.mark.parametrize("seed", range(5))
def test_it_keeps_any_alert_within_slacks_limits(seed: int) -> None:
    rng = random.Random(seed)

    def junk(n: int) -> str:
        return "".join(rng.choice(string.printable + '<>&`*_~"\\é😀') for _ in range(n))

    content = {
        junk(rng.randint(1, 300)): junk(rng.randint(0, 20_000)) for _ in range(rng.randint(0, 300))
    }
    alert, search = _alert(
        title=junk(20_000), body=junk(200_000), content=content, dedupe_key=junk(255)
    )
    search.key_fields = list(content)[:50]
    search.name = junk(200)
    message = alert_message(alert, search).as_kwargs()
    assert limits.check_message(message) == []
    assert "[truncated]" in json.dumps(message, ensure_ascii=False)
    listing = burst_listing([_alert(id=i, title=junk(5000))[0] for i in range(10)]).as_kwargs()
    assert limits.check_message(listing) == []
    summary = burst_summary(1, search, [alert]).as_kwargs()
    assert limits.check_message(summary) == []


def test_the_validator_names_what_breaks_a_limit() -> None:
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    assert "51 blocks, at most 50" in limits.check_message(too_many)[0]
    long_header = {
        "text": "x",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    }
    assert "outside 1..150" in limits.check_message(long_header)[0]
    assert limits.check_message({"blocks": []}) == [
        "top-level text is missing (notification fallback)"
    ]
    assert limits.check_message({"text": "x", "link_names": True})


def test_hostile_and_huge_alerts_reach_the_channel_inert_through_the_stand_in(
    runtime: Runtime, standin: SlackStandIn, loop: DeliveryLoop
) -> None:
    search_id = add_search(runtime, key_fields=["user"])
    huge = {f"field{i}": "v" * 50_000 for i in range(40)}
    alert_id = add_alert(
        runtime,
        search_id,
        title=HOSTILE * 200,
        body=HOSTILE * 5000,
        content={"user": HOSTILE, **huge},
    )
    drain(loop)
    assert get_alert(runtime, alert_id).message_ts  # Slack (the stand-in) accepted it
    (message,) = standin.messages("C_ALERTS")
    _assert_inert(message)
    for call in standin.calls("chat.postMessage"):
        assert not call.args.get("link_names") and call.args.get("parse") != "full"


def test_a_hostile_title_template_is_refused_on_save_from_slack(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    hostile = "{{ 'x' * 10**9 }}"
    standin.send_command(
        "U_ALICE",
        "C_ALERTS",
        f'search create name=bomb source=file path=/tmp/x.log schedule="every 5m" '
        f'title_template="{hostile}"',
    )
    said = wait_for(lambda: standin.ephemerals("U_ALICE", "C_ALERTS"), what="the refusal")
    assert "title_template" in said[-1].text and "`**` is not allowed" in said[-1].text
    with runtime.sessions() as session:
        assert session.scalar(select(Search.id)) is None  # nothing saved
