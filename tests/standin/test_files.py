"""The files upload v2 flow, driven by slack_sdk's own `files_upload_v2`."""

from __future__ import annotations

import struct
import urllib.request
import zlib

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from standin import SlackStandIn


def tiny_png() -> bytes:
    """A valid 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_it_takes_an_upload_and_shows_the_file_in_the_channel(
    client: WebClient, standin: SlackStandIn
) -> None:
    png = tiny_png()
    reply = client.files_upload_v2(
        channel="C_DIGEST",
        content=png,
        filename="alerts.png",
        title="Alerts per day",
        initial_comment="Daily digest",
    )
    file_id = reply["file"]["id"]
    assert standin.file_bytes(file_id) == png
    [message] = standin.messages("C_DIGEST")
    assert message["text"] == "Daily digest"
    assert message["files"][0]["id"] == file_id and message["files"][0]["title"] == "Alerts per day"
    with urllib.request.urlopen(message["files"][0]["url_private"]) as served:
        assert served.headers["Content-Type"] == "image/png"
        assert served.read() == png


def test_it_shares_a_file_into_a_thread(client: WebClient, standin: SlackStandIn) -> None:
    parent = client.chat_postMessage(channel="C_ALERTS", text="alert")["ts"]
    client.files_upload_v2(
        channel="C_ALERTS", content=b"raw,data\n1,2\n", filename="raw.csv", thread_ts=parent
    )
    [reply] = standin.replies("C_ALERTS", parent)
    assert reply["files"][0]["name"] == "raw.csv"


def test_it_refuses_to_complete_an_upload_that_never_happened(client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="x.png", length=10)["file_id"]
    with pytest.raises(SlackApiError, match="file_not_found"):
        client.files_completeUploadExternal(
            files=[{"id": file_id, "title": "x"}], channel_id="C_ALERTS"
        )


def test_it_hands_out_local_upload_urls(client: WebClient, standin: SlackStandIn) -> None:
    reply = client.files_getUploadURLExternal(filename="x.png", length=10)
    assert reply["upload_url"].startswith(f"{standin.url}upload/")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.files_getUploadURLExternal(filename="x.png", length=0)


def _image_block(file_id: str) -> list[dict[str, object]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Daily digest"}},
        {"type": "image", "slack_file": {"id": file_id}, "alt_text": "alerts per day"},
    ]


def test_it_shows_an_unshared_upload_in_an_image_block_as_slack_does(
    client: WebClient, standin: SlackStandIn
) -> None:
    png = tiny_png()
    uploaded = client.files_upload_v2(content=png, filename="chart.png", title="Chart")
    file_id = uploaded["files"][0]["id"]
    assert standin.messages("C_DIGEST") == []  # not shared: no file message anywhere
    posted = client.chat_postMessage(
        channel="C_DIGEST", text="digest", blocks=_image_block(file_id)
    )
    image = posted["message"]["blocks"][1]
    assert image["slack_file"] == {"id": file_id}
    assert image["image_url"] == f"{standin.api_url.removesuffix('api/')}files/{file_id}"
    with urllib.request.urlopen(image["image_url"]) as response:  # the page loads it from here
        assert response.read() == png


def test_it_refuses_an_image_block_naming_a_file_that_is_missing_or_not_an_image(
    client: WebClient, standin: SlackStandIn
) -> None:
    with pytest.raises(SlackApiError) as missing:
        client.chat_postMessage(channel="C_DIGEST", text="x", blocks=_image_block("F_NOPE"))
    assert missing.value.response["error"] == "invalid_blocks"
    assert "invalid slack file" in str(missing.value.response["response_metadata"])
    text = client.files_upload_v2(content=b"just text", filename="notes.txt")["files"][0]["id"]
    with pytest.raises(SlackApiError) as not_image:
        client.chat_postMessage(channel="C_DIGEST", text="x", blocks=_image_block(text))
    assert "not an image" in str(not_image.value.response["response_metadata"])
    assert standin.messages("C_DIGEST") == []


def test_a_file_is_shared_only_by_conversation_id_and_where_the_bot_is_a_member(
    client: WebClient, standin: SlackStandIn
) -> None:
    """As real Slack: a user ID is not a conversation (open the DM first), and sharing a
    file needs membership, which chat:write.public does not give (join the channel first)."""
    from standin.model import BOT_USER_ID

    png = tiny_png()
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="U_BOB", content=png, filename="chart.png")
    assert refused.value.response["error"] == "invalid_channel"
    standin.add_channel("C_OPEN", "open", members=("U_BOB",))
    standin.workspace.channels["C_OPEN"].members.discard(BOT_USER_ID)
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="C_OPEN", content=png, filename="chart.png")
    assert refused.value.response["error"] == "not_in_channel"
    assert standin.messages("C_OPEN") == []
    # The ways in: conversations.open for a DM, conversations.join for a public channel.
    dm = client.conversations_open(users="U_BOB")["channel"]["id"]
    client.files_upload_v2(channel=dm, content=png, filename="chart.png")
    assert client.conversations_join(channel="C_OPEN")["channel"]["is_member"] is True
    client.files_upload_v2(channel="C_OPEN", content=png, filename="chart.png")
    assert [len(m.get("files", [])) for m in standin.messages("C_OPEN")] == [1]
    standin.add_channel("G_HUSH", "hush", members=("U_BOB",), is_private=True)
    standin.workspace.channels["G_HUSH"].members.discard(BOT_USER_ID)
    with pytest.raises(SlackApiError) as refused:
        client.conversations_join(channel="G_HUSH")
    assert refused.value.response["error"] == "method_not_supported_for_channel_type"
