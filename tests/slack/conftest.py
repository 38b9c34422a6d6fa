"""Fixtures for the Slack surface: the stand-in, the bot's WSGI app on a real port, a runtime.

The bot is the real one: `build_app` + `build_wsgi_app` served by waitress on a
free loopback port; the stand-in sends it signed requests and answers its Web
API calls. The database is the shared `db_url` fixture (SQLite and Postgres).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from waitress.server import create_server

from bot.config import ClusterConfig, Settings
from bot.db import make_engine
from bot.deliveries import outbox
from bot.deliveries.loop import DeliveryLoop
from bot.models import Alert, Delivery, DeliveryStatus, Priority, Search
from bot.runtime import Runtime
from bot.slack.app import build_app
from bot.slack.web import build_wsgi_app
from standin import RateLimits, SlackStandIn

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def make_runtime(db_url: str, api_url: str, **overrides: Any) -> Runtime:
    settings = Settings(
        database_url=db_url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        admins=("U_ALICE",),
        **overrides,
    )
    return Runtime(settings=settings, engine=make_engine(db_url))


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    # Generous limits by default; the rate-limit tests make their own stand-in.
    stand = SlackStandIn(
        SECRET, TOKEN, rate_limits=RateLimits(post_burst=50, post_per_channel_per_second=50)
    )
    stand.start()
    yield stand
    stand.stop()


@pytest.fixture
def runtime(db_url: str, standin: SlackStandIn) -> Iterator[Runtime]:
    rt = make_runtime(db_url, standin.api_url)
    yield rt
    rt.engine.dispose()


@dataclass
class BotServer:
    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


def serve_bot(runtime: Runtime, standin: SlackStandIn, **app_options: Any) -> BotServer:
    app = build_app(runtime, **app_options)
    wsgi = build_wsgi_app(runtime, app)
    server = create_server(
        wsgi, host="127.0.0.1", port=0, threads=24, clear_untrusted_proxy_headers=True
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    port = getattr(server, "effective_port")  # noqa: B009  (a TcpWSGIServer: one socket)
    url = f"http://127.0.0.1:{port}/slack/events"
    standin.set_bot_url(url)
    return BotServer(url, server, thread)


@pytest.fixture
def bot(runtime: Runtime, standin: SlackStandIn) -> Iterator[BotServer]:
    server = serve_bot(runtime, standin)
    yield server
    server.stop()


@pytest.fixture
def es_runtime(db_url: str, standin: SlackStandIn, es_url: str) -> Iterator[Runtime]:
    """A runtime whose cluster "default" is the test Elasticsearch (9.x)."""
    clusters = {"default": ClusterConfig(name="default", url=es_url)}
    runtime = make_runtime(db_url, standin.api_url, clusters=clusters)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def es_bot(es_runtime: Runtime, standin: SlackStandIn) -> Iterator[BotServer]:
    server = serve_bot(es_runtime, standin)
    yield server
    server.stop()


@pytest.fixture
def loop(runtime: Runtime) -> DeliveryLoop:
    return DeliveryLoop(
        runtime, base_backoff=0.05, max_backoff=0.2, posts_per_second=50, post_burst=50
    )


def drain(loop: DeliveryLoop, timeout: float = 15.0) -> None:
    """Run the loop until nothing is pending or sending (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loop.run_once()
        with loop.runtime.sessions() as session:
            busy = session.scalar(
                select(Delivery.id).where(
                    Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
                )
            )
        if busy is None:
            return
        time.sleep(0.02)
    raise AssertionError("deliveries still pending after the timeout")


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def add_search(runtime: Runtime, **fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "failed logins",
        "source": "file",
        "source_config": {"path": "/dev/null"},
        "schedule": "every 5m",
        "owner": "U_CAROL",
        "channel": "C_ALERTS",
        "priority": Priority.HIGH,
        "key_fields": ["user"],
    }
    values.update(fields)
    with runtime.sessions.begin() as session:
        search = Search(**values)
        session.add(search)
        session.flush()
        return search.id


def add_alert(runtime: Runtime, search_id: int, *, post: bool = True, **fields: Any) -> int:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "search_id": search_id,
        "dedupe_key": f"user=bob-{time.monotonic_ns()}",
        "title": "bob failed to log in 12 times",
        "body": "sshd: Failed password for bob from 10.0.0.7",
        "content": {"user": "bob", "source_ip": "10.0.0.7"},
        "priority": Priority.HIGH,
        "first_seen": now,
        "last_seen": now,
        "occurrences": 12,
    }
    values.update(fields)
    with runtime.sessions.begin() as session:
        alert = Alert(**values)
        session.add(alert)
        session.flush()
        if post:
            outbox.enqueue_alert_post(session, alert, "C_ALERTS")
        return alert.id


def get_alert(runtime: Runtime, alert_id: int) -> Alert:
    with runtime.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert
