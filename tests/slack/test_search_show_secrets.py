"""`/411 search show` never shows a password or an auth header to the channel's users."""

from __future__ import annotations

from bot.runtime import Runtime
from standin import SlackStandIn
from tests.slack.conftest import BotServer, add_search, wait_for


def test_it_masks_passwords_and_auth_headers_in_the_definition(
    runtime: Runtime, standin: SlackStandIn, bot: BotServer
) -> None:
    sql_id = add_search(
        runtime,
        name="orders db",
        source="sql",
        source_config={
            "url": "postgresql+psycopg://reader:S3cretPw@db.example/app",
            "query": "select id from orders",
        },
    )
    http_id = add_search(
        runtime,
        name="status page",
        source="http",
        source_config={
            "url": "https://status.example/api",
            "headers": {"Authorization": "Bearer tok-123456"},
        },
    )
    for search_id in (sql_id, http_id):
        standin.send_command("U_ALICE", "C_ALERTS", f"search show {search_id}")
    shown = wait_for(
        lambda: (
            len(standin.ephemerals("U_ALICE", "C_ALERTS")) >= 2
            and standin.ephemerals("U_ALICE", "C_ALERTS")
        ),
        what="both definitions",
    )
    text = "\n".join(str(e.text) + str(e.blocks) for e in shown)
    assert "db.example/app" in text and "status.example" in text
    assert "S3cretPw" not in text
    assert "tok-123456" not in text
