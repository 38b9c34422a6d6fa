"""chat.* and conversations.* through the real slack_sdk WebClient."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin import SlackStandIn

from .conftest import TOKEN, alert_blocks


def error_of(call: Callable[..., Any], **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return str(caught.value.response["error"])


def test_it_answers_auth_test_with_the_bot_identity(client: WebClient) -> None:
    reply = client.auth_test()
    assert reply["user_id"] == "U_411BOT" and reply["team_id"] == "T0411" and reply["bot_id"]


def test_it_refuses_a_wrong_or_missing_token(standin: SlackStandIn) -> None:
    assert (
        error_of(WebClient(base_url=standin.api_url, token="xoxb-wrong").auth_test)
        == "invalid_auth"
    )
    assert error_of(WebClient(base_url=standin.api_url).auth_test) == "not_authed"


def test_it_stores_a_posted_message_with_increasing_unique_ts(
    client: WebClient, standin: SlackStandIn
) -> None:
    first = client.chat_postMessage(channel="C_ALERTS", text="one", blocks=alert_blocks())
    second = client.chat_postMessage(channel="#alerts", text="two")
    assert first["channel"] == second["channel"] == "C_ALERTS"
    assert float(first["ts"]) < float(second["ts"])
    assert len(first["ts"].split(".")[1]) == 6
    stored = standin.messages("C_ALERTS")
    assert [m["text"] for m in stored] == ["one", "two"]
    assert stored[0]["blocks"][2]["elements"][0]["action_id"] == "take"
    assert all(b.get("block_id") for b in stored[0]["blocks"]), "Slack gives every block an id"


def test_it_keeps_threads_with_reply_counts(client: WebClient, standin: SlackStandIn) -> None:
    parent = client.chat_postMessage(channel="C_ALERTS", text="alert")["ts"]
    client.chat_postMessage(channel="C_ALERTS", text="taken by bob", thread_ts=parent)
    client.chat_postMessage(
        channel="C_ALERTS", text="resolved", thread_ts=parent, reply_broadcast=True
    )
    history = client.conversations_history(channel="C_ALERTS")["messages"]
    assert [m["text"] for m in history] == ["resolved", "alert"], (
        "newest first, broadcast reply shown"
    )
    assert history[1]["reply_count"] == 2
    replies = client.conversations_replies(channel="C_ALERTS", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["alert", "taken by bob", "resolved"]
    assert [m["text"] for m in standin.replies("C_ALERTS", parent)] == ["taken by bob", "resolved"]


def test_it_refuses_a_reply_to_a_thread_that_does_not_exist(client: WebClient) -> None:
    assert (
        error_of(client.chat_postMessage, channel="C_ALERTS", text="x", thread_ts="1.000001")
        == "thread_not_found"
    )


def test_it_updates_a_message_in_place_and_marks_it_edited(
    client: WebClient, standin: SlackStandIn
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="open", blocks=alert_blocks())["ts"]
    reply = client.chat_update(channel="C_ALERTS", ts=ts, text="taken", blocks=alert_blocks()[:1])
    assert reply["ts"] == ts
    stored = standin.message("C_ALERTS", ts)
    assert stored is not None and stored["text"] == "taken" and len(stored["blocks"]) == 1
    assert "edited" in stored


def test_it_keeps_blocks_when_an_update_gives_only_text(
    client: WebClient, standin: SlackStandIn
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="open", blocks=alert_blocks())["ts"]
    client.chat_update(channel="C_ALERTS", ts=ts, text="still open")
    stored = standin.message("C_ALERTS", ts)
    assert stored is not None and len(stored["blocks"]) == 3


def test_it_refuses_to_update_or_delete_what_it_cannot(
    client: WebClient, standin: SlackStandIn
) -> None:
    human = standin.post_as_user("U_BOB", "C_ALERTS", "hello")
    assert (
        error_of(client.chat_update, channel="C_ALERTS", ts=human.ts, text="x")
        == "cant_update_message"
    )
    assert error_of(client.chat_delete, channel="C_ALERTS", ts=human.ts) == "cant_delete_message"
    assert (
        error_of(client.chat_update, channel="C_ALERTS", ts="1.000001", text="x")
        == "message_not_found"
    )
    assert (
        error_of(client.chat_update, channel="C_NOPE", ts=human.ts, text="x") == "channel_not_found"
    )


def test_it_deletes_a_message(client: WebClient, standin: SlackStandIn) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="bye")["ts"]
    client.chat_delete(channel="C_ALERTS", ts=ts)
    assert standin.messages("C_ALERTS") == []


def test_it_refuses_unknown_channels_and_empty_messages(client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C_NOPE", text="x") == "channel_not_found"
    with pytest.warns(UserWarning):  # slack_sdk itself warns about the missing text
        assert error_of(client.chat_postMessage, channel="C_ALERTS", text="") == "no_text"


def test_it_refuses_text_longer_than_slack_allows(client: WebClient) -> None:
    assert (
        error_of(client.chat_postMessage, channel="C_ALERTS", text="x" * 40_001) == "msg_too_long"
    )
    client.chat_postMessage(channel="C_ALERTS", text="x" * 40_000)


def test_it_refuses_blocks_that_are_not_a_json_array(standin: SlackStandIn) -> None:
    client = WebClient(base_url=standin.api_url, token=TOKEN)
    for blocks in ("{nope", '{"type": "divider"}'):
        params = {"channel": "C_ALERTS", "text": "x", "blocks": blocks}
        assert (
            error_of(client.api_call, api_method="chat.postMessage", params=params)
            == "invalid_blocks_format"
        )


def test_it_posts_ephemerals_only_to_channel_members(
    client: WebClient, standin: SlackStandIn
) -> None:
    reply = client.chat_postEphemeral(channel="C_ALERTS", user="U_BOB", text="only for bob")
    assert reply["message_ts"]
    assert [e.text for e in standin.ephemerals("U_BOB", "C_ALERTS")] == ["only for bob"]
    assert standin.ephemerals("U_ALICE") == []
    assert standin.messages("C_ALERTS") == []
    assert (
        error_of(client.chat_postEphemeral, channel="C_ALERTS", user="U_DAVE", text="x")
        == "user_not_in_channel"
    )
    assert (
        error_of(client.chat_postEphemeral, channel="C_ALERTS", user="U_NOBODY", text="x")
        == "user_not_found"
    )


def test_it_gives_permalinks_to_messages_and_replies(
    client: WebClient, standin: SlackStandIn
) -> None:
    ts = client.chat_postMessage(channel="C_ALERTS", text="x")["ts"]
    reply_ts = client.chat_postMessage(channel="C_ALERTS", text="y", thread_ts=ts)["ts"]
    link = client.chat_getPermalink(channel="C_ALERTS", message_ts=ts)["permalink"]
    assert link == f"{standin.url}archives/C_ALERTS/p{ts.replace('.', '')}"
    assert (
        f"thread_ts={ts}"
        in client.chat_getPermalink(channel="C_ALERTS", message_ts=reply_ts)["permalink"]
    )
    assert (
        error_of(client.chat_getPermalink, channel="C_ALERTS", message_ts="1.000001")
        == "message_not_found"
    )


def test_it_records_link_names_and_parse_so_tests_can_forbid_them(
    client: WebClient, standin: SlackStandIn
) -> None:
    client.chat_postMessage(channel="C_ALERTS", text="@here", link_names=True, parse="full")
    call = standin.calls("chat.postMessage")[-1]
    assert call.args["link_names"] in (True, "1", "true") and call.args["parse"] == "full"
    assert "token" not in call.args


def test_it_pages_history_with_cursors(client: WebClient) -> None:
    for i in range(5):
        client.chat_postMessage(channel="C_DIGEST", text=f"m{i}")
    first = client.conversations_history(channel="C_DIGEST", limit=3)
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel="C_DIGEST", limit=3, cursor=cursor)
    texts = [m["text"] for m in first["messages"] + second["messages"]]
    assert texts == ["m4", "m3", "m2", "m1", "m0"] and second["has_more"] is False


def test_it_posts_to_a_user_id_as_a_direct_message(client: WebClient) -> None:
    reply = client.chat_postMessage(channel="U_CAROL", text="your digest")
    info = client.conversations_info(channel=reply["channel"])["channel"]
    assert info["is_im"] is True and info["user"] == "U_CAROL"


def test_it_answers_directory_lookups_like_slack(client: WebClient, standin: SlackStandIn) -> None:
    assert client.users_info(user="U_ALICE")["user"]["is_admin"] is True
    assert error_of(client.users_info, user="U_NOBODY") == "user_not_found"
    assert {m["id"] for m in client.users_list()["members"]} >= {
        "U_ALICE",
        "U_BOB",
        "U_CAROL",
        "U_DAVE",
    }
    assert client.usergroups_users_list(usergroup="S_ONCALL")["users"] == ["U_ALICE", "U_BOB"]
    assert error_of(client.usergroups_users_list, usergroup="S_NOPE") == "no_such_subteam"
    assert client.conversations_info(channel="C_ALERTS")["channel"]["name"] == "alerts"
    standin.add_user("U_EVE", "eve", channels=("C_ALERTS",))
    standin.add_channel("C_SECRET", "secret", members=("U_EVE",), is_private=True)
    assert client.conversations_info(channel="C_SECRET")["channel"]["is_private"] is True
    assert client.users_info(user="U_EVE")["user"]["name"] == "eve"
    assert "U_EVE" in client.conversations_members(channel="C_ALERTS")["members"]
    assert "U_DAVE" not in client.conversations_members(channel="C_ALERTS")["members"]
    public = {c["id"] for c in client.conversations_list()["channels"]}
    assert {"C_ALERTS", "C_DIGEST", "C_GENERAL"} <= public and "C_SECRET" not in public
    private = client.conversations_list(types="private_channel")["channels"]
    assert [c["id"] for c in private] == ["C_SECRET"]
    oncall = next(
        g
        for g in client.usergroups_list(include_users=True)["usergroups"]
        if g["handle"] == "oncall"
    )
    assert oncall["id"] == "S_ONCALL" and oncall["users"] == ["U_ALICE", "U_BOB"]


def test_concurrent_posts_get_unique_ts_and_are_all_kept(
    client: WebClient, standin: SlackStandIn
) -> None:
    def post_ten(worker: int) -> list[str]:
        return [
            client.chat_postMessage(channel="C_ALERTS", text=f"{worker}-{i}")["ts"]
            for i in range(10)
        ]

    with ThreadPoolExecutor(max_workers=20) as pool:
        stamps = [ts for batch in pool.map(post_ten, range(20)) for ts in batch]
    assert len(set(stamps)) == 200
    assert len(standin.messages("C_ALERTS")) == 200
