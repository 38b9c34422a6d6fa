"""The one Bolt app: middleware, the central error handler, and every listener.

Listeners are thin: ack first (every one acks well within Slack's 3 seconds, and
slow work such as an Elasticsearch query runs after the ack on Bolt's listener
thread pool), parse into typed values, call a service function, render.
"""

from __future__ import annotations

import importlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot.slack.feedback import tell_user
from bot.slack.services import Services, UnitOfWork, actor_from

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
BOLT_LOGGER = "bot.slack.bolt"

# Each has ``register(app)``; one module per surface.
LISTENER_MODULES = [
    "bot.slack.alert_listeners",
    "bot.slack.alert_extras",
    "bot.slack.assign_menu",
    "bot.slack.search_listeners",
    "bot.slack.search_delete",
    "bot.slack.sigma_modal",
    "bot.slack.home",
    "bot.slack.commands.router",
]


def build_app(
    runtime: Runtime,
    *,
    client: WebClient | None = None,
    token_verification: bool = True,
    socket_mode: bool = False,
    listener_threads: int = 32,
) -> App:
    """The Bolt app; ``token_verification`` calls auth.test at start (Slack or the stand-in)."""
    settings = runtime.settings
    client = client or runtime.slack_client()
    # Only the client: it carries the token and the base URL (Slack or the stand-in);
    # Bolt warns at every start when it is given a token as well.
    bolt_log = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(f, _ClientTokenNotice) for f in bolt_log.filters):
        bolt_log.addFilter(_ClientTokenNotice())
    app = App(
        signing_secret=None if socket_mode else settings.slack_signing_secret,
        client=client,
        token_verification_enabled=token_verification,
        request_verification_enabled=not socket_mode,
        # Ack in the request thread, work after: the response to Slack never waits for work.
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=listener_threads, thread_name_prefix="bolt"
        ),
        logger=bolt_log,
    )
    services = Services.create(runtime, client)

    @app.middleware
    def hand_over(context: Any, body: dict[str, Any], next: Any) -> None:
        context["services"] = services
        context["db"] = UnitOfWork(runtime)
        context["actor"] = actor_from(body)
        next()

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any, client: WebClient) -> None:
        tell_user(error, body, respond, client)  # raised before a (guarded) listener ran

    for module in LISTENER_MODULES:
        importlib.import_module(module).register(app)
    return app


class _ClientTokenNotice(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN from the environment when given only a client, then
    warns that this token is unused; it is the client's own token, so the warning is noise."""

    text = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.text
