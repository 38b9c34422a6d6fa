"""``411 serve`` (HTTP mode on waitress) and ``411 socket`` (Socket Mode)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bot.config import Mode, load_settings
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


def _delivery(runtime: Any, enabled: bool) -> Any:
    if not enabled:
        return None
    from bot.slack.delivery import DeliveryLoop

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
    app = build_app(runtime, socket_mode=True)
    loop = _delivery(runtime, args.deliver)
    print("411: connecting to Slack over Socket Mode")
    try:
        SocketModeHandler(app, runtime.settings.slack_app_token).start()
    finally:
        if loop is not None:
            loop.stop()
    return 0
