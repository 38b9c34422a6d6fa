"""``411 serve`` (HTTP mode on waitress) and ``411 socket`` (Socket Mode)."""

from __future__ import annotations

import argparse
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.error import URLError

from bot.config import Mode, load_settings
from bot.definitions.redact import mask_url
from bot.errors import ConfigurationError

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve Slack's requests over HTTP (waitress)")
    serve.add_argument("--host", help="listen address (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default: PORT or 3000)")
    serve.add_argument("--threads", type=int, default=16, help="request threads (default 16)")
    serve.add_argument(
        "--deliver", action="store_true", help="also run the delivery loop in this process"
    )
    serve.set_defaults(handler=_serve)
    socket = subparsers.add_parser("socket", help="talk to Slack over Socket Mode (no public URL)")
    socket.add_argument(
        "--deliver", action="store_true", help="also run the delivery loop in this process"
    )
    socket.set_defaults(handler=_socket)


def _missing(mode: Mode) -> None:
    from bot.cli.config_cmd import missing_for

    settings = load_settings()
    missing = missing_for(mode, settings)
    if missing:
        raise ConfigurationError(f"{mode.value} mode needs {', '.join(missing)}")


@contextmanager
def _starting(settings: Any, token_variable: str) -> Iterator[None]:
    """Turn Slack being unreachable or refusing a token into one line naming the setting."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError, SlackClientError

    where = mask_url(settings.slack_api_url)
    # The SDK logs each failed attempt (with retries); the one line below says it all.
    quiet = [logging.getLogger(name) for name in ("slack_sdk", "slack_bolt", "bot.slack.bolt")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigurationError(f"cannot reach Slack at SLACK_API_URL {where}: {reason}") from None
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        raise ConfigurationError(
            f"Slack at {where} refused {token_variable}: {error or 'unknown error'}"
        ) from None
    except BoltError as exc:  # auth.test failed: "`token` is invalid (auth.test result: {...})"
        found = re.search(r"'error': '([\w.-]+)'", str(exc))
        raise ConfigurationError(
            f"Slack at {where} refused SLACK_BOT_TOKEN: {found.group(1) if found else exc}"
        ) from None
    except SlackClientError as exc:
        raise ConfigurationError(f"cannot talk to Slack at SLACK_API_URL {where}: {exc}") from None
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _delivery(runtime: Any, enabled: bool) -> Any:
    if not enabled:
        return None
    from bot.deliveries.loop import DeliveryLoop

    loop = DeliveryLoop(runtime)
    loop.start()
    return loop


def _serve(args: argparse.Namespace) -> int:
    import waitress

    from bot.runtime import Runtime
    from bot.slack.app import build_app
    from bot.slack.web import build_wsgi_app

    _missing(Mode.HTTP)
    runtime = Runtime.start()
    logging.getLogger().setLevel(runtime.settings.log_level)
    with _starting(runtime.settings, "SLACK_BOT_TOKEN"):
        app = build_app(runtime)  # checks the bot token with auth.test
    wsgi = build_wsgi_app(runtime, app)
    loop = _delivery(runtime, args.deliver)
    host = args.host or runtime.settings.host
    port = args.port or runtime.settings.port
    print(f"411: serving Slack requests on http://{host}:{port}/slack/events")
    try:
        waitress.serve(wsgi, host=host, port=port, threads=args.threads, ident="411")
    finally:
        if loop is not None:
            loop.stop()
    return 0


def _socket(args: argparse.Namespace) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.runtime import Runtime
    from bot.slack.app import build_app

    _missing(Mode.SOCKET)
    runtime = Runtime.start()
    logging.getLogger().setLevel(runtime.settings.log_level)
    with _starting(runtime.settings, "SLACK_BOT_TOKEN"):
        app = build_app(runtime, socket_mode=True)
    handler = SocketModeHandler(app, runtime.settings.slack_app_token)
    with _starting(runtime.settings, "SLACK_APP_TOKEN"):
        handler.connect()  # type: ignore[no-untyped-call]  # apps.connections.open: checks the app token before we go on
    loop = _delivery(runtime, args.deliver)
    print("411: connected to Slack over Socket Mode")
    try:
        threading.Event().wait()  # the handler's own threads do the work; Ctrl-C ends this
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        if loop is not None:
            loop.stop()
    return 0
