"""`/411` is declared with should_escape: true; the stand-in rewrites mentions like Slack."""

from __future__ import annotations

import time

import pytest

from standin import SlackStandIn
from standin.escaping import escape_command_text
from standin.state import Workspace

from .conftest import SECRET, TOKEN, Receiver


@pytest.fixture
def workspace() -> Workspace:
    return Workspace(clock=time.time)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("channel=#alerts owner=@carol", "channel=<#C_ALERTS|alerts> owner=<@U_CAROL|carol>"),
        ("oncall_group=@oncall", "oncall_group=<!subteam^S_ONCALL|@oncall>"),
        (
            "restricted_to=@alice,@security",
            "restricted_to=<@U_ALICE|alice>,<!subteam^S_SECURITY|@security>",
        ),
        ("ping @here and @Channel", "ping <!here> and <!channel>"),
        ("ask @bob.", "ask <@U_BOB|bob>."),
        ("#Digest", "<#C_DIGEST|digest>"),
        # Typed angle brackets and ampersands arrive as entities, so they can never
        # be mistaken for a control sequence; full URLs arrive as links.
        ("query=status:>=500 & <@U_BOB>", "query=status:&gt;=500 &amp; &lt;@U_BOB&gt;"),
        ("url=https://x.example/a?b=1", "url=<https://x.example/a?b=1>"),
    ],
)
def test_it_escapes_known_channels_people_and_groups(
    workspace: Workspace, typed: str, sent: str
) -> None:
    assert escape_command_text(workspace, typed) == sent


@pytest.mark.parametrize(
    "typed",
    [
        "owner=@nobody channel=#nowhere",
        "mail bob@example.com about issue#42",
        'query="status:500 AND path:/login"',
    ],
)
def test_it_leaves_unknown_names_words_and_escaped_mentions_as_typed(
    workspace: Workspace, typed: str
) -> None:
    assert escape_command_text(workspace, typed) == typed


def test_it_sends_the_escaped_text_to_the_bot(standin: SlackStandIn, receiver: Receiver) -> None:
    standin.send_command("U_ALICE", "C_GENERAL", "search create channel=#alerts owner=@carol")
    assert receiver.requests[-1].form["text"] == (
        "search create channel=<#C_ALERTS|alerts> owner=<@U_CAROL|carol>"
    )


def test_a_command_declared_without_escaping_gets_the_text_as_typed(receiver: Receiver) -> None:
    with SlackStandIn(SECRET, TOKEN, receiver.url, should_escape=False) as standin:
        standin.send_command("U_ALICE", "C_GENERAL", "owner=@carol")
    assert receiver.requests[-1].form["text"] == "owner=@carol"
