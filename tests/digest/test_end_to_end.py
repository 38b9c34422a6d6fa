"""The digest through the real parts: `/411 digest` typed in the Slack stand-in, the
scheduler, the delivery loop, and what people see in the stand-in's channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.deliveries.loop import DeliveryLoop
from bot.digest.scheduler import DigestScheduler
from bot.models import (
    Alert,
    Delivery,
    DigestSubscription,
    Priority,
    utcnow,
)
from bot.runtime import Runtime
from standin import SlackStandIn
from tests.digest.conftest import NOW, add_search, build_world
from tests.digest.test_chart import png_size
from tests.slack.conftest import BotServer, drain, make_runtime, serve_bot, wait_for
from tests.slack.conftest import standin as standin  # the Slack tests' stand-in fixture


@pytest.fixture
def slack_runtime(db_url: str, standin: SlackStandIn) -> Iterator[Runtime]:
    runtime = make_runtime(db_url, standin.api_url, timezone="UTC")
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def bot(slack_runtime: Runtime, standin: SlackStandIn) -> Iterator[BotServer]:
    server = serve_bot(slack_runtime, standin)
    yield server
    server.stop()


def test_a_channel_subscribes_and_gets_its_digest_with_its_chart_and_details(
    slack_runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    standin.send_command("U_ALICE", "C_DIGEST", "digest subscribe 09:00 UTC")
    said = wait_for(
        lambda: [e for e in standin.ephemerals("U_ALICE", "C_DIGEST") if "Subscribed" in e.text],
        what="the subscribe reply",
    )
    assert "daily digest at 09:00" in said[0].text
    with slack_runtime.sessions() as session:
        sub = session.scalar(select(DigestSubscription))
        assert sub is not None and sub.channel == "C_DIGEST"
        sub.created_at = NOW - timedelta(days=3)  # subscribed days before the fixture's NOW
        build_world(session)

    assert DigestScheduler(slack_runtime).run_once(NOW + timedelta(minutes=1)) == 1
    loop = DeliveryLoop(
        slack_runtime, base_backoff=0.05, max_backoff=0.2, posts_per_second=50, post_burst=50
    )
    drain(loop)

    top = [m for m in standin.messages("C_DIGEST") if "daily digest" in m.get("text", "")]
    assert len(top) == 1
    # The restricted search's open alert (b3) is not for everyone in #digest: not counted.
    assert "5 new, 5 resolved, 3 still open" in top[0]["text"]
    assert top[0]["blocks"][0]["type"] == "header"
    replies = standin.replies("C_DIGEST", top[0]["ts"])
    texts = [r.get("text", "") for r in replies]
    assert any("Noisiest searches" in t for t in texts)
    assert not any("<!channel>" in t for t in texts)  # escaped on the way out

    # The chart is in the post itself: an image block of a file uploaded (once) unshared.
    [image] = [b for b in top[0]["blocks"] if b["type"] == "image"]
    file_id = image["slack_file"]["id"]
    assert image["image_url"].endswith(f"/files/{file_id}")
    assert png_size(standin.file_bytes(file_id) or b"") == (1200, 700)
    assert len(standin.calls("files.completeUploadExternal")) == 1
    files_anywhere = [f for m in standin.messages("C_DIGEST") for f in m.get("files", [])]
    assert files_anywhere + [f for r in replies for f in r.get("files", [])] == []

    # The next rounds, in this process or another, post nothing more.
    assert DigestScheduler(slack_runtime).run_once(NOW + timedelta(minutes=5)) == 0


def test_preview_answers_the_caller_alone_with_the_chart_inline(
    slack_runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    with slack_runtime.sessions() as session:
        search = add_search(session, "preview-search", channel="C_ALERTS")  # Bob is in it
        session.add(
            Alert(
                search_id=search.id,
                dedupe_key="k",
                priority=Priority.HIGH,
                title="fresh",
                created_at=utcnow() - timedelta(hours=1),
            )
        )
        session.commit()
    standin.send_command("U_BOB", "C_DIGEST", "digest preview")
    said = wait_for(
        lambda: [e for e in standin.ephemerals("U_BOB", "C_DIGEST") if "daily digest" in e.text],
        what="the preview",
    )
    assert "1 new, 0 resolved, 1 still open" in said[0].text
    assert standin.messages("C_DIGEST") == []  # nothing in the channel
    # The chart is in the answer itself, an unshared upload: no DM, nothing to deliver.
    [image] = [b for b in said[0].blocks or [] if b["type"] == "image"]
    files = [f for f in standin.workspace.files.values() if f.name.endswith(".png")]
    assert len(files) == 1 and not files[0].shares
    assert image["slack_file"] == {"id": files[0].id}
    assert png_size(standin.file_bytes(files[0].id) or b"") == (1200, 700)
    with slack_runtime.sessions() as session:
        assert session.scalars(select(Delivery)).all() == []
